/* The parts of `baton run` the CLI calls besides run_main: option values that need the
 * supervisor's knowledge, and the client side of the control verbs. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ctl.h"
#include "supervise/run.h"

int run_parse_signal(const char *name)
{
    static const struct {
        const char *name;
        int sig;
    } sigs[] = {{"TERM", SIGTERM}, {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"HUP", SIGHUP},
                {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"KILL", SIGKILL}, {"WINCH", SIGWINCH}};
    if (strncmp(name, "SIG", 3) == 0)
        name += 3;
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        if (strcmp(name, sigs[i].name) == 0)
            return sigs[i].sig;
    char *end;
    long n = strtol(name, &end, 10);
    if (*name && !*end && n > 0 && n < 65)
        return (int)n;
    return -1;
}

int run_parse_ready(const char *spec, struct run_opts *o, struct err *e)
{
    if (strcmp(spec, "notify") == 0) {
        o->ready_mode = READY_NOTIFY;
        return 0;
    }
    if (strncmp(spec, "exec:", 5) == 0 && spec[5]) {
        o->ready_mode = READY_EXEC;
        o->ready_cmd = (char *)spec + 5;
        return 0;
    }
    if (strncmp(spec, "after:", 6) == 0) {
        char *end;
        errno = 0;
        unsigned long long ms = strtoull(spec + 6, &end, 10);
        if (!errno && spec[6] && !*end && ms <= 3600000) {
            o->ready_mode = READY_AFTER;
            o->ready_after_ms = ms;
            return 0;
        }
    }
    if (strcmp(spec, "connect") == 0) {
        o->ready_mode = READY_CONNECT;
        return 0;
    }
    if (strncmp(spec, "http:", 5) == 0 && spec[5] == '/' && strlen(spec + 5) < RUN_READY_PATH_MAX &&
        !strpbrk(spec + 5, " \r\n")) {
        o->ready_mode = READY_HTTP;
        snprintf(o->ready_path, sizeof(o->ready_path), "%s", spec + 5);
        return 0;
    }
    return err_set(e,
                   "invalid --ready '%s': expected notify, exec:CMD or after:MS (with --mode "
                   "proxy also connect or http:/PATH)",
                   spec);
}

int run_ctl(const char *control, const char *cmd, json_t *extra, json_t **reply, struct err *e)
{
    json_t *req = extra ? extra : json_object();
    json_object_set_new(req, "cmd", json_string(cmd));
    int rc = ctl_call(control, req, reply, 0, e);
    json_decref(req);
    return rc;
}
