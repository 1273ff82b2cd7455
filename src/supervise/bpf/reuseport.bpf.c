/* The kernel side of `baton run --mode reuseport`, compiled by clang at build time and
 * loaded by the master (mode_reuseport_bpf.c). Two programs:
 *   rp_select (SK_REUSEPORT, attached with BPF_SK_REUSEPORT_SELECT_OR_MIGRATE to the
 *     group of sockets the generations bind on one port): a new connection, and a
 *     request or accepted connection left in a closing listener's queue, goes to a
 *     socket of the serving generation only;
 *   rp_probe (SK_LOOKUP, attached to the network namespace): a readiness check sent to
 *     127.0.0.1:PROBE_PORT reaches exactly one starting worker's listening socket, so
 *     the check proves that this worker accepts, not that some generation does. */
#include <linux/bpf.h>
#include <linux/in.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#ifndef __bpf__ /* a C checker (cppcheck) reads no system header: the macros it must know */
#define SEC(name)
#define __uint(name, val) int(*name)[val]
#define __type(name, val) typeof(val) *name
#endif

#define RP_MAX_SOCKS 1024 /* serving sockets over every listening address */
#define RP_MAX_PORTS 32
#define RP_TRIES     8

/* The serving generation's sockets, grouped by port: those of port P sit at
 * [base, base + count) of `serving`, as `ports` says. */
struct rp_range {
    __u32 base;
    __u32 count;
};

struct {
    __uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
    __uint(max_entries, RP_MAX_SOCKS);
    __type(key, __u32);
    __type(value, __u64);
} serving SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, RP_MAX_PORTS);
    __type(key, __u32); /* the local port, host order */
    __type(value, struct rp_range);
} ports SEC(".maps");

/* A starting worker's listening socket by the probe port that leads to it. */
struct {
    __uint(type, BPF_MAP_TYPE_SOCKHASH);
    __uint(max_entries, RP_MAX_SOCKS);
    __type(key, __u32); /* the probe port, host order */
    __type(value, __u64);
} probes SEC(".maps");

SEC("sk_reuseport/migrate")
int rp_select(struct sk_reuseport_md *md)
{
    struct bpf_sock *sk = md->sk;
    if (!sk)
        return SK_PASS;
    __u32 port = sk->src_port;
    struct rp_range *r = bpf_map_lookup_elem(&ports, &port);
    if (!r || r->count == 0 || r->count > RP_MAX_SOCKS)
        return SK_PASS; /* nothing known yet: the kernel's own choice */
    __u32 count = r->count, base = r->base;
    /* A slot may be empty for a moment (a worker restarting): try the next ones. */
#pragma unroll
    for (int i = 0; i < RP_TRIES; i++) {
        __u32 idx = base + (md->hash + (__u32)i) % count;
        if (bpf_sk_select_reuseport(md, &serving, &idx, 0) == 0)
            return SK_PASS;
    }
    return SK_PASS;
}

SEC("sk_lookup")
int rp_probe(struct bpf_sk_lookup *ctx)
{
    if (ctx->protocol != IPPROTO_TCP || ctx->family != 2 /* AF_INET */ ||
        ctx->local_ip4 != bpf_htonl(0x7f000001))
        return SK_PASS;
    __u32 port = ctx->local_port;
    struct bpf_sock *sk = bpf_map_lookup_elem(&probes, &port);
    if (!sk)
        return SK_PASS;
    long rc = bpf_sk_assign(ctx, sk, BPF_SK_LOOKUP_F_NO_REUSEPORT);
    bpf_sk_release(sk);
    return rc == 0 ? SK_PASS : SK_DROP;
}

char LICENSE[] SEC("license") = "GPL";
