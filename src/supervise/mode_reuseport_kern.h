/* --mode reuseport: what the master asks of the kernel so that no connection waiting
 * in a listener's queue is reset when an old generation closes it. Either the BPF
 * programs of bpf/reuseport.bpf.c (loaded from the object embedded at build time:
 * steering to the serving generation, migration out of closing listeners, readiness
 * probes to one starting worker), or the namespace's net.ipv4.tcp_migrate_req. */
#ifndef BATON_SUPERVISE_MODE_REUSEPORT_KERN_H
#define BATON_SUPERVISE_MODE_REUSEPORT_KERN_H

#include "core/err.h"

#define RPK_MAX_PER_ADDR 32 /* serving sockets steered to, per --listen address */

struct rpk;

/* Loads the programs and checks that the probe steering can be attached to this
 * network namespace (needs CAP_BPF and CAP_NET_ADMIN). */
int rpk_open(struct rpk **out, struct err *e);
void rpk_free(struct rpk *k);

/* Attaches the select-or-migrate program to the reuseport group of listening socket
 * fd (every socket of the group then follows it). */
int rpk_attach(struct rpk *k, int fd, struct err *e);
/* New connections to `port` (listen address number `index`) go to fds[0..n) from now
 * on; n is capped at RPK_MAX_PER_ADDR. */
int rpk_serve(struct rpk *k, int index, int port, const int *fds, int n, struct err *e);
/* Readiness checks sent to 127.0.0.1:probe_port reach listening socket fd only; and
 * no longer. A socket must leave the probes before it serves. The probe steering is
 * attached to the namespace only while a probe exists (it runs at every TCP lookup
 * there, for every port). */
int rpk_probe_add(struct rpk *k, int probe_port, int fd, struct err *e);
void rpk_probe_del(struct rpk *k, int probe_port);

/* net.ipv4.tcp_migrate_req of this namespace: with `set`, turns it on when it is off.
 * Returns 1 when it is on now (*was_on: it was already), 0 when it is off (e->msg
 * says why it could not be set). */
int rpk_migrate_req(int set, int *was_on, struct err *e);

#endif
