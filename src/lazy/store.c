/* Store URLs (sqlite:PATH#TABLE, postgres://...#TABLE, redis://HOST:PORT/PREFIX): which
 * driver opens a store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lazy/lazy_int.h"

/* Splits "BODY#TABLE" at the last '#'; body is a fresh string (caller frees). */
static int split_table(const char *url, const char *after, char **body, const char **table,
                       struct err *e)
{
    const char *hash = strrchr(after, '#');
    if (!hash || !hash[1])
        return err_set(e, "store URL '%s' names no table (expected ...#TABLE)", url);
    if (!lazy_name_ok(hash + 1))
        return err_set(e,
                       "store URL '%s': table '%s' must be letters, digits and '_' (at "
                       "most %d)",
                       url, hash + 1, LAZY_NAME_MAX);
    *table = hash + 1;
    *body = strndup(after, (size_t)(hash - after));
    return *body ? 0 : err_set(e, "out of memory");
}

static int parse_redis(const char *url, struct lazy_store **out, struct err *e)
{
    const char *p = url + strlen("redis://");
    const char *slash = strchr(p, '/');
    if (!slash || !slash[1])
        return err_set(e, "store URL '%s' names no key prefix (expected redis://HOST:PORT/PREFIX)",
                       url);
    if (!lazy_name_ok(slash + 1))
        return err_set(e, "store URL '%s': prefix '%s' must be letters, digits and '_'", url,
                       slash + 1);
    char host[256];
    size_t hl = (size_t)(slash - p);
    if (hl == 0 || hl >= sizeof(host))
        return err_set(e, "store URL '%s' names no host", url);
    memcpy(host, p, hl);
    host[hl] = 0;
    int port = 6379;
    char *name = host, *portstr = NULL;
    if (host[0] == '[') {
        char *close = strchr(host, ']');
        if (!close || (close[1] && close[1] != ':'))
            return err_set(e, "store URL '%s': expected [IPV6]:PORT", url);
        *close = 0;
        name = host + 1;
        portstr = close[1] ? close + 2 : NULL;
    } else if ((portstr = strrchr(host, ':'))) {
        *portstr++ = 0;
    }
    if (portstr) {
        char *end;
        long v = strtol(portstr, &end, 10);
        if (*end || v <= 0 || v > 65535)
            return err_set(e, "store URL '%s': bad port '%s'", url, portstr);
        port = (int)v;
    }
    return lazy_redis_open(name, port, slash + 1, out, e);
}

int lazy_store_open(const char *url, struct lazy_store **out, struct lazy_error *le)
{
    struct err e = {{0}};
    char *body = NULL;
    const char *table = NULL;
    int rc = -1;
    *out = NULL;
    if (strncmp(url, "sqlite:", 7) == 0) {
        if (split_table(url, url + 7, &body, &table, &e) < 0)
            goto out;
        if (!body[0]) {
            err_set(&e, "store URL '%s' names no file (expected sqlite:PATH#TABLE)", url);
            goto out;
        }
        rc = lazy_sqlite_open(body, table, out, &e);
    } else if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0) {
        if (split_table(url, url, &body, &table, &e) < 0)
            goto out;
        rc = lazy_pg_open(body, table, out, &e);
    } else if (strncmp(url, "redis://", 8) == 0) {
        rc = parse_redis(url, out, &e);
    } else {
        err_set(&e,
                "store URL '%s' is not sqlite:PATH#TABLE, postgres://...#TABLE or "
                "redis://HOST:PORT/PREFIX",
                url);
    }
    if (rc == 0 && !((*out)->url = strdup(url))) {
        lazy_store_close(*out);
        *out = NULL;
        rc = err_set(&e, "out of memory");
    }
out:
    free(body);
    if (rc < 0)
        lazy_error_from(le, &e);
    return rc;
}

void lazy_store_close(struct lazy_store *s)
{
    if (!s)
        return;
    free(s->url);
    s->url = NULL;
    s->ops->close(s);
}
