/* The proxy engine's configuration: its modes and tunables, with their defaults. Shared
 * by the engine's interface (proxy.h) and its internals (conn.h), which therefore
 * depend on this and not on each other. */
#ifndef BATON_PROXY_CONFIG_H
#define BATON_PROXY_CONFIG_H

#include <stddef.h>

enum proxy_mode { PROXY_TCP, PROXY_HTTP };
enum proxy_health { HEALTH_NONE, HEALTH_CONNECT, HEALTH_HTTP };
enum proxy_relay { RELAY_AUTO, RELAY_SPLICE, RELAY_COPY };

#define PROXY_HEALTH_PATH_MAX 256

struct proxy_config {
    enum proxy_mode mode;
    enum proxy_relay relay; /* tcp mode: auto (copy, splice for bulk), splice or copy */
    enum proxy_health health;
    char health_path[PROXY_HEALTH_PATH_MAX];
    int health_interval_ms;  /* 1000 */
    int health_fall;         /* failed checks before down: 2 */
    int health_rise;         /* good checks before up again: 1 */
    int max_conns;           /* client connections at once: 10000 */
    int connect_timeout_ms;  /* 2000 */
    int idle_timeout_ms;     /* no byte either way: 60000 */
    int header_timeout_ms;   /* a whole request head: 10000 */
    size_t buffer_bytes;     /* per direction (copy path, http): 16384 */
    size_t header_max_bytes; /* request/response head: 8192 */
    int retries;             /* other backends tried after a failed connect: 3 */
    int xff;                 /* http: add X-Forwarded-For */
    char state_file[4096];   /* "" = none; written after every runtime change */
};

/* Fills c with the defaults named beside each field. */
void proxy_config_defaults(struct proxy_config *c);

#endif
