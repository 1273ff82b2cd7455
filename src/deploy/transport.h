/* How baton deploy reaches a host: one interface, one implementation per way (the
 * OpenSSH client, or this machine's own shell for a balancer or lock kept here), in
 * the shape of the migrate driver table. Every command runs as a child process on
 * the loop, with a deadline, and is logged with its host, exit status and duration. */
#ifndef BATON_DEPLOY_TRANSPORT_H
#define BATON_DEPLOY_TRANSPORT_H

#include <stdint.h>

#include "core/err.h"
#include "core/loop.h"
#include "deploy/child.h"
#include "deploy/dfile.h"

struct transport;
struct tr_op;

/* `lost`: the host could not be reached or the connection broke (ssh's exit 255),
 * so the command's outcome on the host is unknown. */
typedef void (*tr_cb)(const struct child_result *r, int lost, void *data);
/* Called for every command that finished: host label, the command, its result. */
typedef void (*tr_log_fn)(void *data, const char *label, const char *command,
                          const struct child_result *r);

struct transport_driver {
    const char *name;
    /* Allocates the driver's transport (which starts with struct transport). */
    int (*create)(const char *dir, struct transport **out, struct err *e);
    /* Makes the connection ready (ssh: the ControlMaster). */
    int (*open)(struct transport *t, const struct df_dest *d, const char *label, tr_cb cb,
                void *data, struct err *e);
    /* Runs a shell command on the host. */
    int (*run)(struct transport *t, const struct df_dest *d, const char *label, const char *command,
               uint64_t timeout_ms, tr_cb cb, void *data, struct tr_op **op, struct err *e);
    /* Makes the host's unix socket `remote` reachable here at `local` (ssh: a
     * streamlocal forward through the master; local: the same path). */
    int (*forward)(struct transport *t, const struct df_dest *d, const char *label,
                   const char *remote, char *local, size_t cap, tr_cb cb, void *data,
                   struct err *e);
    /* Closes the connections opened (ssh: -O exit); cb(NULL, 0, data) once all are. */
    void (*close)(struct transport *t, tr_cb cb, void *data);
    void (*free)(struct transport *t);
};

/* Every transport starts with this. */
struct transport {
    const struct transport_driver *drv;
    struct loop *loop;
    const struct dfile *df;
    tr_log_fn log;
    void *log_data;
};

extern const struct transport_driver transport_ssh_driver;
extern const struct transport_driver transport_local_driver;

/* A transport of driver `drv`; ssh keeps its control sockets in a private directory
 * made under `dir` (removed by free). */
int transport_new(const struct transport_driver *drv, struct loop *loop, const struct dfile *df,
                  const char *dir, tr_log_fn log, void *log_data, struct transport **out,
                  struct err *e);
void transport_free(struct transport *t);

/* Kills a running command; its callback is not called. */
void tr_op_cancel(struct tr_op *op);

/* Quotes `s` for a POSIX shell ('...' with ' as '\''). Returns -1 if it does not fit. */
int shell_quote(const char *s, char *out, size_t cap);

/* For the drivers: runs argv as a child, logs it under `label` with `shown` as the
 * command, and calls cb; `lost_status` (255 for ssh, -1: none) marks lost contact. */
int tr_spawn(struct transport *t, char *const *argv, const char *label, const char *shown,
             uint64_t timeout_ms, int lost_status, tr_cb cb, void *data, struct tr_op **op,
             struct err *e);

#endif
