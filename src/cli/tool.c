/* Starting the companion executables (baton-lazy, baton-migrate) that hold the verbs
 * which link database client libraries, git-style. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/verbs.h"

static int try_exec(const char *dir, const char *tool, char **argv, char *tried, size_t size)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/baton-%s", dir, tool) >= (int)sizeof(path))
        return -1;
    size_t used = strlen(tried);
    snprintf(tried + used, size - used, "%s%s", used ? ", " : "", path);
    execv(path, argv);
    return errno == ENOENT ? 0 : -1;
}

int tool_exec(const char *tool, int argc, char **argv)
{
    (void)argc;
    char tried[3 * PATH_MAX] = "";
    const char *env = getenv("BATON_EXEC_PATH");
    if (env && *env && try_exec(env, tool, argv, tried, sizeof(tried)) < 0)
        goto failed;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = 0;
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = 0;
            if (try_exec(self, tool, argv, tried, sizeof(tried)) < 0)
                goto failed;
            char libexec[PATH_MAX];
            snprintf(libexec, sizeof(libexec), "%s/../libexec/baton", self);
            if (try_exec(libexec, tool, argv, tried, sizeof(tried)) < 0)
                goto failed;
        }
    }
    fprintf(stderr,
            "baton: '%s' is provided by the executable baton-%s, not found (looked at %s); "
            "reinstall baton with 'make install' or set BATON_EXEC_PATH\n",
            tool, tool, tried[0] ? tried : "nothing");
    return EXIT_FAIL;
failed:
    fprintf(stderr, "baton: cannot run baton-%s (%s): %s\n", tool, tried, strerror(errno));
    return EXIT_FAIL;
}

int tool_path(const char *tool, char *out, size_t cap)
{
    char dirs[3][PATH_MAX];
    int n = 0;
    const char *env = getenv("BATON_EXEC_PATH");
    if (env && *env)
        snprintf(dirs[n++], PATH_MAX, "%s", env);
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
    char *slash = len > 0 ? (self[len] = 0, strrchr(self, '/')) : NULL;
    if (slash) {
        *slash = 0;
        snprintf(dirs[n++], PATH_MAX, "%s", self);
        snprintf(dirs[n++], PATH_MAX, "%.*s/../libexec/baton", PATH_MAX - 20, self);
    }
    for (int i = 0; i < n; i++)
        if ((size_t)snprintf(out, cap, "%s/baton-%s", dirs[i], tool) < cap &&
            access(out, X_OK) == 0)
            return 0;
    return -1;
}
