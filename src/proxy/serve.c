/* `baton proxy` as a process: builds the table and the listeners, then runs the engine
 * in this process (engine.c) or in --workers processes (workers.c); it speaks the systemd
 * conventions so that `baton run -- baton proxy` can replace one proxy generation by the next
 * without dropping connections. */
#include "proxy/serve.h"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/log.h"
#include "proxy/engine.h"
#include "proxy/host.h"
#include "proxy/workers.h"

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* The backend table from the options, or from the state file of a previous
 * generation when there is one. */
static int build_table(const struct proxy_serve_opts *o, struct pool_table **out, struct err *e)
{
    struct pool_table *table = NULL;
    if (pool_table_new(&table, o->balance, e) < 0)
        return -1;
    for (int i = 0; i < o->nbackends; i++)
        if (pool_add_spec(table, o->backends[i], NULL, e) < 0)
            goto fail;
    if (o->cfg.state_file[0]) {
        int loaded = pool_load(table, o->cfg.state_file, e);
        if (loaded < 0)
            goto fail;
        if (loaded == 0)
            log_info("proxy: backend table restored from state file '%s' (active pool '%s')",
                     o->cfg.state_file, pool_active(table));
    }
    if (!pool_first(table))
        log_warn("proxy: no backend yet; add one with 'baton backend add'");
    else if (!pool_exists(table, pool_active(table)))
        pool_set_active(table, pool_first(table)->pool);
    *out = table;
    return 0;
fail:
    pool_table_free(table);
    return -1;
}

/* The listening sockets: inherited by LISTEN_FDS, else bound from --listen (with
 * SO_REUSEPORT when workers will bind the same addresses again). */
static int open_listeners(const struct proxy_serve_opts *o, int *fds, int *inherited, struct err *e)
{
    int nfds = host_take_listen_fds(fds, SERVE_LISTEN_MAX);
    *inherited = nfds > 0;
    if (*inherited)
        log_info("proxy: took %d listening socket%s from LISTEN_FDS", nfds, nfds == 1 ? "" : "s");
    for (int i = 0; !*inherited && i < o->nlisten; i++) {
        struct addr a;
        if (addr_parse(o->listen[i], 0, &a, e) < 0 ||
            (fds[nfds] = host_listen(&a, o->workers > 1, e)) < 0) {
            while (nfds > 0)
                close(fds[--nfds]);
            return -1;
        }
        nfds++;
    }
    if (nfds == 0)
        return err_set(e, "no listener: give --listen ADDR (or LISTEN_FDS)");
    return nfds;
}

int proxy_serve(const struct proxy_serve_opts *o, struct err *e)
{
    struct pool_table *table = NULL;
    int fds[SERVE_LISTEN_MAX];
    int inherited = 0;
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();
    if (build_table(o, &table, e) < 0)
        return -1;
    int nfds = open_listeners(o, fds, &inherited, e);
    if (nfds < 0) {
        pool_table_free(table);
        return -1;
    }
    if (o->workers > 1)
        return workers_serve(o, table, fds, nfds, inherited, e);
    struct engine_args a = {
        .table = table, .fds = fds, .nfds = nfds, .inherited = inherited, .chan = -1};
    return engine_run(o, &a, e);
}
