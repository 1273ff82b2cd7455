/* `baton run`: the master that binds the listening sockets, starts generations of
 * workers that inherit them (systemd socket activation), upgrades, rolls back,
 * re-executes itself and recovers orphaned workers. Never touches traffic. */
#ifndef BATON_SUPERVISE_RUN_H
#define BATON_SUPERVISE_RUN_H

#include <jansson.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/err.h"
#include "core/log.h"

#define RUN_MAX_LISTEN 32

enum ready_mode { READY_NOTIFY, READY_EXEC, READY_AFTER, READY_CONNECT, READY_HTTP };
/* handoff: workers inherit the public sockets. proxy: each worker binds a private
 * loopback port ($PORT) and a proxy worker (`baton proxy`) relays the public sockets to
 * the current generation's ports. reuseport: each worker binds the public address
 * itself with SO_REUSEPORT; the kernel's queues are protected by --protect. */
enum run_mode { RUN_HANDOFF, RUN_PROXY, RUN_REUSEPORT };
/* --protect of --mode reuseport: what keeps a closing listener's queue from being
 * reset (auto: bpf, else tcp-migrate-req, else none). */
enum run_protect { PROTECT_AUTO, PROTECT_BPF, PROTECT_MIGRATE_REQ, PROTECT_NONE };

#define RUN_READY_PATH_MAX 256

struct run_opts {
    char name[64];
    char control[ADDR_UNIX_PATH_SIZE]; /* control socket path */
    struct addr listen[RUN_MAX_LISTEN];
    int nlisten;
    int workers;
    enum ready_mode ready_mode;
    char *ready_cmd; /* exec:CMD, run by /bin/sh -c */
    uint64_t ready_after_ms;
    char ready_path[RUN_READY_PATH_MAX]; /* http:PATH */
    enum run_mode mode;
    int proxy_http;             /* --proxy-mode http (1) or tcp (0) */
    int private_lo, private_hi; /* --private-ports LO-HI */
    enum run_protect protect;   /* --mode reuseport */
    uint64_t ready_timeout_ms;
    uint64_t min_ready_ms; /* a new generation must stay up this long before the switch */
    int stop_signal;
    uint64_t drain_timeout_ms;
    enum log_level log_level;
    /* --metrics ADDR: the admin listener ("" = none); --admin-token-file allows changes */
    char metrics[ADDR_TEXT_MAX];
    char admin_token_file[256];
    char **command;   /* the app: NULL-terminated argv */
    char **self_argv; /* how to run this master again ("run" and its args), for reexec */
    /* --image (the short form of a container generation): `upgrade --image` builds the
     * new command from these (supervise/container.h); container_port 0 without it. */
    const char *engine;    /* --engine podman|docker */
    int container_port;    /* --container-port */
    char **container_args; /* run arguments given after "--" (NULL-terminated, may be NULL) */
};

/* Parses "notify", "exec:CMD", "after:MS", "connect" or "http:PATH" into o. */
int run_parse_ready(const char *spec, struct run_opts *o, struct err *e);
/* Parses a signal name ("TERM", "SIGTERM", "15"). Returns the number or -1. */
int run_parse_signal(const char *name);

/* Runs the master until it is stopped. Returns the process exit code (0 after a
 * graceful stop, 1 when it could not start or its first generation failed). */
int run_main(struct run_opts *o);

/* Control verbs, client side: sends {"cmd":CMD,...extra} to the master at `control`
 * and waits for its reply (*reply: new reference; stolen `extra` may be NULL). */
int run_ctl(const char *control, const char *cmd, json_t *extra, json_t **reply, struct err *e);

#endif
