/* Recovery after a killed master: survivors checked by /proc start time, listening
 * sockets stolen back with pidfd_getfd, workers adopted as orphans. */
#include "supervise/recover.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/fdpass.h"
#include "core/log.h"
#include "supervise/container_orphan.h"
#include "supervise/state.h"
#include "supervise/worker.h"

#define RECOVER_MAX_PIDS 4096

/* A stolen fd must be a listening socket on the address it had. */
static int is_listener_for(int fd, const char *addr)
{
    int acc = 0;
    socklen_t len = sizeof(acc);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) < 0 || !acc)
        return 0;
    struct addr a;
    if (addr_from_fd(fd, &a, NULL) < 0)
        return 0;
    return strcmp(a.text, addr) == 0;
}

/* The recorded proxy worker (a proxy-mode state) still runs. */
static int proxy_alive(json_t *jp)
{
    long long pid, start;
    struct state_int f[] = {{"pid", 0, STATE_MAX_PID, &pid}, {"start_time", 0, INT64_MAX, &start}};
    if (!jp || state_get_ints(jp, f, 2, "proxy", NULL) < 0 || !pid || !start)
        return 0;
    struct worker *w = worker_record((pid_t)pid, (uint64_t)start, 0);
    int alive = w && worker_alive(w);
    worker_free(w);
    return alive;
}

/* Takes listening socket `l` back from the first survivor that has it. */
static int steal(const struct state_listen *l, const pid_t *pids, int npids)
{
    struct err e;
    for (int k = 0; k < npids; k++) {
        int fd = fd_steal(pids[k], l->worker_fd, &e);
        if (fd < 0) {
            log_debug("%s", e.msg);
            continue;
        }
        if (!is_listener_for(fd, l->addr)) {
            close(fd);
            continue;
        }
        fd_set_nonblock(fd, 1, NULL);
        log_info("recovered listening socket %s from worker %d (its fd %d)", l->addr, (int)pids[k],
                 l->worker_fd);
        return fd;
    }
    return -1;
}

static void steal_all(struct run_ctx *ctx, const struct state_listen *listen, int nlisten,
                      const pid_t *pids, int npids, int *listen_fds)
{
    for (int li = 0; li < nlisten; li++) {
        int target = -1;
        for (int i = 0; i < ctx->o->nlisten; i++)
            if (strcmp(ctx->o->listen[i].text, listen[li].addr) == 0 && listen_fds[i] < 0)
                target = i;
        if (target >= 0)
            listen_fds[target] = steal(&listen[li], pids, npids);
    }
}

int recover_run(struct run_ctx *ctx, struct mode *md, struct gens *gs, json_t *root,
                const struct state_listen *listen, int nlisten, int master_pid, int *listen_fds,
                const char *state_path, struct err *e)
{
    struct err fe;
    if (gens_from_json(gs, root, &fe) < 0) {
        log_warn("ignoring state file '%s': %s", state_path, fe.msg);
        return 0;
    }
    pid_t *pids = calloc(RECOVER_MAX_PIDS, sizeof(*pids));
    int survivors = pids ? gens_survivors(gs, pids, RECOVER_MAX_PIDS) : 0;
    json_t *jp = json_object_get(root, "proxy");
    int proxy = proxy_alive(jp);
    /* Container generations: the proxy worker holds the public sockets. */
    int containers = jp && md->ops->orphans && container_orphan_all_containers(gs);
    if (containers && proxy && pids && survivors < RECOVER_MAX_PIDS) {
        memmove(pids + 1, pids, (size_t)survivors * sizeof(*pids));
        pids[0] = (pid_t)json_integer_value(json_object_get(jp, "pid"));
    }
    int nsteal = pids ? survivors + (containers && proxy && survivors < RECOVER_MAX_PIDS) : 0;
    int rc = 0;
    /* The mode the earlier master ran (a state file of an older baton names none: its
     * proxy worker says proxy mode); its workers got their sockets that way. */
    const char *was = json_string_value(json_object_get(root, "mode"));
    if (!was && jp)
        was = "proxy";
    if (was && strcmp(was, md->ops->name) != 0 && (survivors || proxy)) {
        rc = err_set(e,
                     "an earlier master (pid %d) ran --mode %s and left %d workers%s running; "
                     "this one runs --mode %s and cannot take them over: start it with --mode "
                     "%s, or stop them (see '%s') and start again",
                     master_pid, was, survivors, proxy ? " and its proxy worker" : "",
                     md->ops->name, was, state_path);
        gens_clear(gs);
    } else if ((jp || !md->ops->takes_over_orphans) && (survivors || proxy) && !containers) {
        rc = err_set(e,
                     "an earlier master (pid %d) left %d workers%s running; taking over after a "
                     "killed master is not supported with --mode %s: stop them (see '%s') and "
                     "start again",
                     master_pid, survivors, proxy ? " and its proxy worker" : "",
                     jp ? "proxy" : md->ops->name, state_path);
        gens_clear(gs);
    } else if (survivors == 0 && !(containers && proxy)) {
        log_info("state file of an earlier master (pid %d) found; none of its workers is left",
                 master_pid);
        gens_clear(gs);
    } else {
        log_warn("an earlier master (pid %d) left %d workers%s running: taking them over",
                 master_pid, survivors, containers && proxy ? " and its proxy worker" : "");
        if (!md->ops->apps_bind) /* else the sockets are the workers' own: the master holds none */
            steal_all(ctx, listen, nlisten, pids,
                      nsteal < RECOVER_MAX_PIDS ? nsteal : RECOVER_MAX_PIDS, listen_fds);
        gens_adopt_orphans(gs);
        if (containers)
            md->ops->orphans(md, root);
    }
    free(pids);
    return rc;
}
