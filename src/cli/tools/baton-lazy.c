/* The companion executable for `baton lazy` (libbaton-lazy and its stores): `baton lazy
 * ARGS` runs it with argv[0] "lazy"; run alone, `baton-lazy ARGS` works the same; --man-dir and
 * --completion document it. */
#include "cli/verbs.h"

int main(int argc, char **argv)
{
    int rc = opt_doc_main(&lazy_verb, "baton " BATON_VERSION, argc, argv);
    return rc >= 0 ? rc : verb_lazy(argc, argv);
}
