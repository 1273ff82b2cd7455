/* Backend table, balancing and the backend state machine (see pool.h for the diagram);
 * the state file is written with a temporary file and rename(2) so a reader never sees
 * half a table. */
#include "proxy/pool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pool_table {
    struct backend *head;
    int count;
    enum pool_balance balance;
    char active[POOL_NAME_MAX];
};

/* next state per [state][event]; DRAIN_TO is resolved by the connection count and
 * ENABLE_TO by the health bit. */
enum { SAME = -1, DRAIN_TO = -2, ENABLE_TO = -3 };
static const int backend_next[BACKEND_NSTATES][BEV_NEVENTS] = {
    /*               HEALTH_OK   HEALTH_FAIL   DRAIN     ENABLE     CONNS_ZERO */
    [BACKEND_UP] = {SAME, BACKEND_DOWN, DRAIN_TO, SAME, SAME},
    [BACKEND_DOWN] = {BACKEND_UP, SAME, DRAIN_TO, SAME, SAME},
    [BACKEND_DRAINING] = {SAME, SAME, SAME, ENABLE_TO, BACKEND_DRAINED},
    [BACKEND_DRAINED] = {SAME, SAME, SAME, ENABLE_TO, SAME},
};

static const char *const state_names[] = {"up", "down", "draining", "drained"};

const char *backend_state_name(enum backend_state s)
{
    return (unsigned)s < BACKEND_NSTATES ? state_names[s] : "unknown";
}

int backend_event(struct backend *b, enum backend_event ev)
{
    if (ev == BEV_HEALTH_OK)
        b->healthy = 1;
    else if (ev == BEV_HEALTH_FAIL)
        b->healthy = 0;
    int next = backend_next[b->state][ev];
    if (next == SAME)
        return 0;
    if (next == DRAIN_TO)
        next = b->conns > 0 ? BACKEND_DRAINING : BACKEND_DRAINED;
    else if (next == ENABLE_TO)
        next = b->healthy ? BACKEND_UP : BACKEND_DOWN;
    if ((int)b->state == next)
        return 0;
    b->state = (enum backend_state)next;
    if (next == BACKEND_UP || next == BACKEND_DOWN)
        b->drain_until = 0;
    return 1;
}

int pool_table_new(struct pool_table **out, enum pool_balance balance, struct err *e)
{
    struct pool_table *t = calloc(1, sizeof(*t));
    if (!t)
        return err_errno(e, ENOMEM, "cannot create backend table");
    t->balance = balance;
    snprintf(t->active, sizeof(t->active), "%s", POOL_DEFAULT);
    *out = t;
    return 0;
}

static void backend_free_now(struct backend *b)
{
    free(b);
}

void pool_table_free(struct pool_table *t)
{
    if (!t)
        return;
    struct backend *b = t->head;
    while (b) {
        struct backend *next = b->next;
        b->next = NULL;
        b->removed = 1;
        if (b->refs == 0)
            backend_free_now(b);
        b = next;
    }
    free(t);
}

static int valid_name(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!(c == '_' || c == '-' || c == '.' || (c >= '0' && c <= '9') ||
              (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            return 0;
    }
    return 1;
}

int pool_parse_spec(const char *spec, struct backend **out, struct err *e)
{
    char buf[512];
    if (strlen(spec) >= sizeof(buf))
        return err_set(e, "invalid backend '%.40s...': longer than %zu bytes", spec,
                       sizeof(buf) - 1);
    snprintf(buf, sizeof(buf), "%s", spec);
    struct backend *b = calloc(1, sizeof(*b));
    if (!b)
        return err_errno(e, ENOMEM, "cannot add backend '%s'", spec);
    b->weight = 1;
    b->healthy = 1;
    snprintf(b->pool, sizeof(b->pool), "%s", POOL_DEFAULT);
    char *eq = strchr(buf, '=');
    char *slash = strchr(buf, '/');
    char *name = buf;
    if (slash && eq && slash < eq) {
        if (!valid_name(buf, (size_t)(slash - buf)) || (size_t)(slash - buf) >= POOL_NAME_MAX) {
            free(b);
            return err_set(e,
                           "invalid backend '%s': pool name must be 1..%d letters, digits, "
                           "'_', '-' or '.'",
                           spec, POOL_NAME_MAX - 1);
        }
        memcpy(b->pool, buf, (size_t)(slash - buf));
        b->pool[slash - buf] = 0;
        name = slash + 1;
    }
    if (!eq || eq == name) {
        free(b);
        return err_set(e, "invalid backend '%s': expected [POOL/]NAME=HOST:PORT[,weight=W]", spec);
    }
    char *opts = strchr(eq, ',');
    if (opts)
        *opts++ = 0;
    if (addr_parse(name, 1, &b->addr, e) < 0) {
        free(b);
        /* "invalid address 'X': why" -> "invalid backend 'SPEC': why" */
        const char *why =
            strncmp(e->msg, "invalid address '", 17) == 0 ? strstr(e->msg, "': ") : NULL;
        char copy[ERR_MSG_MAX];
        snprintf(copy, sizeof(copy), "%s", why ? why + 3 : e->msg);
        return err_set(e, "invalid backend '%s': %s", spec, copy);
    }
    if (!b->addr.name[0]) {
        free(b);
        return err_set(e, "invalid backend '%s': missing NAME=", spec);
    }
    snprintf(b->name, sizeof(b->name), "%s", b->addr.name);
    while (opts && *opts) {
        char *next = strchr(opts, ',');
        if (next)
            *next++ = 0;
        if (strncmp(opts, "weight=", 7) == 0) {
            char *end;
            errno = 0;
            long w = strtol(opts + 7, &end, 10);
            if (errno || end == opts + 7 || *end || w < 0 || w > POOL_WEIGHT_MAX) {
                free(b);
                return err_set(e, "invalid backend '%s': weight must be 0..%d", spec,
                               POOL_WEIGHT_MAX);
            }
            b->weight = (int)w;
        } else {
            free(b);
            return err_set(e, "invalid backend '%s': unknown option '%s' (known: weight=W)", spec,
                           opts);
        }
        opts = next;
    }
    *out = b;
    return 0;
}

struct backend *pool_find(struct pool_table *t, const char *name)
{
    for (struct backend *b = t->head; b; b = b->next)
        if (strcmp(b->name, name) == 0)
            return b;
    return NULL;
}

int pool_add(struct pool_table *t, struct backend *b, struct err *e)
{
    if (pool_find(t, b->name))
        return err_set(e, "backend '%s' already exists", b->name);
    if (t->count >= POOL_BACKENDS_MAX)
        return err_set(e, "cannot add backend '%s': the table holds %d backends already", b->name,
                       POOL_BACKENDS_MAX);
    struct backend **pp = &t->head;
    while (*pp)
        pp = &(*pp)->next;
    b->next = NULL;
    *pp = b;
    t->count++;
    return 0;
}

int pool_add_spec(struct pool_table *t, const char *spec, struct backend **out, struct err *e)
{
    struct backend *b;
    if (pool_parse_spec(spec, &b, e) < 0)
        return -1;
    if (pool_add(t, b, e) < 0) {
        free(b);
        return -1;
    }
    if (out)
        *out = b;
    return 0;
}

void pool_remove(struct pool_table *t, struct backend *b)
{
    for (struct backend **pp = &t->head; *pp; pp = &(*pp)->next) {
        if (*pp == b) {
            *pp = b->next;
            t->count--;
            break;
        }
    }
    b->next = NULL;
    b->removed = 1;
    if (b->refs == 0)
        backend_free_now(b);
}

int pool_set_weight(struct pool_table *t, const char *name, int weight, struct err *e)
{
    struct backend *b = pool_find(t, name);
    if (!b)
        return err_set(e, "unknown backend '%s'", name);
    if (weight < 0 || weight > POOL_WEIGHT_MAX)
        return err_set(e, "invalid weight %d for backend '%s': must be 0..%d", weight, name,
                       POOL_WEIGHT_MAX);
    b->weight = weight;
    return 0;
}

int pool_eligible(const struct pool_table *t, const struct backend *b)
{
    return !b->removed && b->state == BACKEND_UP && b->weight > 0 &&
           strcmp(b->pool, t->active) == 0;
}

static int skipped(const struct backend *b, struct backend *const *skip, int nskip)
{
    for (int i = 0; i < nskip; i++)
        if (skip[i] == b)
            return 1;
    return 0;
}

struct backend *pool_pick(struct pool_table *t, struct backend *const *skip, int nskip)
{
    struct backend *best = NULL;
    if (t->balance == BALANCE_LEASTCONN) {
        /* least conns/weight; ties go round robin through rr_current */
        for (struct backend *b = t->head; b; b = b->next) {
            if (!pool_eligible(t, b) || skipped(b, skip, nskip))
                continue;
            if (!best)
                best = b;
            else {
                uint64_t lhs = b->conns * (uint64_t)best->weight;
                uint64_t rhs = best->conns * (uint64_t)b->weight;
                if (lhs < rhs || (lhs == rhs && b->rr_current < best->rr_current))
                    best = b;
            }
        }
        if (best)
            best->rr_current++;
        return best;
    }
    /* smooth weighted round robin (as nginx): each pick adds every weight to its
     * current value, takes the largest and subtracts the total from it */
    int64_t total = 0;
    for (struct backend *b = t->head; b; b = b->next) {
        if (!pool_eligible(t, b) || skipped(b, skip, nskip))
            continue;
        b->rr_current += b->weight;
        total += b->weight;
        if (!best || b->rr_current > best->rr_current)
            best = b;
    }
    if (best)
        best->rr_current -= total;
    return best;
}

void pool_backend_ref(struct backend *b)
{
    b->refs++;
}

void pool_backend_unref(struct backend *b)
{
    if (--b->refs == 0 && b->removed)
        backend_free_now(b);
}

void pool_conn_opened(struct backend *b)
{
    b->conns++;
    b->total++;
}

int pool_conn_closed(struct backend *b)
{
    if (b->conns > 0)
        b->conns--;
    if (b->conns == 0)
        return backend_event(b, BEV_CONNS_ZERO);
    return 0;
}

const char *pool_active(const struct pool_table *t)
{
    return t->active;
}

int pool_exists(const struct pool_table *t, const char *pool)
{
    for (const struct backend *b = t->head; b; b = b->next)
        if (strcmp(b->pool, pool) == 0)
            return 1;
    return 0;
}

void pool_set_active(struct pool_table *t, const char *pool)
{
    snprintf(t->active, sizeof(t->active), "%s", pool);
}

enum pool_balance pool_balance_mode(const struct pool_table *t)
{
    return t->balance;
}

int pool_switch(struct pool_table *t, const char *pool, uint64_t drain_until, struct err *e)
{
    if (!pool_exists(t, pool))
        return err_set(e, "unknown pool '%s' (no backend is in it)", pool);
    pool_set_active(t, pool);
    for (struct backend *b = t->head; b; b = b->next) {
        if (strcmp(b->pool, pool) == 0) {
            if (b->switch_drained) {
                b->switch_drained = 0;
                backend_event(b, BEV_ENABLE);
            }
        } else if (b->state == BACKEND_UP || b->state == BACKEND_DOWN) {
            b->switch_drained = 1;
            backend_event(b, BEV_DRAIN);
            b->drain_until = drain_until;
        } else if (b->state == BACKEND_DRAINING && drain_until &&
                   (!b->drain_until || drain_until < b->drain_until)) {
            b->drain_until = drain_until;
        }
    }
    return 0;
}

struct backend *pool_first(struct pool_table *t)
{
    return t->head;
}

json_t *pool_to_json(struct pool_table *t, int persist)
{
    json_t *arr = json_array();
    for (struct backend *b = t->head; b; b = b->next) {
        json_t *o;
        if (persist) {
            int drained = b->state == BACKEND_DRAINING || b->state == BACKEND_DRAINED;
            o = json_pack("{s:s,s:s,s:s,s:i,s:s,s:b}", "name", b->name, "pool", b->pool, "address",
                          b->addr.text, "weight", b->weight, "admin", drained ? "drain" : "enable",
                          "switch_drained", b->switch_drained);
        } else {
            o = json_pack("{s:s,s:s,s:s,s:i,s:s,s:b,s:b,s:I,s:I,s:I}", "name", b->name, "pool",
                          b->pool, "address", b->addr.text, "weight", b->weight, "state",
                          backend_state_name(b->state), "healthy", b->healthy, "active",
                          strcmp(b->pool, t->active) == 0, "connections", (json_int_t)b->conns,
                          "total", (json_int_t)b->total, "failures", (json_int_t)b->failures);
        }
        json_array_append_new(arr, o);
    }
    return json_pack("{s:i,s:s,s:s,s:o}", "version", 1, "active_pool", t->active, "balance",
                     t->balance == BALANCE_LEASTCONN ? "leastconn" : "roundrobin", "backends", arr);
}

int pool_from_json(struct pool_table *t, json_t *doc, struct err *e)
{
    json_t *arr = json_object_get(doc, "backends");
    const char *active = json_string_value(json_object_get(doc, "active_pool"));
    if (!json_is_array(arr) || !active || !*active || strlen(active) >= POOL_NAME_MAX)
        return err_set(e, "expected {\"active_pool\":\"...\",\"backends\":[...]}");
    struct pool_table *fresh;
    if (pool_table_new(&fresh, t->balance, e) < 0)
        return -1;
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o)
    {
        const char *name = json_string_value(json_object_get(o, "name"));
        const char *pool = json_string_value(json_object_get(o, "pool"));
        const char *address = json_string_value(json_object_get(o, "address"));
        json_t *w = json_object_get(o, "weight");
        const char *admin = json_string_value(json_object_get(o, "admin"));
        if (!name || !pool || !address || !json_is_integer(w)) {
            pool_table_free(fresh);
            return err_set(e, "backend %zu: expected name, pool, address and weight", i);
        }
        char spec[512];
        snprintf(spec, sizeof(spec), "%s/%s=%s,weight=%lld", pool, name, address,
                 (long long)json_integer_value(w));
        struct backend *b;
        if (pool_add_spec(fresh, spec, &b, e) < 0) {
            pool_table_free(fresh);
            return err_wrap(e, "backend %zu", i);
        }
        if (admin && strcmp(admin, "drain") == 0) {
            b->state = BACKEND_DRAINED;
            b->switch_drained = json_is_true(json_object_get(o, "switch_drained"));
        }
    }
    /* move the new backends over */
    struct backend *b = t->head;
    while (b) {
        struct backend *next = b->next;
        pool_remove(t, b);
        b = next;
    }
    t->head = fresh->head;
    t->count = fresh->count;
    fresh->head = NULL;
    pool_table_free(fresh);
    pool_set_active(t, active);
    return 0;
}

int pool_save(struct pool_table *t, const char *path, struct err *e)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= sizeof(tmp))
        return err_set(e, "state file path '%s' is too long", path);
    json_t *doc = pool_to_json(t, 1);
    char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
    json_decref(doc);
    if (!text)
        return err_set(e, "cannot encode state file '%s'", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        int saved = errno;
        free(text);
        return err_errno(e, saved, "cannot write state file '%s'", tmp);
    }
    size_t n = strlen(text), off = 0;
    int rc = 0;
    while (off < n) {
        ssize_t w = write(fd, text + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = err_errno(e, errno, "cannot write state file '%s'", tmp);
            break;
        }
        off += (size_t)w;
    }
    free(text);
    if (rc == 0 && (write(fd, "\n", 1) != 1 || fsync(fd) < 0))
        rc = err_errno(e, errno, "cannot write state file '%s'", tmp);
    close(fd);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = err_errno(e, errno, "cannot rename '%s' to '%s'", tmp, path);
    if (rc < 0)
        unlink(tmp);
    return rc;
}

int pool_load(struct pool_table *t, const char *path, struct err *e)
{
    json_error_t je;
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT)
            return 1;
        return err_errno(e, errno, "cannot read state file '%s'", path);
    }
    json_t *doc = json_loadf(f, 0, &je);
    fclose(f);
    if (!doc)
        return err_set(e, "malformed state file '%s': %s at line %d", path, je.text, je.line);
    int rc = pool_from_json(t, doc, e);
    json_decref(doc);
    if (rc < 0)
        return err_wrap(e, "malformed state file '%s'", path);
    return 0;
}
