/* Starting the companion executables (baton-lazy, baton-migrate) that hold the verbs
 * which link database client libraries, git-style. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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

int tool_run_input(const char *tool, char *const *argv, const char *input, size_t len, int out_fd)
{
    char path[PATH_MAX];
    int fds[2], status;
    if (tool_path(tool, path, sizeof(path)) < 0) {
        fprintf(stderr, "baton: the executable baton-%s was not found (last looked at %s)\n", tool,
                path);
        return EXIT_FAIL;
    }
    if (pipe2(fds, O_CLOEXEC) < 0) {
        fprintf(stderr, "baton: cannot run '%s': %s\n", path, strerror(errno));
        return EXIT_FAIL;
    }
    pid_t pid = fork();
    if (pid == 0) {
        if (dup2(fds[0], STDIN_FILENO) >= 0 && dup2(out_fd, STDOUT_FILENO) >= 0)
            execv(path, argv);
        fprintf(stderr, "baton: cannot run '%s': %s\n", path, strerror(errno));
        _exit(127);
    }
    close(fds[0]);
    if (pid < 0) {
        close(fds[1]);
        fprintf(stderr, "baton: cannot run '%s': %s\n", path, strerror(errno));
        return EXIT_FAIL;
    }
    signal(SIGPIPE, SIG_IGN); /* a child that exits early must not end us */
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fds[1], input + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* the child stopped reading: its exit status says why */
        off += (size_t)w;
    }
    close(fds[1]);
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return EXIT_FAIL;
    return WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_FAIL;
}
