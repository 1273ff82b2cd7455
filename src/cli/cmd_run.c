/* `baton run`: its option table (command line over the [run] section of --config) and
 * the hand-over to the supervisor (src/supervise/run.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/verbs.h"
#include "core/ctl.h"
#include "core/opt.h"
#include "core/spawn.h"
#include "supervise/container.h"
#include "supervise/heaptune.h"
#include "supervise/run.h"
#include "supervise/state.h"

/* The supervisor's options, and what the table reads before they are set. */
struct run_cli {
    struct run_opts run;
    int proxy_mode; /* index in proxy_modes */
    const char *image;
    int engine;   /* index in engines */
    char **built; /* --image: the container command built (freed at the end) */
};

static int add_listen(void *opts, const char *arg, struct err *e)
{
    struct run_opts *o = &((struct run_cli *)opts)->run;
    if (o->nlisten == RUN_MAX_LISTEN)
        return err_set(e, "at most %d --listen", RUN_MAX_LISTEN);
    if (addr_parse(arg, 1, &o->listen[o->nlisten], e) < 0)
        return -1;
    o->nlisten++;
    return 0;
}

static int set_private_ports(void *opts, const char *arg, struct err *e)
{
    struct run_opts *o = &((struct run_cli *)opts)->run;
    char lo[16], hi[16];
    long long l, h;
    const char *dash = strchr(arg, '-');
    if (!dash || dash - arg >= (int)sizeof(lo) || strlen(dash + 1) >= sizeof(hi))
        goto bad;
    snprintf(lo, sizeof(lo), "%.*s", (int)(dash - arg), arg);
    snprintf(hi, sizeof(hi), "%s", dash + 1);
    if (opt_parse_int(lo, "port", 1024, 65535, &l, NULL) < 0 ||
        opt_parse_int(hi, "port", 1024, 65535, &h, NULL) < 0 || l > h)
        goto bad;
    o->private_lo = (int)l;
    o->private_hi = (int)h;
    return 0;
bad:
    return err_set(e, "invalid --private-ports '%s': expected LO-HI within 1024-65535", arg);
}

/* notify, exec:CMD, after:DURATION (a bare number: ms), connect, http:/PATH. */
static int set_ready(void *opts, const char *arg, struct err *e)
{
    struct run_opts *o = &((struct run_cli *)opts)->run;
    char spec[64];
    uint64_t ms;
    if (strncmp(arg, "after:", 6) == 0 && opt_parse_duration(arg + 6, "ms", &ms, NULL) == 0) {
        snprintf(spec, sizeof(spec), "after:%llu", (unsigned long long)ms);
        if (run_parse_ready(spec, o, NULL) == 0)
            return 0;
    }
    return run_parse_ready(arg, o, e);
}

static int set_stop_signal(void *opts, const char *arg, struct err *e)
{
    struct run_opts *o = &((struct run_cli *)opts)->run;
    o->stop_signal = run_parse_signal(arg);
    return o->stop_signal < 0 ? err_set(e, "invalid --stop-signal '%s'", arg) : 0;
}

static int set_name(void *opts, const char *arg, struct err *e)
{
    struct run_opts *o = &((struct run_cli *)opts)->run;
    if (!*arg || strlen(arg) >= sizeof(o->name) || strchr(arg, '/'))
        return err_set(e, "invalid --name '%s'", arg);
    snprintf(o->name, sizeof(o->name), "%s", arg);
    return 0;
}

static const char *const run_modes[] = {"handoff", "proxy", "reuseport", NULL};
static const char *const protects[] = {"auto", "bpf", "tcp-migrate-req", "none", NULL};
static const char *const proxy_modes[] = {"http", "tcp", NULL};
static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const engines[] = {"podman", "docker", NULL};

#define R(member) OPT_AT(struct run_cli, run.member)
/* clang-format off */
static const struct opt run_options[] = {
    {.name = "listen", .kind = OPT_CUSTOM, .parse = add_listen, .flags = OPT_REPEAT,
     .arg = "[NAME=]ADDR", .help = "HOST:PORT, [IPv6]:PORT or unix:PATH (repeatable)"},
    {.name = "workers", .kind = OPT_INT, R(workers), .min = 1, .max = STATE_MAX_WORKERS,
     .def = "1", .arg = "N", .help = "workers per generation"},
    {.name = "mode", .kind = OPT_ENUM, R(mode), .names = run_modes, .def = "handoff",
     .help = "handoff: workers inherit the sockets;\n"
             "proxy: each worker binds a private port given in PORT\n"
             "and BATON_PORT, and a proxy worker ('baton proxy')\n"
             "relays the public sockets to the current generation;\n"
             "reuseport: each worker binds the --listen address\n"
             "itself with SO_REUSEPORT (BATON_LISTEN, PORT)"},
    {.name = "protect", .kind = OPT_ENUM, R(protect), .names = protects, .def = "auto",
     .help = "--mode reuseport: what keeps the queue of a closing\n"
             "listener from being reset: bpf (steer and migrate),\n"
             "tcp-migrate-req (the sysctl), none; auto: the first\n"
             "that this master may use"},
    {.name = "proxy-mode", .kind = OPT_ENUM, OPT_AT(struct run_cli, proxy_mode),
     .names = proxy_modes, .def = "http", .help = "relay of the proxy worker"},
    {.name = "private-ports", .kind = OPT_CUSTOM, .parse = set_private_ports, .arg = "LO-HI",
     .def = "20000-29999", .help = "where private ports are taken from"},
    {.name = "ready", .kind = OPT_CUSTOM, .parse = set_ready, .arg = "MODE", .def = "notify",
     .help = "notify (READY=1 on NOTIFY_SOCKET),\n"
             "exec:CMD (ready when CMD exits 0), after:DURATION;\n"
             "--mode proxy: connect (the default there: the port\n"
             "accepts) or http:/PATH (answers 2xx or 3xx)"},
    {.name = "ready-timeout", .kind = OPT_DURATION, R(ready_timeout_ms), .unit = "s",
     .max = 86400000, .def = "60s", .help = "a new generation not ready by then is rolled back"},
    {.name = "min-ready", .kind = OPT_DURATION, R(min_ready_ms), .unit = "s", .max = 86400000,
     .def = "0s", .help = "a new generation must stay up this long after it is\n"
                          "ready before the old one is stopped"},
    {.name = "stop-signal", .kind = OPT_CUSTOM, .parse = set_stop_signal, .arg = "SIG",
     .def = "TERM", .help = "sent to a generation to drain it"},
    {.name = "drain-timeout", .kind = OPT_DURATION, R(drain_timeout_ms), .unit = "s",
     .max = 86400000, .def = "30s", .help = "SIGKILL a draining generation after this long"},
    {.name = "name", .kind = OPT_CUSTOM, .parse = set_name, .arg = "NAME", .def = "baton",
     .help = "instance name"},
    {.name = "control", .kind = OPT_STRING, R(control), .arg = "PATH",
     .help = "control socket (default $XDG_RUNTIME_DIR/baton/NAME.sock\n"
             "or /tmp/baton-UID/NAME.sock)"},
    {.name = "metrics", .kind = OPT_STRING, R(metrics), .arg = "ADDR",
     .help = "admin listener: /metrics (Prometheus), the status page at /"},
    {.name = "admin-token-file", .kind = OPT_STRING, R(admin_token_file), .arg = "PATH",
     .help = "token that allows upgrade and rollback by POST on --metrics"},
    {.name = "log-level", .kind = OPT_ENUM, R(log_level), .names = log_levels, .def = "info",
     .help = "least level logged"},
    LOG_FORMAT_OPTION,
    {.name = "image", .kind = OPT_TEXT, OPT_AT(struct run_cli, image), .arg = "IMAGE",
     .help = "--mode proxy: run each generation as a container of\n"
             "IMAGE (ENGINE run -p 127.0.0.1:$PORT:PORT [ARG...] IMAGE,\n"
             "ARGs: the words after '--'); upgrade --image NEWIMAGE"},
    {.name = "container-port", .kind = OPT_INT, R(container_port), .min = 1, .max = 65535,
     .arg = "PORT", .help = "--image: the port the app listens on in the container"},
    {.name = "engine", .kind = OPT_ENUM, OPT_AT(struct run_cli, engine), .names = engines,
     .def = "podman", .help = "--image: the container engine (found on PATH)"},
    {0}};
/* clang-format on */

const struct opt_verb run_verb = {
    .name = "run",
    .synopsis = "-- COMMAND [ARG...] | --image IMAGE [-- RUN-ARG...]",
    .summary = "run a service's workers with inherited sockets; upgrade without downtime",
    .about = "Binds the listening sockets and runs --workers copies of COMMAND with them\n"
             "inherited (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES, fds from 3; NOTIFY_SOCKET;\n"
             "BATON_GENERATION). Upgrades start a new generation beside the old one and stop\n"
             "the old one once the new one is ready; a failed new generation is rolled back.\n"
             "The key 'command' of --config gives COMMAND when the command line has no '--'.\n",
    .section = "run",
    .opts = run_options,
    .args = OPT_ARGS_MAYBE_COMMAND,
    .footer = "signals: HUP upgrade (same command), USR2 re-exec, TERM/INT graceful stop.\n"
              "exit codes: 0 stopped gracefully, 1 could not start or the first generation\n"
              "failed, 2 usage or config error.\n",
};

/* --image: the command is built; the words after "--" are extra run arguments. */
static int short_form(struct run_cli *c, const struct opt_result *r, struct err *e)
{
    struct run_opts *o = &c->run;
    if (o->mode != RUN_PROXY || !o->container_port)
        return err_set(e, "--image needs --mode proxy and --container-port PORT");
    o->engine = engines[c->engine];
    o->container_args = r->command ? r->argv : NULL;
    c->built = container_short_argv(o->engine, o->container_port, o->container_args, c->image, e);
    o->command = c->built;
    return c->built ? 0 : -1;
}

/* The rules between options that one option's line cannot say. */
static int check_run(struct run_cli *c, const struct opt_result *r, struct err *e)
{
    struct run_opts *o = &c->run;
    o->proxy_http = c->proxy_mode == 0;
    if (!c->image && !r->command)
        return err_set(e, "missing '-- COMMAND [ARG...]' (or 'command' in --config)");
    if (o->nlisten == 0)
        return err_set(e, "give at least one --listen ADDR");
    if (!c->image &&
        (opt_given(&run_verb, r, "container-port") || opt_given(&run_verb, r, "engine")))
        return err_set(e, "--container-port and --engine need --image");
    if (o->mode != RUN_PROXY &&
        (opt_given(&run_verb, r, "proxy-mode") || opt_given(&run_verb, r, "private-ports")))
        return err_set(e, "--proxy-mode and --private-ports need --mode proxy");
    if (o->mode != RUN_REUSEPORT && opt_given(&run_verb, r, "protect"))
        return err_set(e, "--protect needs --mode reuseport");
    for (int i = 0; o->mode == RUN_REUSEPORT && i < o->nlisten; i++)
        if (o->listen[i].family != AF_INET && o->listen[i].family != AF_INET6)
            return err_set(e, "--mode reuseport needs HOST:PORT addresses, not '%s'",
                           o->listen[i].text);
    if (o->mode != RUN_HANDOFF && !opt_given(&run_verb, r, "ready"))
        o->ready_mode = READY_CONNECT;
    if (o->mode == RUN_HANDOFF && (o->ready_mode == READY_CONNECT || o->ready_mode == READY_HTTP))
        return err_set(e, "--ready connect and http:PATH need --mode proxy or reuseport (the "
                          "app's own socket is what they check)");
    if (!o->control[0] && ctl_default_path(o->name, o->control, sizeof(o->control), e) < 0)
        return -1;
    o->command = r->argv;
    if (c->image && short_form(c, r, e) < 0)
        return -1;
    if (o->mode == RUN_PROXY && container_check(o->command, e) < 0)
        return -1;
    /* A re-exec runs the options as merged now, without --config: an edited or
     * broken config file cannot stop the new image from taking over. */
    o->self_argv = r->merged;
    return 0;
}

int verb_run(int argc, char **argv)
{
    struct run_cli *c = calloc(1, sizeof(*c));
    struct opt_result r;
    struct err e;
    if (!c) {
        fprintf(stderr, "baton run: out of memory\n");
        return EXIT_FAIL;
    }
    int rc = opt_parse_cli(&run_verb, argc, argv, c, &r);
    if (rc == OPT_RUN && check_run(c, &r, &e) < 0) {
        fprintf(stderr, "baton run: %s\n", e.msg);
        rc = OPT_ERROR;
    }
    if (rc == OPT_RUN) {
        /* only a master that will run: not --help, not a refused option */
        heaptune_start(program_invocation_name, argv); /* "run" and its arguments */
        rc = run_main(&c->run) == 0 ? EXIT_OK : EXIT_FAIL;
    } else
        rc = rc == OPT_HELP ? EXIT_OK : EXIT_USAGE;
    spawn_argv_free(c->built);
    opt_result_free(&r);
    free(c);
    return rc;
}
