/* `baton proxy`: parses options (and a [proxy] section of a config file) into the
 * serve options of src/proxy/serve.h and runs the proxy. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/verbs.h"
#include "core/config.h"
#include "core/log.h"
#include "proxy/client.h"
#include "proxy/serve.h"

static const char *const proxy_keys[] = {"listen",
                                         "backend",
                                         "mode",
                                         "balance",
                                         "health",
                                         "health-interval",
                                         "control",
                                         "name",
                                         "state-file",
                                         "max-conns",
                                         "connect-timeout",
                                         "idle-timeout",
                                         "header-timeout",
                                         "buffer-size",
                                         "header-max",
                                         "retries",
                                         "relay",
                                         "stop-timeout",
                                         "no-xff",
                                         "log-level",
                                         "health-fall",
                                         "health-rise",
                                         NULL};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: baton proxy --listen ADDR [--listen ADDR ...]\n"
            "                   --backend [POOL/]NAME=HOST:PORT[,weight=W] ...\n"
            "                   [--mode tcp|http] [--balance roundrobin|leastconn]\n"
            "                   [--health connect|http:PATH|none] [--health-interval MS]\n"
            "                   [--control PATH] [--name NAME] [--state-file PATH]\n"
            "                   [--config FILE] [limits...]\n\n"
            "Relays connections from the listeners to the backends of the active pool (the\n"
            "pool of the first backend, 'default' when no POOL/ is given). Runtime changes:\n"
            "'baton backend', 'baton switch'. Listeners come from LISTEN_FDS when set;\n"
            "READY=1/STOPPING=1 go to NOTIFY_SOCKET. SIGTERM/SIGINT: stop accepting, finish\n"
            "the connections (http: answer the request in flight), exit.\n\n"
            "options:\n"
            "  --listen ADDR          HOST:PORT, [IPv6]:PORT or unix:PATH (repeatable)\n"
            "  --backend SPEC         [POOL/]NAME=HOST:PORT[,weight=W] (repeatable)\n"
            "  --mode tcp|http        tcp: relay bytes (splice); http: HTTP/1.1, per-request\n"
            "                         routing over keep-alive (default tcp)\n"
            "  --balance roundrobin|leastconn   weighted (default roundrobin)\n"
            "  --health connect|http:PATH|none  check (default connect)\n"
            "  --health-interval MS   between checks (default 1000)\n"
            "  --health-fall N        failed checks before down (default 2)\n"
            "  --health-rise N        good checks before up again (default 1)\n"
            "  --name NAME            control socket name (default 'proxy')\n"
            "  --control PATH         control socket path (default from --name)\n"
            "  --state-file PATH      JSON table kept across restarts (atomic writes)\n"
            "  --config FILE          INI file; keys of section [proxy] are these options\n"
            "  --max-conns N          client connections at once (default 10000)\n"
            "  --connect-timeout MS   backend connect (default 2000)\n"
            "  --idle-timeout MS      no traffic either way (default 60000)\n"
            "  --header-timeout MS    http: a whole request head (default 10000)\n"
            "  --buffer-size BYTES    per direction, copy path and http (default 16384)\n"
            "  --header-max BYTES     http: request/response head (default 8192)\n"
            "  --retries N            other backends tried after a failed connect (default 3)\n"
            "  --relay auto|splice|copy  tcp relay path: auto copies small messages and\n"
            "                         splices bulk transfers (default); splice or copy force one\n"
            "  --stop-timeout MS      after SIGTERM, cut what is left (default 30000, 0 = wait)\n"
            "  --no-xff               http: do not add X-Forwarded-For\n"
            "  --log-level LEVEL      debug|info|warn|error (default info)\n\n"
            "exit codes: 0 stopped cleanly, 1 failed (reason on stderr), 2 usage error\n");
}

static int parse_int(const char *opt, const char *s, long min, long max, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < min || v > max) {
        fprintf(stderr, "baton proxy: invalid %s '%s': expected an integer in %ld..%ld\n", opt, s,
                min, max);
        return -1;
    }
    *out = v;
    return 0;
}

/* Finds --config FILE / --config=FILE before option parsing (its keys go first). */
static const char *find_config(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            return argv[i + 1];
        if (strncmp(argv[i], "--config=", 9) == 0)
            return argv[i] + 9;
    }
    return NULL;
}

int cmd_proxy(int argc, char **argv)
{
    enum {
        O_LISTEN = 256,
        O_BACKEND,
        O_MODE,
        O_BALANCE,
        O_HEALTH,
        O_HINT,
        O_CONTROL,
        O_NAME,
        O_STATE,
        O_CONFIG,
        O_MAXC,
        O_CTO,
        O_ITO,
        O_HTO,
        O_BUF,
        O_HMAX,
        O_RETRIES,
        O_RELAY,
        O_STOP,
        O_NOXFF,
        O_LOG,
        O_FALL,
        O_RISE,
        O_HELP
    };
    static const struct option opts[] = {{"listen", required_argument, 0, O_LISTEN},
                                         {"backend", required_argument, 0, O_BACKEND},
                                         {"mode", required_argument, 0, O_MODE},
                                         {"balance", required_argument, 0, O_BALANCE},
                                         {"health", required_argument, 0, O_HEALTH},
                                         {"health-interval", required_argument, 0, O_HINT},
                                         {"health-fall", required_argument, 0, O_FALL},
                                         {"health-rise", required_argument, 0, O_RISE},
                                         {"control", required_argument, 0, O_CONTROL},
                                         {"name", required_argument, 0, O_NAME},
                                         {"state-file", required_argument, 0, O_STATE},
                                         {"config", required_argument, 0, O_CONFIG},
                                         {"max-conns", required_argument, 0, O_MAXC},
                                         {"connect-timeout", required_argument, 0, O_CTO},
                                         {"idle-timeout", required_argument, 0, O_ITO},
                                         {"header-timeout", required_argument, 0, O_HTO},
                                         {"buffer-size", required_argument, 0, O_BUF},
                                         {"header-max", required_argument, 0, O_HMAX},
                                         {"retries", required_argument, 0, O_RETRIES},
                                         {"relay", required_argument, 0, O_RELAY},
                                         {"stop-timeout", required_argument, 0, O_STOP},
                                         {"no-xff", no_argument, 0, O_NOXFF},
                                         {"log-level", required_argument, 0, O_LOG},
                                         {"help", no_argument, 0, O_HELP},
                                         {0, 0, 0, 0}};
    struct config_args cfg = {0}, merged = {0};
    struct err e;
    const char *config = find_config(argc, argv);
    if (config) {
        if (config_load(config, "proxy", proxy_keys, &cfg, &e) < 0) {
            fprintf(stderr, "baton proxy: %s\n", e.msg);
            return EXIT_USAGE;
        }
        if (config_merge(&cfg, argc, argv, &merged, &e) < 0) {
            config_args_free(&cfg);
            fprintf(stderr, "baton proxy: %s\n", e.msg);
            return EXIT_USAGE;
        }
        argc = merged.argc;
        argv = merged.argv;
    }
    static struct proxy_serve_opts o;
    memset(&o, 0, sizeof(o));
    proxy_config_defaults(&o.cfg);
    o.stop_timeout_ms = 30000;
    const char *name = PROXY_DEFAULT_NAME, *control = NULL;
    enum log_level level = LOG_INFO;
    int rc = EXIT_USAGE, c;
    long v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_LISTEN:
            if (o.nlisten == SERVE_LISTEN_MAX) {
                fprintf(stderr, "baton proxy: at most %d --listen\n", SERVE_LISTEN_MAX);
                goto out;
            }
            o.listen[o.nlisten++] = optarg;
            break;
        case O_BACKEND:
            if (o.nbackends == SERVE_BACKEND_MAX) {
                fprintf(stderr, "baton proxy: at most %d --backend\n", SERVE_BACKEND_MAX);
                goto out;
            }
            o.backends[o.nbackends++] = optarg;
            break;
        case O_MODE:
            if (strcmp(optarg, "tcp") == 0)
                o.cfg.mode = PROXY_TCP;
            else if (strcmp(optarg, "http") == 0)
                o.cfg.mode = PROXY_HTTP;
            else {
                fprintf(stderr, "baton proxy: invalid --mode '%s': expected tcp or http\n", optarg);
                goto out;
            }
            break;
        case O_BALANCE:
            if (strcmp(optarg, "roundrobin") == 0)
                o.balance = BALANCE_ROUNDROBIN;
            else if (strcmp(optarg, "leastconn") == 0)
                o.balance = BALANCE_LEASTCONN;
            else {
                fprintf(stderr,
                        "baton proxy: invalid --balance '%s': expected roundrobin or "
                        "leastconn\n",
                        optarg);
                goto out;
            }
            break;
        case O_HEALTH:
            if (strcmp(optarg, "connect") == 0)
                o.cfg.health = HEALTH_CONNECT;
            else if (strcmp(optarg, "none") == 0)
                o.cfg.health = HEALTH_NONE;
            else if (strncmp(optarg, "http:/", 6) == 0 &&
                     strlen(optarg + 5) < sizeof(o.cfg.health_path) && !strpbrk(optarg, " \r\n")) {
                o.cfg.health = HEALTH_HTTP;
                snprintf(o.cfg.health_path, sizeof(o.cfg.health_path), "%s", optarg + 5);
            } else {
                fprintf(stderr,
                        "baton proxy: invalid --health '%s': expected connect, none or "
                        "http:/PATH\n",
                        optarg);
                goto out;
            }
            break;
        case O_HINT:
            if (parse_int("--health-interval", optarg, 10, 3600000, &v) < 0)
                goto out;
            o.cfg.health_interval_ms = (int)v;
            break;
        case O_FALL:
            if (parse_int("--health-fall", optarg, 1, 100, &v) < 0)
                goto out;
            o.cfg.health_fall = (int)v;
            break;
        case O_RISE:
            if (parse_int("--health-rise", optarg, 1, 100, &v) < 0)
                goto out;
            o.cfg.health_rise = (int)v;
            break;
        case O_CONTROL:
            control = optarg;
            break;
        case O_NAME:
            name = optarg;
            break;
        case O_STATE:
            if (strlen(optarg) >= sizeof(o.cfg.state_file) - 32) {
                fprintf(stderr, "baton proxy: --state-file path is too long\n");
                goto out;
            }
            snprintf(o.cfg.state_file, sizeof(o.cfg.state_file), "%s", optarg);
            break;
        case O_CONFIG:
            break; /* read before parsing */
        case O_MAXC:
            if (parse_int("--max-conns", optarg, 1, 1000000, &v) < 0)
                goto out;
            o.cfg.max_conns = (int)v;
            break;
        case O_CTO:
            if (parse_int("--connect-timeout", optarg, 1, 3600000, &v) < 0)
                goto out;
            o.cfg.connect_timeout_ms = (int)v;
            break;
        case O_ITO:
            if (parse_int("--idle-timeout", optarg, 1, 86400000, &v) < 0)
                goto out;
            o.cfg.idle_timeout_ms = (int)v;
            break;
        case O_HTO:
            if (parse_int("--header-timeout", optarg, 1, 3600000, &v) < 0)
                goto out;
            o.cfg.header_timeout_ms = (int)v;
            break;
        case O_BUF:
            if (parse_int("--buffer-size", optarg, 1024, 16 << 20, &v) < 0)
                goto out;
            o.cfg.buffer_bytes = (size_t)v;
            break;
        case O_HMAX:
            if (parse_int("--header-max", optarg, 256, 1 << 20, &v) < 0)
                goto out;
            o.cfg.header_max_bytes = (size_t)v;
            break;
        case O_RETRIES:
            if (parse_int("--retries", optarg, 0, 7, &v) < 0)
                goto out;
            o.cfg.retries = (int)v;
            break;
        case O_RELAY:
            if (strcmp(optarg, "auto") == 0)
                o.cfg.relay = RELAY_AUTO;
            else if (strcmp(optarg, "splice") == 0)
                o.cfg.relay = RELAY_SPLICE;
            else if (strcmp(optarg, "copy") == 0)
                o.cfg.relay = RELAY_COPY;
            else {
                fprintf(stderr,
                        "baton proxy: invalid --relay '%s': expected auto, splice or copy\n",
                        optarg);
                goto out;
            }
            break;
        case O_STOP:
            if (parse_int("--stop-timeout", optarg, 0, 86400000, &v) < 0)
                goto out;
            o.stop_timeout_ms = (int)v;
            break;
        case O_NOXFF:
            o.cfg.xff = 0;
            break;
        case O_LOG:
            if (log_level_parse(optarg, &level) < 0) {
                fprintf(stderr, "baton proxy: invalid --log-level '%s'\n", optarg);
                goto out;
            }
            break;
        case O_HELP:
        case 'h':
            usage(stdout);
            rc = EXIT_OK;
            goto out;
        default:
            usage(stderr);
            goto out;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "baton proxy: unexpected argument '%s'\n", argv[optind]);
        goto out;
    }
    if (o.nlisten == 0 && !getenv("LISTEN_FDS")) {
        fprintf(stderr, "baton proxy: give at least one --listen ADDR (see --help)\n");
        goto out;
    }
    if (proxy_control_path(name, control, o.control, sizeof(o.control), &e) < 0) {
        fprintf(stderr, "baton proxy: %s\n", e.msg);
        goto out;
    }
    log_setup(level, "proxy");
    if (proxy_serve(&o, &e) < 0) {
        fprintf(stderr, "baton proxy: %s\n", e.msg);
        rc = EXIT_FAIL;
        goto out;
    }
    rc = EXIT_OK;
out:
    config_args_free(&merged);
    config_args_free(&cfg);
    return rc;
}
