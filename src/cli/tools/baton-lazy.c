/* The companion executable for `baton lazy` (libbaton-lazy and its stores): `baton lazy
 * ARGS` runs it with argv[0] "lazy"; run alone, `baton-lazy ARGS` works the same. */
#include "cli/verbs.h"

int main(int argc, char **argv)
{
    return cmd_lazy(argc, argv);
}
