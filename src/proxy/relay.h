/* The relay interface of the proxy engine: what proxy.c asks of a protocol, in the
 * shape of the migrate driver table (src/migrate/database.h). proxy.c owns accepting, the
 * backends (connect, retry, idle pool) and the buffer pool; a relay moves the bytes of
 * one client connection (tcp.c: a byte relay; http*.c: HTTP/1.1, request by request).
 * proxy.c reaches a relay only through this table, chosen at accept time; relays call
 * proxy.c's conn_* services (conn.h), never the other way round. */
#ifndef BATON_PROXY_RELAY_H
#define BATON_PROXY_RELAY_H

#include "proxy/config.h"

struct conn;

struct relay {
    const char *name;
    /* Backend connections may be kept between requests and pooled for other clients
     * (conn_connect_backend takes an idle one first). */
    int pools_backends;
    /* A client was accepted (c->cfd set): start relaying (a backend connect may start
     * now or at its first request). -1: the caller closes the connection. */
    int (*start)(struct conn *c);
    /* The backend connect started by conn_connect_backend finished: ok, or no backend
     * could take it after every retry. */
    void (*backend_ready)(struct conn *c, int ok);
    /* The proxy stops: finish what is in flight, then close. */
    void (*stop)(struct conn *c);
    /* The connection ends: free what the relay holds (sockets are proxy.c's). */
    void (*free)(struct conn *c);
};

extern const struct relay relay_tcp;
extern const struct relay relay_http;

/* The relay of a proxy mode. */
const struct relay *relay_for_mode(enum proxy_mode mode);

#endif
