/* The companion executable for `baton migrate` (src/migrate and its SQLite and PostgreSQL
 * drivers): `baton migrate ARGS` runs it with argv[0] "migrate"; run alone,
 * `baton-migrate ARGS` works the same. */
#include "cli/verbs.h"

int main(int argc, char **argv)
{
    return cmd_migrate(argc, argv);
}
