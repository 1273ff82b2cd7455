/* The proxy engine as a library: relays connections accepted on the given listening
 * fds to the backends of a pool_table, in tcp mode (splice, copy fallback) or http
 * mode (per-request routing over keep-alive), with health checks and a runtime API.
 *
 * Entry point for a host process (the standalone `baton proxy`, or a proxy worker of
 * `baton run --mode proxy`):
 *
 *     proxy_config_defaults(&cfg);  cfg.mode = PROXY_HTTP; ...
 *     proxy_new(&p, loop, &cfg, table, &e);        // table ownership passes
 *     proxy_add_listener(p, fd, &e);               // for each listening fd
 *     ... loop_run(loop) ...
 *     proxy_command(p, request_json) -> reply      // runtime API (also over ctl)
 *     proxy_shutdown(p, timeout_ms, done_cb, arg); // stop accepting, drain, then done_cb
 *     proxy_free(p);
 */
#ifndef BATON_PROXY_PROXY_H
#define BATON_PROXY_PROXY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/loop.h"
#include "proxy/config.h"
#include "proxy/pool.h"

struct proxy;

int proxy_new(struct proxy **out, struct loop *loop, const struct proxy_config *cfg,
              struct pool_table *table, struct err *e);
/* Accepts connections on `fd` (listening, non-blocking; ownership passes). */
int proxy_add_listener(struct proxy *p, int fd, struct err *e);

/* Runs one runtime command ({"cmd":"backend-list"|"backend-add"|"backend-drain"|
 * "backend-enable"|"backend-remove"|"backend-weight"|"switch"|"status", ...}) and
 * returns the reply ({"ok":true,...} or {"ok":false,"error":...}; new reference).
 * Never fails on bad input: the reply says what was wrong. */
json_t *proxy_command(struct proxy *p, json_t *req);

typedef void (*proxy_done_cb)(struct proxy *p, void *data);
/* Stops accepting (closes the listeners), lets tcp connections finish and answers the
 * request in flight on http connections (then closes them); cuts what is left after
 * timeout_ms (0 = no limit). `done` runs once no connection is left. */
void proxy_shutdown(struct proxy *p, int timeout_ms, proxy_done_cb done, void *data);
/* Writes the table to cfg.state_file (if set), e.g. after a runtime change. */
void proxy_state_changed(struct proxy *p);
/* Live client connections. */
size_t proxy_connections(const struct proxy *p);
struct pool_table *proxy_table(struct proxy *p);
/* Frees the proxy, its connections and its table. */
void proxy_free(struct proxy *p);

#endif
