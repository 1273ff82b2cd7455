/* The companion executable for `baton plot` and `baton load --plot`: the only one that
 * links cairo (and through it pixman, freetype, fontconfig and libpng), which the
 * `baton` master and proxy must not map (docs/internals/binaries.md). */
#include "cli/verbs.h"

int main(int argc, char **argv)
{
    int rc = opt_doc_main(&plot_verb, "baton " BATON_VERSION, argc, argv);
    return rc >= 0 ? rc : verb_plot(argc, argv);
}
