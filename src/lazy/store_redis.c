/* Redis store: each document is a JSON string under PREFIX:ID; compare-and-set is a Lua
 * script that writes only if the key still holds the text that was read (and writes the
 * moved parts under their own prefixes in the same atomic script). The script is loaded
 * once per connection and run by its SHA1 (EVALSHA), loaded again when the server has
 * forgotten it (NOSCRIPT: a restart, SCRIPT FLUSH, a failover); a sweep sends a batch's
 * writes in one pipeline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis.h>

#include "lazy/lazy_int.h"

#define REDIS_TIMEOUT_S 10

struct rd_store {
    struct lazy_store base;
    redisContext *c;
    char prefix[LAZY_NAME_MAX + 1];
    char state_key[LAZY_NAME_MAX + 32];
    char sha[41]; /* of cas_script, as SCRIPT LOAD returned it */
};

/* KEYS[1] parent, KEYS[2..] children; ARGV[1] expected text, ARGV[2] new text, ARGV[3..]
 * children's texts. A missing key reads as false, which never equals the expected text. */
static const char cas_script[] = "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end\n"
                                 "redis.call('SET', KEYS[1], ARGV[2])\n"
                                 "for i = 2, #KEYS do redis.call('SET', KEYS[i], ARGV[i + 1]) end\n"
                                 "return 1\n";

static int rd_fail(struct rd_store *r, redisReply *rep, struct err *e, const char *what)
{
    if (rep && rep->type == REDIS_REPLY_ERROR)
        err_set(e, "redis '%s': %s: %s", r->prefix, what, rep->str);
    else if (r->c->err)
        err_set(e, "redis '%s': %s: %s", r->prefix, what, r->c->errstr);
    else
        err_set(e, "redis '%s': %s: unexpected reply", r->prefix, what);
    if (rep)
        freeReplyObject(rep);
    return -1;
}

static int rd_get(struct lazy_store *s, const char *id, struct lazy_raw *out, struct err *e)
{
    struct rd_store *r = (struct rd_store *)s;
    redisReply *rep = redisCommand(r->c, "GET %s:%s", r->prefix, id);
    if (!rep || (rep->type != REDIS_REPLY_STRING && rep->type != REDIS_REPLY_NIL))
        return rd_fail(r, rep, e, "read");
    if (rep->type == REDIS_REPLY_NIL) {
        freeReplyObject(rep);
        return LAZY_ENOTFOUND;
    }
    out->id = strdup(id);
    out->text = strndup(rep->str, rep->len);
    freeReplyObject(rep);
    if (!out->id || !out->text) {
        lazy_raw_clear(out);
        return err_set(e, "out of memory");
    }
    return 0;
}

/* Loads the compare-and-set script and keeps its SHA1. */
static int rd_load_script(struct rd_store *r, struct err *e)
{
    redisReply *rep = redisCommand(r->c, "SCRIPT LOAD %s", cas_script);
    if (!rep || rep->type != REDIS_REPLY_STRING || rep->len != 40)
        return rd_fail(r, rep, e, "load script");
    memcpy(r->sha, rep->str, 40);
    r->sha[40] = 0;
    freeReplyObject(rep);
    return 0;
}

/* One EVALSHA of the compare-and-set script, as an argument vector. */
struct rd_cmd {
    const char **argv;
    size_t *lens;
    char **keys;
    size_t nkeys;
    int argc;
    char nkeys_text[24];
};

static void rd_cmd_free(struct rd_cmd *c)
{
    for (size_t i = 0; c->keys && i < c->nkeys; i++)
        free(c->keys[i]);
    free(c->keys);
    free(c->argv);
    free(c->lens);
    memset(c, 0, sizeof(*c));
}

static int rd_cmd_build(struct rd_store *r, const struct lazy_write *w, struct rd_cmd *c,
                        struct err *e)
{
    memset(c, 0, sizeof(*c));
    size_t n = 3 + 2 * (w->nkids + 1) + 1 + w->nkids;
    c->argv = calloc(n, sizeof(*c->argv));
    c->lens = calloc(n, sizeof(*c->lens));
    c->keys = calloc(w->nkids + 1, sizeof(*c->keys));
    if (!c->argv || !c->lens || !c->keys)
        return err_set(e, "out of memory");
    for (size_t i = 0; i <= w->nkids; i++) {
        const char *prefix = i ? w->kids[i - 1].collection : r->prefix;
        const char *id = i ? w->kids[i - 1].id : w->old->id;
        if (asprintf(&c->keys[i], "%s:%s", prefix, id) < 0) {
            c->keys[i] = NULL;
            return err_set(e, "out of memory");
        }
        c->nkeys++;
    }
    snprintf(c->nkeys_text, sizeof(c->nkeys_text), "%zu", c->nkeys);
    c->argv[c->argc++] = "EVALSHA";
    c->argv[c->argc++] = r->sha;
    c->argv[c->argc++] = c->nkeys_text;
    for (size_t i = 0; i < c->nkeys; i++)
        c->argv[c->argc++] = c->keys[i];
    c->argv[c->argc++] = w->old->text;
    c->argv[c->argc++] = w->text;
    for (size_t i = 0; i < w->nkids; i++)
        c->argv[c->argc++] = w->kids[i].text;
    for (int i = 0; i < c->argc; i++)
        c->lens[i] = strlen(c->argv[i]);
    return 0;
}

static int is_noscript(const redisReply *rep)
{
    return rep && rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOSCRIPT", 8) == 0;
}

/* Pipelines the compare-and-sets of w[i] for the i with res[i] == 2 (to send) and reads
 * their replies: res[i] = 0 written, 1 conflict, 2 NOSCRIPT (to send again). */
static int rd_send(struct rd_store *r, const struct lazy_write *w, size_t n, int *res,
                   struct err *e)
{
    size_t sent = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct rd_cmd c;
        if (res[i] != 2)
            continue;
        rc = rd_cmd_build(r, &w[i], &c, e);
        if (rc == 0 && redisAppendCommandArgv(r->c, c.argc, c.argv, c.lens) != REDIS_OK)
            rc = rd_fail(r, NULL, e, "write");
        rd_cmd_free(&c);
        sent += rc == 0;
    }
    /* every reply of what was sent is read, even after a failure, to keep the stream */
    for (size_t i = 0; i < n && sent > 0; i++) {
        if (res[i] != 2)
            continue;
        sent--;
        redisReply *rep = NULL;
        if (redisGetReply(r->c, (void **)&rep) != REDIS_OK)
            return rd_fail(r, NULL, e, "write");
        if (is_noscript(rep)) {
            freeReplyObject(rep);
            continue;
        }
        if (!rep || rep->type != REDIS_REPLY_INTEGER) {
            rc = rd_fail(r, rep, e, "write");
            continue;
        }
        res[i] = rep->integer == 1 ? 0 : 1;
        freeReplyObject(rep);
    }
    return rc;
}

/* Compare-and-sets of a batch in one round trip (two if the script must be loaded). */
static int rd_cas_many(struct lazy_store *s, const struct lazy_write *w, size_t n, int *res,
                       struct err *e)
{
    struct rd_store *r = (struct rd_store *)s;
    for (size_t i = 0; i < n; i++)
        res[i] = 2;
    if (rd_send(r, w, n, res, e) < 0)
        return -1;
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < n; i++) {
            if (res[i] != 2)
                continue;
            if (round == 1)
                return err_set(e, "redis '%s': write: NOSCRIPT right after loading the script",
                               r->prefix);
            /* the server forgot the script: load it and send those again */
            if (rd_load_script(r, e) < 0 || rd_send(r, w, n, res, e) < 0)
                return -1;
            break;
        }
    return 0;
}

static int rd_cas(struct lazy_store *s, const struct lazy_raw *old, const char *text,
                  const struct lazy_child *kids, size_t nkids, struct err *e)
{
    struct lazy_write w = {
        .old = old, .text = (char *)text, .kids = (struct lazy_child *)kids, .nkids = nkids};
    int res = 2;
    return rd_cas_many(s, &w, 1, &res, e) < 0 ? -1 : res;
}

static int rd_put(struct lazy_store *s, const char *id, const char *text, struct err *e)
{
    struct rd_store *r = (struct rd_store *)s;
    redisReply *rep = redisCommand(r->c, "SET %s:%s %s", r->prefix, id, text);
    if (!rep || rep->type != REDIS_REPLY_STATUS)
        return rd_fail(r, rep, e, "write");
    freeReplyObject(rep);
    return 0;
}

/* One SCAN step from cursor `pos` ("" = 0), then the values by MGET. Keys deleted in
 * between are left out. The position is the next cursor; "" once SCAN says 0. */
static int rd_scan(struct lazy_store *s, const char *pos, size_t batch, struct lazy_batch *out,
                   struct err *e)
{
    struct rd_store *r = (struct rd_store *)s;
    char cursor[32];
    snprintf(cursor, sizeof(cursor), "%s", pos[0] ? pos : "0");
    char count[24];
    snprintf(count, sizeof(count), "%zu", batch);
    redisReply *rep = redisCommand(r->c, "SCAN %s MATCH %s:* COUNT %s", cursor, r->prefix, count);
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
        rep->element[0]->type != REDIS_REPLY_STRING || rep->element[1]->type != REDIS_REPLY_ARRAY)
        return rd_fail(r, rep, e, "scan");
    redisReply *keys = rep->element[1];
    out->next[0] = 0;
    if (strcmp(rep->element[0]->str, "0") != 0)
        snprintf(out->next, sizeof(out->next), "%s", rep->element[0]->str);
    size_t plen = strlen(r->prefix) + 1;
    int rc = 0;
    if (keys->elements > 0) {
        const char **argv = calloc(keys->elements + 1, sizeof(*argv));
        size_t *lens = calloc(keys->elements + 1, sizeof(*lens));
        if (!argv || !lens) {
            free(argv);
            free(lens);
            freeReplyObject(rep);
            return err_set(e, "out of memory");
        }
        argv[0] = "MGET";
        lens[0] = 4;
        for (size_t i = 0; i < keys->elements; i++) {
            argv[i + 1] = keys->element[i]->str;
            lens[i + 1] = keys->element[i]->len;
        }
        redisReply *vals = redisCommandArgv(r->c, (int)keys->elements + 1, argv, lens);
        free(argv);
        free(lens);
        if (!vals || vals->type != REDIS_REPLY_ARRAY || vals->elements != keys->elements) {
            freeReplyObject(rep);
            return rd_fail(r, vals, e, "read");
        }
        for (size_t i = 0; i < vals->elements && rc == 0; i++) {
            redisReply *k = keys->element[i], *v = vals->element[i];
            if (v->type != REDIS_REPLY_STRING || k->len <= plen || k->len - plen > LAZY_ID_MAX)
                continue;
            if (strlen(v->str) != v->len) /* an embedded NUL: keep it visible as not JSON */
                rc = lazy_batch_push(out, k->str + plen, "\"embedded NUL\"", 0, e);
            else
                rc = lazy_batch_push(out, k->str + plen, v->str, 0, e);
        }
        freeReplyObject(vals);
    }
    freeReplyObject(rep);
    return rc;
}

static int rd_state_load(struct lazy_store *s, int *pass, char *pos, size_t size, struct err *e)
{
    struct rd_store *r = (struct rd_store *)s;
    *pass = 0;
    pos[0] = 0;
    redisReply *rep = redisCommand(r->c, "GET %s", r->state_key);
    if (!rep || (rep->type != REDIS_REPLY_STRING && rep->type != REDIS_REPLY_NIL))
        return rd_fail(r, rep, e, "read sweep position");
    if (rep->type == REDIS_REPLY_STRING) {
        char cur[32] = "";
        if (sscanf(rep->str, "%d %31s", pass, cur) >= 1)
            snprintf(pos, size, "%s", cur);
    }
    freeReplyObject(rep);
    return 0;
}

static int rd_state_save(struct lazy_store *s, int pass, const char *pos, struct err *e)
{
    struct rd_store *r = (struct rd_store *)s;
    redisReply *rep =
        pass ? redisCommand(r->c, "SET %s %d%s%s", r->state_key, pass, pos[0] ? " " : "", pos)
             : redisCommand(r->c, "DEL %s", r->state_key);
    if (!rep || rep->type == REDIS_REPLY_ERROR)
        return rd_fail(r, rep, e, "save sweep position");
    freeReplyObject(rep);
    return 0;
}

static void rd_close(struct lazy_store *s)
{
    struct rd_store *r = (struct rd_store *)s;
    if (r->c)
        redisFree(r->c);
    free(r);
}

static const struct lazy_store_ops rd_ops = {
    .kind = "redis",
    .scan_repeats = 1,
    .get = rd_get,
    .cas = rd_cas,
    .cas_many = rd_cas_many,
    .put = rd_put,
    .scan = rd_scan,
    .state_load = rd_state_load,
    .state_save = rd_state_save,
    .close = rd_close,
};

int lazy_redis_open(const char *host, int port, const char *prefix, struct lazy_store **out,
                    struct err *e)
{
    struct rd_store *r = lazy_store_new(sizeof(*r), &rd_ops, prefix, e);
    if (!r)
        return -1;
    snprintf(r->prefix, sizeof(r->prefix), "%s", prefix);
    /* no ':' in it, so it never matches the PREFIX:* pattern of a collection */
    snprintf(r->state_key, sizeof(r->state_key), "baton_lazy_sweep.%s", prefix);
    struct timeval tv = {REDIS_TIMEOUT_S, 0};
    r->c = redisConnectWithTimeout(host, port, tv);
    if (!r->c || r->c->err) {
        err_set(e, "cannot connect to redis '%s:%d': %s", host, port,
                r->c ? r->c->errstr : "out of memory");
        rd_close(&r->base);
        return -1;
    }
    redisSetTimeout(r->c, tv);
    if (rd_load_script(r, e) < 0) {
        rd_close(&r->base);
        return -1;
    }
    *out = &r->base;
    return 0;
}
