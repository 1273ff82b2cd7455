/* The companion executable for `baton migrate` (src/migrate and its SQLite and PostgreSQL
 * drivers): `baton migrate ARGS` runs it with argv[0] "migrate"; run alone,
 * `baton-migrate ARGS` works the same. Its hidden --man-dir and --completion options
 * document the verb for the build. */
#include "cli/verbs.h"

int main(int argc, char **argv)
{
    int rc = opt_doc_main(&migrate_verb, "baton " BATON_VERSION, argc, argv);
    return rc >= 0 ? rc : verb_migrate(argc, argv);
}
