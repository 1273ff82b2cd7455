/* Reading HAProxy's runtime API replies (`show stat`, `show servers conn`, `set
 * server`), strictly: columns are found by the header's names, every number is
 * checked, and anything else (an error text, a truncated table) is refused whole. */
#ifndef BATON_DEPLOY_HAPX_H
#define BATON_DEPLOY_HAPX_H

#include <stddef.h>

#include "core/err.h"
#include "deploy/balancer.h"

/* `show stat BACKEND 4 -1` (CSV): adds one endpoint's view of each server of
 * `backend` into `st` (found, up, drained, cur, counters, status). */
int hapx_parse_stat(const char *reply, size_t len, const char *backend, struct bal_stats *st,
                    struct err *e);
/* `show servers conn BACKEND`: adds each server's used_cur (connections in use) to cur. */
int hapx_parse_servers_conn(const char *reply, size_t len, const char *backend,
                            struct bal_stats *st, struct err *e);
/* `set server ...`: HAProxy answers nothing (a blank line) when it did it, else text. */
int hapx_parse_set_reply(const char *reply, size_t len, struct err *e);

#endif
