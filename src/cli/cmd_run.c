/* `baton run`: parses options (command line over the [run] section of --config) and
 * hands them to the supervisor (src/supervise/run.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/verbs.h"
#include "core/config.h"
#include "core/ctl.h"
#include "supervise/run.h"
#include "supervise/state.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: baton run [OPTIONS] -- COMMAND [ARG...]\n\n"
            "Binds the listening sockets and runs --workers copies of COMMAND with them\n"
            "inherited (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES, fds from 3; NOTIFY_SOCKET;\n"
            "BATON_GENERATION). Upgrades start a new generation beside the old one and stop\n"
            "the old one once the new one is ready; a failed new generation is rolled back.\n\n"
            "options (each also a key of section [run] in --config FILE):\n"
            "  --listen [NAME=]ADDR   HOST:PORT, [IPv6]:PORT or unix:PATH (repeatable)\n"
            "  --workers N            workers per generation (default 1)\n"
            "  --mode handoff|proxy   handoff (default): workers inherit the sockets;\n"
            "                         proxy: each worker binds a private port given in PORT\n"
            "                         and BATON_PORT, and a proxy worker ('baton proxy')\n"
            "                         relays the public sockets to the current generation\n"
            "  --proxy-mode http|tcp  relay of the proxy worker (default http)\n"
            "  --private-ports LO-HI  where private ports are taken from (20000-29999)\n"
            "  --ready MODE           notify (default: READY=1 on NOTIFY_SOCKET),\n"
            "                         exec:CMD (ready when CMD exits 0), after:MS;\n"
            "                         --mode proxy: connect (the default there: the port\n"
            "                         accepts) or http:/PATH (answers 2xx or 3xx)\n"
            "  --ready-timeout S      a new generation not ready by then is rolled back (60)\n"
            "  --min-ready S          a new generation must stay up S seconds after it is\n"
            "                         ready before the old one is stopped (0)\n"
            "  --stop-signal SIG      sent to a generation to drain it (TERM)\n"
            "  --drain-timeout S      SIGKILL a draining generation after S seconds (30)\n"
            "  --name NAME            instance name (default baton)\n"
            "  --control PATH         control socket (default $XDG_RUNTIME_DIR/baton/NAME.sock\n"
            "                         or /tmp/baton-UID/NAME.sock)\n"
            "  --log-level LEVEL      debug, info, warn or error (info)\n"
            "  --config FILE          INI file; the command line wins; key 'command' gives\n"
            "                         COMMAND when the command line has no '--'\n"
            "  --help                 this text\n\n"
            "signals: HUP upgrade (same command), USR2 re-exec, TERM/INT graceful stop.\n"
            "exit codes: 0 stopped gracefully, 1 could not start or the first generation\n"
            "failed, 2 usage or config error.\n");
}

static const char *const run_keys[] = {
    "listen",        "workers", "ready",   "ready-timeout", "min-ready", "stop-signal",
    "drain-timeout", "name",    "control", "log-level",     "mode",      "proxy-mode",
    "private-ports", NULL};

static int parse_seconds(const char *s, const char *opt, uint64_t *ms)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v != v || v < 0 || v > 86400) {
        fprintf(stderr, "baton run: invalid %s '%s': expected seconds in 0..86400\n", opt, s);
        return -1;
    }
    *ms = (uint64_t)(v * 1000 + 0.5);
    return 0;
}

int cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {{"listen", required_argument, 0, 'l'},
                                         {"workers", required_argument, 0, 'w'},
                                         {"ready", required_argument, 0, 'r'},
                                         {"ready-timeout", required_argument, 0, 'T'},
                                         {"min-ready", required_argument, 0, 'M'},
                                         {"stop-signal", required_argument, 0, 's'},
                                         {"drain-timeout", required_argument, 0, 'D'},
                                         {"name", required_argument, 0, 'n'},
                                         {"control", required_argument, 0, 'c'},
                                         {"log-level", required_argument, 0, 'L'},
                                         {"mode", required_argument, 0, 'm'},
                                         {"proxy-mode", required_argument, 0, 'P'},
                                         {"private-ports", required_argument, 0, 'p'},
                                         {"config", required_argument, 0, 'C'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    struct err e;
    const char *config = NULL;
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config = argv[i + 1];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            config = argv[i] + 9;
        else if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return EXIT_OK;
        }
    }
    struct config_args cfg = {0}, merged = {0};
    if (config && config_load(config, "run", run_keys, &cfg, &e) < 0) {
        fprintf(stderr, "baton run: %s\n", e.msg);
        return EXIT_USAGE;
    }
    if (config_merge(&cfg, argc, argv, &merged, &e) < 0) {
        config_args_free(&cfg);
        fprintf(stderr, "baton run: %s\n", e.msg);
        return EXIT_USAGE;
    }
    config_args_free(&cfg);
    struct run_opts *o = calloc(1, sizeof(*o));
    char **self_argv = NULL;
    int rc = EXIT_USAGE;
    if (!o)
        goto out;
    snprintf(o->name, sizeof(o->name), "baton");
    o->workers = 1;
    o->ready_mode = READY_NOTIFY;
    o->ready_timeout_ms = 60000;
    o->drain_timeout_ms = 30000;
    o->stop_signal = 15;
    o->log_level = LOG_INFO;
    o->proxy_http = 1;
    o->private_lo = 20000;
    o->private_hi = 29999;
    int ready_given = 0, proxy_opts_given = 0;
    optind = 1;
    int ch;
    while ((ch = getopt_long(merged.argc, merged.argv, "+", opts, NULL)) != -1) {
        switch (ch) {
        case 'l':
            if (o->nlisten == RUN_MAX_LISTEN) {
                fprintf(stderr, "baton run: at most %d --listen\n", RUN_MAX_LISTEN);
                goto out;
            }
            if (addr_parse(optarg, 1, &o->listen[o->nlisten], &e) < 0) {
                fprintf(stderr, "baton run: %s\n", e.msg);
                goto out;
            }
            o->nlisten++;
            break;
        case 'w': {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end || end == optarg || n < 1 || n > STATE_MAX_WORKERS) {
                fprintf(stderr, "baton run: invalid --workers '%s': expected 1..%d\n", optarg,
                        STATE_MAX_WORKERS);
                goto out;
            }
            o->workers = (int)n;
            break;
        }
        case 'm':
            if (strcmp(optarg, "handoff") && strcmp(optarg, "proxy")) {
                fprintf(stderr, "baton run: invalid --mode '%s': expected handoff or proxy\n",
                        optarg);
                goto out;
            }
            o->mode = strcmp(optarg, "proxy") == 0 ? RUN_PROXY : RUN_HANDOFF;
            break;
        case 'P':
            if (strcmp(optarg, "http") && strcmp(optarg, "tcp")) {
                fprintf(stderr, "baton run: invalid --proxy-mode '%s': expected http or tcp\n",
                        optarg);
                goto out;
            }
            o->proxy_http = strcmp(optarg, "http") == 0;
            proxy_opts_given = 1;
            break;
        case 'p': {
            int lo, hi, used = 0;
            if (sscanf(optarg, "%d-%d%n", &lo, &hi, &used) != 2 || optarg[used] || lo < 1024 ||
                hi > 65535 || lo > hi) {
                fprintf(stderr,
                        "baton run: invalid --private-ports '%s': expected LO-HI within "
                        "1024-65535\n",
                        optarg);
                goto out;
            }
            o->private_lo = lo;
            proxy_opts_given = 1;
            o->private_hi = hi;
            break;
        }
        case 'r':
            ready_given = 1;
            if (run_parse_ready(optarg, o, &e) < 0) {
                fprintf(stderr, "baton run: %s\n", e.msg);
                goto out;
            }
            break;
        case 'T':
            if (parse_seconds(optarg, "--ready-timeout", &o->ready_timeout_ms) < 0)
                goto out;
            break;
        case 'M':
            if (parse_seconds(optarg, "--min-ready", &o->min_ready_ms) < 0)
                goto out;
            break;
        case 'D':
            if (parse_seconds(optarg, "--drain-timeout", &o->drain_timeout_ms) < 0)
                goto out;
            break;
        case 's':
            o->stop_signal = run_parse_signal(optarg);
            if (o->stop_signal < 0) {
                fprintf(stderr, "baton run: invalid --stop-signal '%s'\n", optarg);
                goto out;
            }
            break;
        case 'n':
            if (!*optarg || strlen(optarg) >= sizeof(o->name) || strchr(optarg, '/')) {
                fprintf(stderr, "baton run: invalid --name '%s'\n", optarg);
                goto out;
            }
            snprintf(o->name, sizeof(o->name), "%s", optarg);
            break;
        case 'c':
            if (!*optarg || strlen(optarg) >= sizeof(o->control)) {
                fprintf(stderr, "baton run: --control path must be 1..%zu bytes\n",
                        sizeof(o->control) - 1);
                goto out;
            }
            snprintf(o->control, sizeof(o->control), "%s", optarg);
            break;
        case 'L':
            if (log_level_parse(optarg, &o->log_level) < 0) {
                fprintf(stderr, "baton run: invalid --log-level '%s'\n", optarg);
                goto out;
            }
            break;
        case 'C':
            break; /* read above */
        case 'h':
            usage(stdout);
            rc = EXIT_OK;
            goto out;
        default:
            usage(stderr);
            goto out;
        }
    }
    if (optind >= merged.argc || strcmp(merged.argv[optind - 1], "--") != 0) {
        fprintf(stderr, "baton run: missing '-- COMMAND [ARG...]' (or 'command' in --config)\n");
        goto out;
    }
    if (o->nlisten == 0) {
        fprintf(stderr, "baton run: give at least one --listen ADDR\n");
        goto out;
    }
    if (o->mode != RUN_PROXY && proxy_opts_given) {
        fprintf(stderr, "baton run: --proxy-mode and --private-ports need --mode proxy\n");
        goto out;
    }
    if (o->mode == RUN_PROXY && !ready_given)
        o->ready_mode = READY_CONNECT;
    if (o->mode != RUN_PROXY && (o->ready_mode == READY_CONNECT || o->ready_mode == READY_HTTP)) {
        fprintf(stderr, "baton run: --ready connect and http:PATH need --mode proxy (the app's "
                        "private port is what they check)\n");
        goto out;
    }
    if (!o->control[0] && ctl_default_path(o->name, o->control, sizeof(o->control), &e) < 0) {
        fprintf(stderr, "baton run: %s\n", e.msg);
        goto out;
    }
    o->command = merged.argv + optind;
    /* A re-exec runs the options as merged now, without --config: an edited or
     * broken config file cannot stop the new image from taking over. */
    self_argv = calloc((size_t)merged.argc + 1, sizeof(*self_argv));
    if (!self_argv) {
        fprintf(stderr, "baton run: out of memory\n");
        goto out;
    }
    for (int i = 0, k = 0, opts_done = 0; i < merged.argc; i++) {
        const char *a = merged.argv[i];
        if (!opts_done && strcmp(a, "--") == 0)
            opts_done = 1;
        if (!opts_done && strcmp(a, "--config") == 0) {
            i++;
            continue;
        }
        if (!opts_done && strncmp(a, "--config=", 9) == 0)
            continue;
        self_argv[k++] = merged.argv[i];
    }
    o->self_argv = self_argv;
    rc = run_main(o) == 0 ? EXIT_OK : EXIT_FAIL;
out:
    free(self_argv);
    config_args_free(&merged);
    free(o);
    return rc;
}
