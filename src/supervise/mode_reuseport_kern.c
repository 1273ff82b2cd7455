/* --mode reuseport: the BPF programs (embedded skeleton) and tcp_migrate_req. */
#include "supervise/mode_reuseport_kern.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "reuseport.skel.h"

#define MIGRATE_REQ_PATH "/proc/sys/net/ipv4/tcp_migrate_req"
#define RPK_MAX_ADDR     32

struct rpk {
    struct rp_bpf *skel;
    int netns;                   /* this network namespace, where rp_probe is attached */
    struct bpf_link *probe_link; /* while `probes` has an entry: NULL otherwise */
    int nprobes;
    int nserving[RPK_MAX_ADDR]; /* sockets in `serving` per listen address */
};

struct rp_range {
    uint32_t base;
    uint32_t count;
};

static int quiet_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    return 0; /* failures come back as errors with our own message */
}

int rpk_open(struct rpk **out, struct err *e)
{
    struct rpk *k = calloc(1, sizeof(*k));
    if (!k)
        return err_set(e, "cannot load the reuseport BPF programs: out of memory");
    k->netns = -1;
    libbpf_set_print(quiet_libbpf);
    k->skel = rp_bpf__open_and_load();
    if (!k->skel) {
        int saved = errno;
        free(k);
        return err_errno(e, saved, "cannot load the reuseport BPF programs");
    }
    /* Attached once to learn that it can be: from now on only while a probe exists. */
    k->netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    k->probe_link =
        k->netns >= 0 ? bpf_program__attach_netns(k->skel->progs.rp_probe, k->netns) : NULL;
    if (!k->probe_link) {
        int saved = errno;
        rpk_free(k);
        return err_errno(e, saved, "cannot attach the readiness probe program (sk_lookup)");
    }
    bpf_link__destroy(k->probe_link);
    k->probe_link = NULL;
    *out = k;
    return 0;
}

void rpk_free(struct rpk *k)
{
    if (!k)
        return;
    bpf_link__destroy(k->probe_link);
    if (k->netns >= 0)
        close(k->netns);
    rp_bpf__destroy(k->skel);
    free(k);
}

int rpk_attach(struct rpk *k, int fd, struct err *e)
{
    int prog = bpf_program__fd(k->skel->progs.rp_select);
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &prog, sizeof(prog)) < 0)
        return err_errno(e, errno,
                         "cannot attach the reuseport program (SO_ATTACH_REUSEPORT_EBPF)");
    return 0;
}

/* Puts fds[0..n) at slots base.. of `serving`; -1 with errno on failure. */
static int fill(int socks, uint32_t base, const int *fds, int n)
{
    for (int i = 0; i < n; i++) {
        uint32_t idx = base + (uint32_t)i;
        uint64_t v = (uint64_t)fds[i];
        if (bpf_map_update_elem(socks, &idx, &v, BPF_ANY) < 0)
            return -1;
    }
    return 0;
}

int rpk_serve(struct rpk *k, int index, int port, const int *fds, int n, struct err *e)
{
    if (index < 0 || index >= RPK_MAX_ADDR)
        return err_set(e, "listen address %d: at most %d are steered", index, RPK_MAX_ADDR);
    if (n > RPK_MAX_PER_ADDR)
        n = RPK_MAX_PER_ADDR;
    int socks = bpf_map__fd(k->skel->maps.serving), ports = bpf_map__fd(k->skel->maps.ports);
    uint32_t base = (uint32_t)index * RPK_MAX_PER_ADDR, key = (uint32_t)port;
    /* The old count stays in force while its slots are overwritten one by one: each
     * slot holds a socket of either generation until the count changes. A socket that
     * already sits at another slot (a worker's sibling, after the other restarted)
     * cannot be put twice: then the range is emptied first, and for that moment the
     * kernel picks by its own hash. */
    int rc = fill(socks, base, fds, n);
    if (rc < 0 && errno == EBUSY) {
        for (uint32_t i = 0; i < RPK_MAX_PER_ADDR; i++) {
            uint32_t idx = base + i;
            bpf_map_delete_elem(socks, &idx);
        }
        rc = fill(socks, base, fds, n);
    }
    if (rc < 0)
        return err_errno(e, errno, "cannot steer port %d to a socket of the new generation", port);
    struct rp_range r = {.base = base, .count = (uint32_t)n};
    if (bpf_map_update_elem(ports, &key, &r, BPF_ANY) < 0)
        return err_errno(e, errno, "cannot steer port %d", port);
    for (int i = n; i < k->nserving[index]; i++) {
        uint32_t idx = base + (uint32_t)i;
        bpf_map_delete_elem(socks, &idx);
    }
    k->nserving[index] = n;
    return 0;
}

int rpk_probe_add(struct rpk *k, int probe_port, int fd, struct err *e)
{
    uint32_t key = (uint32_t)probe_port;
    uint64_t v = (uint64_t)fd;
    if (!k->probe_link &&
        !(k->probe_link = bpf_program__attach_netns(k->skel->progs.rp_probe, k->netns)))
        return err_errno(e, errno, "cannot attach the readiness probe program (sk_lookup)");
    if (bpf_map_update_elem(bpf_map__fd(k->skel->maps.probes), &key, &v, BPF_ANY) < 0) {
        int saved = errno;
        rpk_probe_del(k, 0);
        return err_errno(e, saved, "cannot route readiness checks on port %d", probe_port);
    }
    k->nprobes++;
    return 0;
}

void rpk_probe_del(struct rpk *k, int probe_port)
{
    uint32_t key = (uint32_t)probe_port;
    if (probe_port) { /* gone already when its socket closed: it counted all the same */
        bpf_map_delete_elem(bpf_map__fd(k->skel->maps.probes), &key);
        k->nprobes -= k->nprobes > 0;
    }
    if (k->nprobes == 0 && k->probe_link) {
        bpf_link__destroy(k->probe_link); /* no lookup in the namespace runs it any more */
        k->probe_link = NULL;
    }
}

int rpk_migrate_req(int set, int *was_on, struct err *e)
{
    char buf[8] = "";
    *was_on = 0;
    int fd = open(MIGRATE_REQ_PATH, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0) {
        err_errno(e, errno ? errno : EIO, "cannot read '%s'", MIGRATE_REQ_PATH);
        return 0;
    }
    if (buf[0] == '1') {
        *was_on = 1;
        return 1;
    }
    if (!set) {
        err_set(e, "'%s' is off", MIGRATE_REQ_PATH);
        return 0;
    }
    fd = open(MIGRATE_REQ_PATH, O_WRONLY | O_CLOEXEC);
    int ok = fd >= 0 && write(fd, "1\n", 2) == 2;
    int saved = errno;
    if (fd >= 0)
        close(fd);
    if (!ok) {
        err_errno(e, saved, "cannot turn on '%s'", MIGRATE_REQ_PATH);
        return 0;
    }
    return 1;
}
