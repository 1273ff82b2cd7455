/* `baton proxy`: its option table (command line over the [proxy] section of --config)
 * into the serve options of src/proxy/serve.h, then the proxy runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/verbs.h"
#include "core/log.h"
#include "proxy/client.h"
#include "proxy/serve.h"

struct proxy_cli {
    struct proxy_serve_opts serve;
    const char *name, *control;
    int level; /* enum log_level */
};

/* Appends arg to a list of at most `max` values (a repeatable option). */
static int append(const char **list, int *n, int max, const char *option, const char *arg,
                  struct err *e)
{
    if (*n == max)
        return err_set(e, "at most %d --%s", max, option);
    list[(*n)++] = arg;
    return 0;
}

static int add_listen(void *opts, const char *arg, struct err *e)
{
    struct proxy_serve_opts *o = &((struct proxy_cli *)opts)->serve;
    return append(o->listen, &o->nlisten, SERVE_LISTEN_MAX, "listen", arg, e);
}

static int add_backend(void *opts, const char *arg, struct err *e)
{
    struct proxy_serve_opts *o = &((struct proxy_cli *)opts)->serve;
    return append(o->backends, &o->nbackends, SERVE_BACKEND_MAX, "backend", arg, e);
}

static int set_health(void *opts, const char *arg, struct err *e)
{
    struct proxy_config *c = &((struct proxy_cli *)opts)->serve.cfg;
    if (strcmp(arg, "connect") == 0) {
        c->health = HEALTH_CONNECT;
    } else if (strcmp(arg, "none") == 0) {
        c->health = HEALTH_NONE;
    } else if (strncmp(arg, "http:/", 6) == 0 && strlen(arg + 5) < sizeof(c->health_path) &&
               !strpbrk(arg, " \r\n")) {
        c->health = HEALTH_HTTP;
        snprintf(c->health_path, sizeof(c->health_path), "%s", arg + 5);
    } else {
        return err_set(e, "invalid --health '%s': expected connect, none or http:/PATH", arg);
    }
    return 0;
}

static const char *const modes[] = {"tcp", "http", NULL};                /* enum proxy_mode */
static const char *const balances[] = {"roundrobin", "leastconn", NULL}; /* enum pool_balance */
static const char *const relays[] = {"auto", "splice", "copy", NULL};    /* enum proxy_relay */
static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};

#define C(member) OPT_AT(struct proxy_cli, serve.cfg.member)
/* clang-format off */
static const struct opt proxy_options[] = {
    {.name = "listen", .kind = OPT_CUSTOM, .parse = add_listen, .flags = OPT_REPEAT,
     .arg = "ADDR", .help = "HOST:PORT, [IPv6]:PORT or unix:PATH (repeatable)"},
    {.name = "backend", .kind = OPT_CUSTOM, .parse = add_backend, .flags = OPT_REPEAT,
     .arg = "SPEC", .help = "[POOL/]NAME=HOST:PORT[,weight=W] (repeatable)"},
    {.name = "mode", .kind = OPT_ENUM, C(mode), .names = modes, .def = "tcp",
     .help = "tcp: relay bytes (splice); http: HTTP/1.1, per-request\n"
             "routing over keep-alive"},
    {.name = "balance", .kind = OPT_ENUM, OPT_AT(struct proxy_cli, serve.balance),
     .names = balances, .def = "roundrobin", .help = "weighted"},
    {.name = "health", .kind = OPT_CUSTOM, .parse = set_health, .arg = "connect|http:PATH|none",
     .def = "connect", .help = "check of each backend"},
    {.name = "health-interval", .kind = OPT_DURATION, C(health_interval_ms), .min = 10,
     .max = 3600000, .def = "1s", .help = "between checks"},
    {.name = "health-fall", .kind = OPT_INT, C(health_fall), .min = 1, .max = 100, .def = "2",
     .arg = "N", .help = "failed checks before down"},
    {.name = "health-rise", .kind = OPT_INT, C(health_rise), .min = 1, .max = 100, .def = "1",
     .arg = "N", .help = "good checks before up again"},
    {.name = "name", .kind = OPT_TEXT, OPT_AT(struct proxy_cli, name), .arg = "NAME",
     .def = PROXY_DEFAULT_NAME, .help = "control socket name"},
    {.name = "control", .kind = OPT_TEXT, OPT_AT(struct proxy_cli, control), .arg = "PATH",
     .help = "control socket path (default from --name)"},
    /* room for the suffix of the temporary file beside it */
    {.name = "state-file", .kind = OPT_STRING,
     .offset = offsetof(struct proxy_cli, serve.cfg.state_file),
     .size = sizeof(((struct proxy_config *)0)->state_file) - 32, .arg = "PATH",
     .help = "JSON table kept across restarts (atomic writes)"},
    {.name = "max-conns", .kind = OPT_INT, C(max_conns), .min = 1, .max = 1000000,
     .def = "10000", .arg = "N", .help = "client connections at once"},
    {.name = "connect-timeout", .kind = OPT_DURATION, C(connect_timeout_ms), .min = 1,
     .max = 3600000, .def = "2s", .help = "backend connect"},
    {.name = "idle-timeout", .kind = OPT_DURATION, C(idle_timeout_ms), .min = 1,
     .max = 86400000, .def = "60s", .help = "no traffic either way"},
    {.name = "header-timeout", .kind = OPT_DURATION, C(header_timeout_ms), .min = 1,
     .max = 3600000, .def = "10s", .help = "http: a whole request head"},
    {.name = "buffer-size", .kind = OPT_SIZE, C(buffer_bytes), .min = 1024, .max = 16 << 20,
     .def = "16k", .help = "per direction, copy path and http"},
    {.name = "header-max", .kind = OPT_SIZE, C(header_max_bytes), .min = 256, .max = 1 << 20,
     .def = "8k", .help = "http: request/response head"},
    {.name = "retries", .kind = OPT_INT, C(retries), .min = 0, .max = 7, .def = "3", .arg = "N",
     .help = "other backends tried after a failed connect"},
    {.name = "relay", .kind = OPT_ENUM, C(relay), .names = relays, .def = "auto",
     .help = "tcp relay path: auto copies small messages and\n"
             "splices bulk transfers; splice or copy force one"},
    {.name = "stop-timeout", .kind = OPT_DURATION, OPT_AT(struct proxy_cli, serve.stop_timeout_ms),
     .max = 86400000, .def = "30s", .help = "after SIGTERM, cut what is left (0 = wait)"},
    {.name = "no-xff", .kind = OPT_FLAG, C(xff), .def = "1", .flags = OPT_NEGATE,
     .help = "http: do not add X-Forwarded-For"},
    {.name = "log-level", .kind = OPT_ENUM, OPT_AT(struct proxy_cli, level), .names = log_levels,
     .def = "info", .help = "least level logged"},
    LOG_FORMAT_OPTION,
    {0}};
/* clang-format on */

const struct opt_verb proxy_verb = {
    .name = "proxy",
    .synopsis = "--listen ADDR... --backend [POOL/]NAME=HOST:PORT[,weight=W]...",
    .summary = "run a TCP/HTTP proxy with blue-green pools and a runtime API",
    .about = "Relays connections from the listeners to the backends of the active pool (the\n"
             "pool of the first backend, 'default' when no POOL/ is given). Runtime changes:\n"
             "'baton backend', 'baton switch'. Listeners come from LISTEN_FDS when set;\n"
             "READY=1/STOPPING=1 go to NOTIFY_SOCKET. SIGTERM/SIGINT: stop accepting, finish\n"
             "the connections (http: answer the request in flight), exit.\n",
    .section = "proxy",
    .opts = proxy_options,
    .footer = "exit codes: 0 stopped cleanly, 1 failed (reason on stderr), 2 usage error\n",
};

int verb_proxy(int argc, char **argv)
{
    struct proxy_cli *c = calloc(1, sizeof(*c));
    struct opt_result r;
    struct err e;
    if (!c) {
        fprintf(stderr, "baton proxy: out of memory\n");
        return EXIT_FAIL;
    }
    proxy_config_defaults(&c->serve.cfg); /* what the table does not name */
    int rc = opt_parse_cli(&proxy_verb, argc, argv, c, &r);
    if (rc != OPT_RUN) {
        rc = VERB_PARSE_EXIT(rc);
    } else if (c->serve.nlisten == 0 && !getenv("LISTEN_FDS")) {
        fprintf(stderr, "baton proxy: give at least one --listen ADDR (see --help)\n");
        rc = EXIT_USAGE;
    } else if (proxy_control_path(c->name, c->control, c->serve.control, sizeof(c->serve.control),
                                  &e) < 0) {
        fprintf(stderr, "baton proxy: %s\n", e.msg);
        rc = EXIT_USAGE;
    } else {
        log_setup((enum log_level)c->level, "proxy");
        rc = proxy_serve(&c->serve, &e) < 0 ? EXIT_FAIL : EXIT_OK;
        if (rc == EXIT_FAIL)
            fprintf(stderr, "baton proxy: %s\n", e.msg);
    }
    opt_result_free(&r);
    free(c);
    return rc;
}
