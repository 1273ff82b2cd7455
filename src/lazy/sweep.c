/* Whole-collection work: the sweep (every document brought to the latest version in
 * throttled batches, its position saved after each batch so a crash resumes there),
 * the per-version status, and an ordered walk over the stored texts.
 *
 * Sweep passes:  start (or saved pass P at position X)
 *                  -> batches until the end of the collection
 *                  -> if the pass upgraded something or began mid-way: a new pass from
 *                     the start (catches documents added behind the cursor, keys a Redis
 *                     SCAN missed) -> ... at most LAZY_SWEEP_PASSES passes
 *                  -> saved position cleared. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lazy/lazy_int.h"

#define LAZY_SWEEP_PASSES 5

static void to_public(struct lazy_error *le, const struct err *e)
{
    if (le)
        snprintf(le->msg, sizeof(le->msg), "%s", e->msg);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleeps until `done` documents since `start` fit under `rate` per second. */
static void throttle(double start, size_t done, double rate)
{
    if (rate <= 0)
        return;
    double wait = start + (double)done / rate - now_s();
    if (wait <= 0)
        return;
    struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* All documents of the collection in id order, without repeats (a Redis SCAN may
 * return a key twice): the scan, then a sort. Caller clears the batch. */
static int cmp_raw(const void *a, const void *b)
{
    return strcmp(((const struct lazy_raw *)a)->id, ((const struct lazy_raw *)b)->id);
}

static int read_all(struct lazy_store *s, struct lazy_batch *all, struct err *e)
{
    struct lazy_batch b = {0};
    char pos[sizeof(b.next)] = "";
    int rc = 0;
    for (;;) {
        rc = s->ops->scan(s, pos, 1000, &b, e);
        if (rc < 0)
            break;
        for (size_t i = 0; i < b.n && rc == 0; i++) {
            rc = lazy_batch_push(all, b.items[i].id, b.items[i].text, b.items[i].rev, e);
        }
        snprintf(pos, sizeof(pos), "%s", b.next);
        lazy_batch_clear(&b);
        if (rc < 0 || !pos[0])
            break;
    }
    free(b.items);
    if (rc < 0)
        return -1;
    qsort(all->items, all->n, sizeof(*all->items), cmp_raw);
    size_t w = 0;
    for (size_t i = 0; i < all->n; i++) {
        if (w > 0 && strcmp(all->items[w - 1].id, all->items[i].id) == 0) {
            lazy_raw_clear(&all->items[i]);
            continue;
        }
        all->items[w++] = all->items[i];
    }
    all->n = w;
    return 0;
}

int lazy_each(struct lazy_store *s, int (*fn)(const char *id, const char *text, void *arg),
              void *arg, struct lazy_error *le)
{
    struct err e = {{0}};
    struct lazy_batch all = {0};
    int rc = read_all(s, &all, &e);
    for (size_t i = 0; rc == 0 && i < all.n; i++)
        if (fn(all.items[i].id, all.items[i].text, arg))
            break;
    lazy_batch_clear(&all);
    free(all.items);
    if (rc < 0)
        to_public(le, &e);
    return rc;
}

/* A document's class for status: 0..nv-1 its version - base, nv + k a malformed kind. */
static const char *const bad_kinds[4] = {"not_json", "no_version", "older", "newer"};

static int classify(const struct lazy_chain *c, const char *text)
{
    int nv = lazy_chain_latest(c) - lazy_chain_base(c) + 1;
    json_t *doc;
    int v = 0;
    const char *kind = "not_json";
    struct err de;
    if (lazy_doc_parse(text, &doc, &de) == 0)
        lazy_doc_version(c, doc, &v, &kind, &de);
    else
        doc = NULL;
    json_decref(doc);
    if (!kind)
        return v - lazy_chain_base(c);
    for (int k = 0; k < 4; k++)
        if (strcmp(kind, bad_kinds[k]) == 0)
            return nv + k;
    return nv;
}

struct id_class {
    char *id;
    int cls;
};

static int cmp_id_class(const void *a, const void *b)
{
    return strcmp(((const struct id_class *)a)->id, ((const struct id_class *)b)->id);
}

/* Counts documents per class in one streaming scan. A store whose scan may return a
 * document twice (Redis SCAN) keeps (id, class) pairs and counts each id once. */
static int count_classes(struct lazy_store *s, const struct lazy_chain *c, size_t *counts,
                         size_t *total, struct err *e)
{
    struct lazy_batch b = {0};
    struct id_class *seen = NULL;
    size_t nseen = 0, cap = 0;
    char pos[sizeof(b.next)] = "";
    int rc = 0;
    *total = 0;
    for (;;) {
        if ((rc = s->ops->scan(s, pos, 1000, &b, e)) < 0)
            break;
        for (size_t i = 0; i < b.n && rc == 0; i++) {
            int cls = classify(c, b.items[i].text);
            if (!s->ops->scan_repeats) {
                counts[cls]++;
                (*total)++;
                continue;
            }
            if (nseen == cap) {
                size_t ncap = cap ? cap * 2 : 1024;
                struct id_class *n = realloc(seen, ncap * sizeof(*n));
                if (!n) {
                    rc = err_set(e, "out of memory");
                    break;
                }
                seen = n;
                cap = ncap;
            }
            seen[nseen].id = b.items[i].id; /* taken over from the batch */
            seen[nseen++].cls = cls;
            b.items[i].id = NULL;
        }
        snprintf(pos, sizeof(pos), "%s", b.next);
        lazy_batch_clear(&b);
        if (rc < 0 || !pos[0])
            break;
    }
    if (rc == 0 && nseen) {
        qsort(seen, nseen, sizeof(*seen), cmp_id_class);
        for (size_t i = 0; i < nseen; i++) {
            if (i > 0 && strcmp(seen[i - 1].id, seen[i].id) == 0)
                continue;
            counts[seen[i].cls]++;
            (*total)++;
        }
    }
    for (size_t i = 0; i < nseen; i++)
        free(seen[i].id);
    free(seen);
    lazy_batch_clear(&b);
    free(b.items);
    return rc;
}

int lazy_status(struct lazy_store *s, const struct lazy_chain *c, json_t **out,
                struct lazy_error *le)
{
    struct err e = {{0}};
    int nv = lazy_chain_latest(c) - lazy_chain_base(c) + 1;
    size_t *counts = calloc((size_t)nv + 4, sizeof(*counts));
    size_t total = 0;
    *out = NULL;
    int rc = counts ? count_classes(s, c, counts, &total, &e) : err_set(&e, "out of memory");
    if (rc == 0) {
        json_t *st = json_object(), *vers = json_object(), *bad = json_object();
        for (int i = 0; i < nv; i++) {
            char key[16];
            snprintf(key, sizeof(key), "%d", lazy_chain_base(c) + i);
            json_object_set_new(vers, key, json_integer((json_int_t)counts[i]));
        }
        for (int k = 0; k < 4; k++)
            json_object_set_new(bad, bad_kinds[k], json_integer((json_int_t)counts[nv + k]));
        json_object_set_new(st, "collection", json_string(s->collection));
        json_object_set_new(st, "base", json_integer(lazy_chain_base(c)));
        json_object_set_new(st, "latest", json_integer(lazy_chain_latest(c)));
        json_object_set_new(st, "total", json_integer((json_int_t)total));
        json_object_set_new(st, "versions", vers);
        json_object_set_new(st, "malformed", bad);
        *out = st;
    }
    free(counts);
    if (rc < 0)
        to_public(le, &e);
    return rc;
}

/* Ids of documents already reported as malformed in this sweep, so that a later pass
 * neither reports nor counts them again (capped: past the cap, repeats are possible). */
struct seen {
    char **ids;
    size_t n, cap;
};

#define LAZY_SEEN_MAX 100000

static int seen_add(struct seen *s, const char *id)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->ids[i], id) == 0)
            return 0;
    if (s->n == LAZY_SEEN_MAX)
        return 1;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        char **ids = realloc(s->ids, cap * sizeof(*ids));
        if (!ids)
            return 1;
        s->ids = ids;
        s->cap = cap;
    }
    char *copy = strdup(id);
    if (copy)
        s->ids[s->n++] = copy;
    return 1;
}

static void seen_free(struct seen *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->ids[i]);
    free(s->ids);
}

/* The reason alone: on_skip gets the id separately, so a leading "document 'ID': " or
 * "document 'ID' in 'COLLECTION': " is left out. */
static const char *without_subject(const char *msg, const char *id, const char *coll)
{
    char pre[LAZY_ID_MAX + LAZY_NAME_MAX + 32];
    snprintf(pre, sizeof(pre), "document '%s': ", id);
    if (strncmp(msg, pre, strlen(pre)) == 0)
        return msg + strlen(pre);
    snprintf(pre, sizeof(pre), "document '%s' in '%s': ", id, coll);
    if (strncmp(msg, pre, strlen(pre)) == 0)
        return msg + strlen(pre);
    return msg;
}

/* Handles one document of a batch: skips malformed and current ones, upgrades the rest.
 * Returns 0, or -1 on a store error that stops the sweep. */
static int sweep_one(struct lazy_store *s, const struct lazy_chain *c,
                     const struct lazy_sweep_opts *o, struct lazy_raw *raw,
                     struct lazy_sweep_report *r, size_t *pass_upgraded, struct seen *bad,
                     struct err *e)
{
    struct err de = {{0}};
    json_t *doc;
    int v = 0;
    const char *kind = NULL;
    r->examined++;
    int rc = lazy_doc_parse(raw->text, &doc, &de);
    if (rc == 0)
        rc = lazy_doc_version(c, doc, &v, &kind, &de);
    if (rc == 0 && v == lazy_chain_latest(c)) {
        json_decref(doc);
        r->current++;
        return 0;
    }
    int wrote = 0;
    if (rc == 0) {
        rc = lazy_rmw(s, c, raw->id, raw, doc, NULL, NULL, NULL, &wrote, &r->conflicts, &de);
        doc = NULL; /* taken over */
    }
    json_decref(doc);
    if (rc == 0) {
        if (wrote) {
            r->upgraded++;
            (*pass_upgraded)++;
        } else {
            r->current++; /* upgraded by someone else meanwhile */
        }
        return 0;
    }
    if (rc == LAZY_ENOTFOUND)
        return 0; /* deleted meanwhile */
    if (rc == LAZY_EMALFORMED) {
        if (!seen_add(bad, raw->id))
            return 0;
        r->malformed++;
        if (o->on_skip)
            o->on_skip(raw->id, without_subject(de.msg, raw->id, s->collection), o->arg);
        return 0;
    }
    err_set(e, "%s", de.msg);
    return -1;
}

/* Makes sure the collections that move steps write to exist before any transaction. */
static int prepare_moves(struct lazy_store *s, const struct lazy_chain *c, struct err *e)
{
    for (int i = 0; i < c->nv; i++)
        for (int j = 0; j < c->v[i].nsteps; j++)
            if (c->v[i].steps[j].op == LAZY_OP_MOVE && s->ops->ensure &&
                s->ops->ensure(s, c->v[i].steps[j].collection, e) < 0)
                return -1;
    return 0;
}

int lazy_sweep(struct lazy_store *s, const struct lazy_chain *c, const struct lazy_sweep_opts *opts,
               struct lazy_sweep_report *r, struct lazy_error *le)
{
    static const struct lazy_sweep_opts defaults = {0};
    const struct lazy_sweep_opts *o = opts ? opts : &defaults;
    struct err e = {{0}};
    struct lazy_batch b = {0};
    struct seen bad = {0};
    size_t batch = o->batch ? o->batch : 500;
    char pos[sizeof(b.next)] = "";
    int pass = 0, rc = -1, in_batch = 0;
    memset(r, 0, sizeof(*r));
    if (batch > 100000)
        batch = 100000;
    if (s->ops->state_load(s, &pass, pos, sizeof(pos), &e) < 0)
        goto out;
    if (o->restart || pass <= 0) {
        pass = 1;
        pos[0] = 0;
    } else {
        r->resumed = 1;
    }
    int first_pass = pass;
    int midway = pos[0] != 0;
    size_t pass_upgraded = 0;
    double start = now_s();
    if (prepare_moves(s, c, &e) < 0)
        goto out;
    for (;;) {
        if (s->ops->scan(s, pos, batch, &b, &e) < 0)
            goto out;
        /* a batch's writes and the position after it commit together */
        if (s->ops->batch && s->ops->batch(s, LAZY_BATCH_BEGIN, &e) < 0)
            goto out;
        in_batch = s->ops->batch != NULL;
        for (size_t i = 0; i < b.n; i++)
            if (sweep_one(s, c, o, &b.items[i], r, &pass_upgraded, &bad, &e) < 0)
                goto out;
        snprintf(pos, sizeof(pos), "%s", b.next);
        lazy_batch_clear(&b);
        int done = 0;
        if (!pos[0]) {
            r->passes++;
            int again = (pass_upgraded > 0 || midway) && pass - first_pass + 1 < LAZY_SWEEP_PASSES;
            if (again) {
                pass++;
                midway = 0;
                pass_upgraded = 0;
            } else {
                done = 1;
            }
        }
        if (s->ops->state_save(s, done ? 0 : pass, done ? "" : pos, &e) < 0)
            goto out;
        if (in_batch && s->ops->batch(s, LAZY_BATCH_COMMIT, &e) < 0)
            goto out;
        in_batch = 0;
        r->complete = done;
        if (o->on_batch)
            o->on_batch(r, o->arg);
        if (done || (o->max_docs && r->examined >= o->max_docs))
            break;
        throttle(start, r->examined, o->rate);
    }
    rc = 0;
out:
    if (in_batch)
        s->ops->batch(s, LAZY_BATCH_ROLLBACK, NULL);
    lazy_batch_clear(&b);
    free(b.items);
    seen_free(&bad);
    if (rc < 0)
        to_public(le, &e);
    return rc;
}
