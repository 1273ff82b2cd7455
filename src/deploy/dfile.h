/* The deploy file of `baton deploy`: one INI file (read with inih) naming a service's
 * hosts, its load balancer, how a release is installed, the rollout rules, the lease
 * and the database. Parsed strictly: every error names FILE:LINE and the key. */
#ifndef BATON_DEPLOY_DFILE_H
#define BATON_DEPLOY_DFILE_H

#include <stdint.h>

#include "core/addr.h"
#include "core/err.h"

#define DF_NAME_MAX     64  /* service, host, group, server, backend names */
#define DF_HOSTNAME_MAX 256 /* a DNS name or an address */
#define DF_USER_MAX     33
#define DF_PATH_MAX     512
#define DF_CMD_MAX      1024 /* a command template (lines are capped shorter by inih) */
#define DF_RELEASE_MAX  64
#define DF_HOSTS_MAX    1024
#define DF_SOCKETS_MAX  4
#define DF_CANARY_MAX   512

enum df_strategy { DF_IN_PLACE, DF_REMOVE_UPGRADE_ADD };
enum df_balancer_type { DF_HAPROXY, DF_BATON_PROXY };
enum df_health_kind { DF_HEALTH_HTTP, DF_HEALTH_EXEC };
enum df_strict { DF_STRICT_YES, DF_STRICT_ACCEPT_NEW, DF_STRICT_NO };

/* An SSH destination "[user@]host[:port]" (IPv6 in brackets). Empty user / port 0:
 * the [ssh] defaults. */
struct df_dest {
    char user[DF_USER_MAX];
    char host[DF_HOSTNAME_MAX];
    int port;
};

struct df_host {
    char name[DF_NAME_MAX];
    struct df_dest ssh;
    char server[DF_NAME_MAX];      /* the balancer's name for it (default: name) */
    char address[DF_HOSTNAME_MAX]; /* for http: health checks (default: the ssh host) */
    char group[DF_NAME_MAX];
    int canary; /* named (itself or by group) in [rollout] canary */
    int line;
};

/* A balancer endpoint: "unix:PATH" or "tcp:HOST:PORT". */
struct df_socket {
    int is_unix;
    char path[ADDR_UNIX_PATH_SIZE];
    char host[DF_HOSTNAME_MAX];
    int port;
    char text[DF_PATH_MAX]; /* as written */
};

struct dfile {
    char path[DF_PATH_MAX];
    char service[DF_NAME_MAX];
    char state_path[DF_PATH_MAX]; /* progress file (default: FILE.state beside it) */

    struct {
        char user[DF_USER_MAX];
        int port;
        char identity[DF_PATH_MAX];
        char known_hosts[DF_PATH_MAX];
        enum df_strict strict;
        uint64_t connect_timeout_ms;
        uint64_t command_timeout_ms;
    } ssh;

    struct df_host *hosts;
    int nhosts;

    struct {
        enum df_balancer_type type;
        struct df_socket sockets[DF_SOCKETS_MAX]; /* several: an HA pair, all updated */
        int nsockets;
        char backend[DF_NAME_MAX];
        int remote; /* the sockets are on `host`, reached over SSH */
        struct df_dest host;
        uint64_t timeout_ms;
        int line;
    } balancer;

    struct {
        enum df_strategy strategy;
        char name[DF_NAME_MAX];   /* `baton run --name` on the hosts (in-place) */
        char command[DF_CMD_MAX]; /* the new generation's command (in-place) */
        char upgrade[DF_CMD_MAX]; /* installs and starts {release} (remove-upgrade-add) */
        char revert[DF_CMD_MAX];  /* goes back to {release} (default: upgrade) */
        char probe[DF_CMD_MAX];   /* prints the release a host runs (optional) */
        char baton[DF_PATH_MAX];  /* baton on the hosts (default "baton") */
        int port;                 /* the app's port, for http: health checks */
        int line;
    } app;

    struct {
        int max_parallel;
        char canary[DF_CANARY_MAX]; /* host and group names, as written */
        int ncanary;                /* hosts marked canary */
        uint64_t bake_ms;
        uint64_t progress_deadline_ms;
        uint64_t drain_timeout_ms;
        enum df_health_kind health;
        char health_arg[DF_CMD_MAX]; /* the PATH of http:, the COMMAND of exec: */
        uint64_t health_interval_ms;
        uint64_t health_timeout_ms;
        int health_passes;
        double verify_5xx_rate;    /* allowed excess 5xx share of the canary (0..1) */
        double verify_rtime_ratio; /* 0: off */
        long verify_conn_errors;
        long verify_min_requests;
        int line;
    } rollout;

    struct {
        int enabled;
        char url[DF_PATH_MAX];
        char dir[DF_PATH_MAX]; /* may hold {release} */
        uint64_t timeout_ms;   /* of one baton migrate expand / contract */
        int line;
    } database;

    struct {
        int remote; /* the lock file is on `host` over SSH (else local) */
        struct df_dest host;
        char path[DF_PATH_MAX];
        uint64_t ttl_ms;
    } lease;
};

/* Reads and checks `path` (at most 1 MiB). On error `e` reads "PATH:LINE: ...". */
int dfile_load(const char *path, struct dfile *df, struct err *e);
/* Same from memory; `name` stands for the path in errors and in defaults. */
int dfile_parse(const char *text, const char *name, struct dfile *df, struct err *e);
void dfile_free(struct dfile *df);

/* The host named `name`, or -1. */
int dfile_host_index(const struct dfile *df, const char *name);

/* Whether `s` is a release name baton accepts: [A-Za-z0-9._+-]{1,63}, not starting
 * with '-' or '.'. Fills e when not. */
int dfile_release_ok(const char *s, struct err *e);

/* A command template with {release}, {host}, {server}, {address} replaced; every
 * other '{' is refused at parse time (a literal "${" is kept for the shell). */
int dfile_expand(const char *tmpl, const char *release, const struct df_host *h, char *out,
                 size_t cap, struct err *e);

/* "user@host:port" as written back (for messages), with the [ssh] defaults applied. */
void dfile_dest_text(const struct dfile *df, const struct df_dest *d, char *out, size_t cap);

#endif
