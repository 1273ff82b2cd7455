/* --mode reuseport: every worker binds the public address itself with SO_REUSEPORT
 * (BATON_LISTEN, PORT, BATON_PORT), so old and new generations listen side by side
 * with no proxy hop. The master takes the workers' sockets with pidfd_getfd
 * (mode_reuseport_socks.c) and protects the kernel's queues (mode_reuseport_kern.c):
 *   bpf              new connections go to the serving generation only, and what waits
 *                    in a closing listener's queue moves to a serving socket; readiness
 *                    checks reach one starting worker (a probe port per slot);
 *   tcp_migrate_req  the kernel moves a closing listener's queue to another listener;
 *                    new connections reach every generation until the old one closes;
 *   none             what waits in the old generation's queue when it closes is reset.
 * Promotion: the serving sockets are switched (bpf), then the old generation stops. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "supervise/gen.h"
#include "supervise/mode.h"
#include "supervise/mode_reuseport_kern.h"
#include "supervise/mode_reuseport_socks.h"

#define RP_TICK_MS     50 /* looking for starting workers' sockets */
#define RP_MAX_PROBES  64
#define RP_LISTEN_ENV  (RUN_MAX_LISTEN * (ADDR_TEXT_MAX + 1) + 16)
#define RP_MAX_WORKERS 256

enum rp_protection { RP_NONE, RP_MIGRATE_REQ, RP_BPF };
static const char *const protection_names[] = {"none", "tcp_migrate_req", "bpf"};

/* A probe port whose readiness checks reach a starting worker's socket (bpf), or (fd)
 * a socket of the master's own there that listens once the worker does (no bpf: the
 * check then proves only that the worker listens on the shared address). */
struct rp_probe {
    unsigned gen;
    int slot;
    pid_t pid;
    int port;
    int fd;
};

struct mode_reuseport {
    struct mode base;
    struct run_ctx *ctx;
    struct gens *gs;
    enum rp_protection prot;
    char detail[300]; /* what the protection is, and why a stronger one is missing */
    struct rpk *k;    /* the BPF programs (RP_BPF) */
    struct timer tick;
    struct rp_probe probes[RP_MAX_PROBES];
    int nprobes;
    unsigned serve_pending; /* a generation whose sockets are not all steered to yet */
    unsigned served_gen;    /* the generation last steered to, and its workers then */
    pid_t served_pids[RP_MAX_WORKERS];
    int64_t switched_unix_ms;
    char port_env[2][32];
    char listen_env[RP_LISTEN_ENV];
    int warned; /* a worker's sockets could not be read (logged once) */
};

/* --- the workers of a generation ------------------------------------------------------------ */

/* pids[slot] of g's workers (0: none); from its status, the generation's public view. */
static void worker_pids(const struct gen *g, pid_t *pids, int n)
{
    json_t *st = gen_status(g, 0), *w;
    size_t i;
    for (int s = 0; s < n; s++)
        pids[s] = 0;
    json_array_foreach(json_object_get(st, "workers"), i, w)
    {
        json_int_t slot = json_integer_value(json_object_get(w, "slot"));
        if (slot >= 0 && slot < n)
            pids[slot] = (pid_t)json_integer_value(json_object_get(w, "pid"));
    }
    json_decref(st);
}

static int find_socks(struct mode_reuseport *mr, pid_t pid, int li, int *fds, int max)
{
    struct err e;
    int n = rps_find(pid, &mr->ctx->o->listen[li], fds, max, &e);
    if (n < 0 && !mr->warned) {
        mr->warned = 1;
        log_warn("reuseport: %s", e.msg);
    }
    return n < 0 ? 0 : n;
}

/* --- readiness probes (bpf) ------------------------------------------------------------------ */

static void probe_drop(struct mode_reuseport *mr, int i)
{
    if (mr->probes[i].fd >= 0)
        close(mr->probes[i].fd);
    else
        rpk_probe_del(mr->k, mr->probes[i].port);
    mr->probes[i] = mr->probes[--mr->nprobes];
}

/* Probes of generations no longer starting (or of workers replaced) go. */
static void probes_prune(struct mode_reuseport *mr, unsigned only_gen)
{
    for (int i = mr->nprobes - 1; i >= 0; i--) {
        struct gen *g = gens_find(mr->gs, mr->probes[i].gen);
        pid_t pids[RP_MAX_WORKERS];
        int keep = g && mr->probes[i].gen != only_gen &&
                   (gen_state(g) == GEN_STARTING || gen_state(g) == GEN_READY);
        if (keep) {
            int n = gen_nslots(g) < RP_MAX_WORKERS ? gen_nslots(g) : RP_MAX_WORKERS;
            worker_pids(g, pids, n);
            keep = mr->probes[i].slot < n && pids[mr->probes[i].slot] == mr->probes[i].pid;
        }
        if (!keep)
            probe_drop(mr, i);
    }
}

static int has_probe(struct mode_reuseport *mr, unsigned gen, int slot)
{
    for (int i = 0; i < mr->nprobes; i++)
        if (mr->probes[i].gen == gen && mr->probes[i].slot == slot)
            return 1;
    return 0;
}

/* A listening socket of the master's own on 127.0.0.1:port, or -1. */
static int listen_probe_port(int port, struct err *e)
{
    struct sockaddr_in in = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&in, sizeof(in)) < 0 || listen(fd, 4) < 0) {
        int saved = errno;
        if (fd >= 0)
            close(fd);
        return err_errno(e, saved, "cannot listen on readiness port '127.0.0.1:%d'", port);
    }
    return fd;
}

/* Once the worker listens on the first --listen address: bpf routes slot's probe port
 * to its socket; otherwise the master listens on the probe port itself. The first
 * generation's group gets the steering program now (it migrates a closing listener's
 * queue even before anything is steered to); later ones keep the program in force,
 * which may be the one a killed master (or the image before a re-exec) attached: it
 * steers to the serving generation until this master's own replaces it at a switch. */
static void probe_slot(struct mode_reuseport *mr, struct gen *g, int slot, pid_t pid)
{
    int fds[RPS_MAX], port = gen_port(g, slot), fd = -1;
    if (!port || mr->nprobes == RP_MAX_PROBES || has_probe(mr, gen_id(g), slot))
        return;
    int n = find_socks(mr, pid, 0, fds, RPS_MAX);
    struct err e;
    int ok =
        n > 0 && (mr->prot == RP_BPF ? (mr->served_gen || rpk_attach(mr->k, fds[0], &e) == 0) &&
                                           rpk_probe_add(mr->k, port, fds[0], &e) == 0
                                     : (fd = listen_probe_port(port, &e)) >= 0);
    if (ok) {
        mr->probes[mr->nprobes++] = (struct rp_probe){gen_id(g), slot, pid, port, fd};
        log_info("generation %u: worker %d listens on %s; readiness checks on port %d %s",
                 gen_id(g), (int)pid, mr->ctx->o->listen[0].text, port,
                 fd < 0 ? "reach it" : "are answered by the master");
    } else if (n > 0) {
        log_warn("generation %u: worker %d: %s", gen_id(g), (int)pid, e.msg);
    }
    rps_close(fds, n);
}

/* --- steering to the serving generation (bpf) ----------------------------------------------- */

/* Gathers g's sockets on --listen address li (workers pids[0..n)) into fds; counts in
 * *idle the workers that have none there yet. */
static int gather(struct mode_reuseport *mr, const pid_t *pids, int n, int li, int *fds, int *idle)
{
    int nfds = 0;
    for (int s = 0; s < n && nfds < RPK_MAX_PER_ADDR; s++) {
        int got = pids[s] ? find_socks(mr, pids[s], li, fds + nfds, RPK_MAX_PER_ADDR - nfds) : 0;
        *idle += pids[s] && got == 0;
        nfds += got;
    }
    return nfds;
}

/* g serves: its workers now are those steered to (a change steers again). */
static int remember_served(struct mode_reuseport *mr, struct gen *g, pid_t *pids)
{
    int n = gen_nslots(g) < RP_MAX_WORKERS ? gen_nslots(g) : RP_MAX_WORKERS;
    worker_pids(g, pids, n);
    mr->served_gen = gen_id(g);
    memcpy(mr->served_pids, pids, sizeof(pids[0]) * (size_t)n);
    return n;
}

/* Steers every --listen address to g's sockets (those found); 0 when every worker of g
 * had a socket on every address, else the caller tries again later. */
static int serve(struct mode_reuseport *mr, struct gen *g)
{
    const struct run_opts *o = mr->ctx->o;
    int missing = 0, total = 0;
    pid_t pids[RP_MAX_WORKERS];
    int n = remember_served(mr, g, pids);
    probes_prune(mr, gen_id(g)); /* a socket leaves the probes before it serves */
    for (int li = 0; li < o->nlisten; li++) {
        int fds[RPK_MAX_PER_ADDR], nfds = gather(mr, pids, n, li, fds, &missing);
        struct err e;
        if (nfds == 0) {
            missing++;
        } else if (rpk_attach(mr->k, fds[0], &e) < 0 ||
                   rpk_serve(mr->k, li, addr_port(&o->listen[li]), fds, nfds, &e) < 0) {
            if (mr->serve_pending != gen_id(g))
                log_warn("generation %u: %s", gen_id(g), e.msg);
            missing++;
        }
        total += nfds;
        rps_close(fds, nfds);
    }
    if (!missing)
        log_info("generation %u: new connections go to its %d sockets", gen_id(g), total);
    return missing ? -1 : 0;
}

/* The serving generation has other workers than when it was last steered to. */
static int workers_changed(struct mode_reuseport *mr, struct gen *g)
{
    if (gen_id(g) != mr->served_gen)
        return 0; /* not steered to yet: its promotion will */
    pid_t pids[RP_MAX_WORKERS];
    int n = gen_nslots(g) < RP_MAX_WORKERS ? gen_nslots(g) : RP_MAX_WORKERS;
    worker_pids(g, pids, n);
    return memcmp(pids, mr->served_pids, sizeof(pids[0]) * (size_t)n) != 0;
}

static void on_tick(struct loop *loop, struct timer *t)
{
    struct mode_reuseport *mr = t->data;
    probes_prune(mr, 0);
    for (int i = 0; i < gens_count(mr->gs); i++) {
        struct gen *g = gens_at(mr->gs, i);
        if (gen_state(g) != GEN_STARTING)
            continue;
        pid_t pids[RP_MAX_WORKERS];
        int n = gen_nslots(g) < RP_MAX_WORKERS ? gen_nslots(g) : RP_MAX_WORKERS;
        worker_pids(g, pids, n);
        for (int s = 0; s < n; s++)
            if (pids[s])
                probe_slot(mr, g, s, pids[s]);
    }
    struct gen *cur = gens_current(mr->gs);
    if (mr->prot == RP_BPF && cur && workers_changed(mr, cur))
        mr->serve_pending = gen_id(cur); /* a restarted worker's new socket joins */
    if (mr->serve_pending && cur && gen_id(cur) == mr->serve_pending && serve(mr, cur) == 0)
        mr->serve_pending = 0;
    if (!mr->ctx->stopping)
        timer_start(loop, &mr->tick, RP_TICK_MS, on_tick, mr);
}

/* --- the interface ------------------------------------------------------------------------------
 */

/* A port of 127.0.0.1 that nothing listens on now, for one slot's readiness checks. */
static int pick_probe_port(struct err *e)
{
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(in);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&in, sizeof(in)) < 0 ||
        getsockname(fd, (struct sockaddr *)&in, &len) < 0) {
        int saved = errno;
        if (fd >= 0)
            close(fd);
        return err_errno(e, saved, "cannot pick a readiness port on '127.0.0.1'");
    }
    close(fd);
    return ntohs(in.sin_port);
}

static int rp_setup_worker(struct mode *md, unsigned gen_id, int slot, int *port,
                           struct gen_launch *l, struct err *e)
{
    struct mode_reuseport *mr = (struct mode_reuseport *)md;
    enum ready_mode rm = mr->ctx->o->ready_mode;
    if (!*port && (rm == READY_CONNECT || rm == READY_HTTP)) {
        int p = pick_probe_port(e);
        if (p < 0)
            return -1;
        *port = p;
    }
    l->env[l->nenv++] = mr->port_env[0];
    l->env[l->nenv++] = mr->port_env[1];
    l->env[l->nenv++] = mr->listen_env;
    l->env_drop = ctx_env_ours(1);
    return 0;
}

static void rp_promote(struct mode *md, struct gen *g, struct gen *old)
{
    struct mode_reuseport *mr = (struct mode_reuseport *)md;
    if (mr->prot == RP_BPF) {
        mr->serve_pending = serve(mr, g) == 0 ? 0 : gen_id(g);
        if (mr->serve_pending)
            log_warn("generation %u: not every worker listens on every --listen address yet; "
                     "steering to the sockets it has",
                     gen_id(g));
    }
    mr->switched_unix_ms = clock_wall_ms();
    if (old)
        gen_stop(old, NULL);
    ctx_note(mr->ctx, NOTE_SWITCH_CHECK, NULL, NULL);
}

/* bpf: new connections reach the new generation from the moment its sockets serve.
 * Otherwise: once the old one stopped accepting (STOPPING=1, exited or killed). */
static int rp_switched(struct mode *md, struct gen *old, int64_t *switched_unix_ms)
{
    struct mode_reuseport *mr = (struct mode_reuseport *)md;
    if (mr->prot == RP_BPF && !mr->serve_pending) {
        *switched_unix_ms = mr->switched_unix_ms;
        return 1;
    }
    *switched_unix_ms = 0; /* now */
    return !old || gen_stopped_accepting(old);
}

/* After a re-exec, or with the workers of a killed master taken over: the program the
 * group holds (attached by the earlier image or master, with its maps) goes on steering
 * to the serving generation, and this master steers only at the next switch. Attaching
 * a new program now would leave the port unsteered for a while, new starting workers
 * included: the serving sockets sit in the earlier map until the kernel frees it (a
 * socket is in one such map at a time), and then the kernel's hash would choose. */
static void rp_resume(struct mode *md)
{
    struct mode_reuseport *mr = (struct mode_reuseport *)md;
    struct gen *cur = gens_current(mr->gs);
    pid_t pids[RP_MAX_WORKERS];
    if (cur) {
        remember_served(mr, cur, pids);
        if (mr->prot == RP_BPF)
            log_info("generation %u: steered to by the program already attached to its sockets "
                     "until the next switch",
                     gen_id(cur));
    }
    timer_start(mr->ctx->loop, &mr->tick, RP_TICK_MS, on_tick, mr);
}

static void rp_stop(struct mode *md)
{
    struct mode_reuseport *mr = (struct mode_reuseport *)md;
    timer_stop(mr->ctx->loop, &mr->tick);
}

static int rp_busy(const struct mode *md)
{
    return 0;
}

static int rp_notify(struct mode *md, pid_t pid, const struct notify_msg *msg)
{
    return 0;
}

static void rp_status(struct mode *md, json_t *st)
{
    struct mode_reuseport *mr = (struct mode_reuseport *)md;
    json_object_set_new(
        st, "reuseport",
        json_pack("{s:s,s:s}", "protection", protection_names[mr->prot], "detail", mr->detail));
}

static void rp_to_json(const struct mode *md, json_t *root)
{
}

static int rp_from_json(struct mode *md, json_t *root, struct err *e)
{
    if (json_object_get(root, "proxy"))
        return err_set(e, "the state is of --mode proxy, the options say --mode reuseport");
    return 0;
}

/* --- choosing the protection --------------------------------------------------------------------
 */

static int choose_bpf(struct mode_reuseport *mr, struct err *e)
{
    if (rpk_open(&mr->k, e) < 0)
        return -1;
    mr->prot = RP_BPF;
    snprintf(mr->detail, sizeof(mr->detail),
             "SK_REUSEPORT program steers new connections to the serving generation and "
             "migrates closing listeners' queues; readiness checks reach each starting worker");
    return 0;
}

static int choose_migrate_req(struct mode_reuseport *mr, const char *no_bpf, struct err *e)
{
    int was_on;
    if (!rpk_migrate_req(1, &was_on, e))
        return -1;
    mr->prot = RP_MIGRATE_REQ;
    snprintf(mr->detail, sizeof(mr->detail),
             "net.ipv4.tcp_migrate_req %s: closing listeners' queues migrate; new connections "
             "reach every generation until the old one closes%s%s",
             was_on ? "was on" : "turned on", no_bpf ? "; no BPF: " : "", no_bpf ? no_bpf : "");
    return 0;
}

static int choose(struct mode_reuseport *mr, struct err *e)
{
    struct err be, me;
    int was_on;
    switch (mr->ctx->o->protect) {
    case PROTECT_BPF:
        return choose_bpf(mr, e);
    case PROTECT_MIGRATE_REQ:
        return choose_migrate_req(mr, NULL, e);
    case PROTECT_NONE:
        if (rpk_migrate_req(0, &was_on, &me)) {
            mr->prot = RP_MIGRATE_REQ;
            snprintf(mr->detail, sizeof(mr->detail),
                     "--protect none, but net.ipv4.tcp_migrate_req is on in this namespace: "
                     "closing listeners' queues migrate");
        } else {
            snprintf(mr->detail, sizeof(mr->detail),
                     "--protect none: connections waiting in a closing listener's queue are "
                     "reset");
        }
        return 0;
    case PROTECT_AUTO:
        break;
    }
    if (choose_bpf(mr, &be) == 0 || choose_migrate_req(mr, be.msg, &me) == 0)
        return 0;
    snprintf(mr->detail, sizeof(mr->detail),
             "connections waiting in a closing listener's queue are reset (no BPF: %.120s; %.120s)",
             be.msg, me.msg);
    return 0;
}

static int rp_open(struct mode **out, struct run_ctx *ctx, struct gens *gs, struct err *e)
{
    struct mode_reuseport *mr = calloc(1, sizeof(*mr));
    if (!mr)
        return err_set(e, "cannot start: out of memory");
    mr->base.ops = &mode_reuseport_ops;
    mr->ctx = ctx;
    mr->gs = gs;
    const struct run_opts *o = ctx->o;
    int port = addr_port(&o->listen[0]);
    snprintf(mr->port_env[0], sizeof(mr->port_env[0]), "PORT=%d", port);
    snprintf(mr->port_env[1], sizeof(mr->port_env[1]), "BATON_PORT=%d", port);
    size_t off = (size_t)snprintf(mr->listen_env, sizeof(mr->listen_env), "BATON_LISTEN=");
    for (int i = 0; i < o->nlisten; i++)
        off += (size_t)snprintf(mr->listen_env + off, sizeof(mr->listen_env) - off, "%s%s",
                                i ? " " : "", o->listen[i].text);
    if (choose(mr, e) < 0 ||
        (mr->prot != RP_BPF && o->ready_mode == READY_HTTP &&
         err_set(e,
                 "--ready http:PATH in --mode reuseport needs the BPF protection, which "
                 "sends the check to the new worker alone (here: %s); use --ready connect "
                 "or notify",
                 mr->detail) < 0)) {
        rpk_free(mr->k);
        free(mr);
        return -1;
    }
    if (mr->prot == RP_NONE)
        log_warn("reuseport protection: none: %s", mr->detail);
    else
        log_info("reuseport protection: %s: %s", protection_names[mr->prot], mr->detail);
    *out = &mr->base;
    return 0;
}

static void rp_free(struct mode *md)
{
    struct mode_reuseport *mr = (struct mode_reuseport *)md;
    timer_stop(mr->ctx->loop, &mr->tick);
    rpk_free(mr->k);
    free(mr);
}

const struct mode_ops mode_reuseport_ops = {
    .name = "reuseport",
    .private_ports = 0,
    .takes_over_orphans = 1,
    .apps_bind = 1,
    .open = rp_open,
    .free = rp_free,
    .setup_worker = rp_setup_worker,
    .promote = rp_promote,
    .switched = rp_switched,
    .resume = rp_resume,
    .stop = rp_stop,
    .busy = rp_busy,
    .notify = rp_notify,
    .status = rp_status,
    .to_json = rp_to_json,
    .from_json = rp_from_json,
};
