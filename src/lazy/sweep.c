/* The sweep: every document of a collection brought to the latest version in throttled
 * batches, the position saved with each batch's writes so that a crash resumes there.
 *
 * A batch, on a SQL store whose chain compiles (sqlplan.c), is one statement over the
 * batch's id range that upgrades the documents at the versions the plan covers, in the
 * database; the documents it leaves (malformed, older than the plan, changed meanwhile)
 * are then read and taken one by one. Elsewhere (Redis, custom steps) each document is
 * read, upgraded in C and written back by compare-and-set, all of a batch's writes in one
 * round trip where the store can.
 *
 * Passes:  start (or saved pass P at position X)
 *            -> batches until the end of the collection
 *            -> SQL stores: one query for documents still below the latest version (added
 *               behind the cursor meanwhile, or during this very pass); any that was not
 *               already reported malformed brings another pass from the start.
 *               Redis: a pass that upgraded something or began mid-way brings another
 *               (catches keys a SCAN missed)
 *            -> at most LAZY_SWEEP_PASSES passes; saved position cleared. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "lazy/lazy_int.h"

#define LAZY_SWEEP_PASSES 5
#define LAZY_SEEN_MAX     100000

/* Ids of documents already reported as malformed in this sweep, so that a later pass
 * neither reports nor counts them again (capped: past the cap, repeats are possible). */
struct seen {
    char **ids;
    size_t n, cap;
};

struct sweep {
    struct lazy_store *s;
    const struct lazy_chain *c;
    const struct lazy_sweep_opts *o;
    struct lazy_sweep_report *r;
    struct lazy_plan plan; /* set-based when plan.from < latest */
    size_t batch;
    size_t pass_upgraded;
    struct seen bad;
    struct err *e;
};

static double now_s(void)
{
    return (double)clock_now_us() / 1e6;
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

static int seen_has(const struct seen *s, const char *id)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->ids[i], id) == 0)
            return 1;
    return 0;
}

/* 1 when the id is new (and now remembered, up to the cap). */
static int seen_add(struct seen *s, const char *id)
{
    if (seen_has(s, id))
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

/* The outcome of one document's upgrade: counted, or reported once when malformed.
 * Returns -1 on a failure that stops the sweep (e filled). */
static int outcome(struct sweep *w, const char *id, int rc, int wrote, const struct err *de)
{
    if (rc == 0) {
        if (wrote) {
            w->r->upgraded++;
            w->pass_upgraded++;
        } else {
            w->r->current++; /* upgraded by someone else meanwhile */
        }
        return 0;
    }
    if (rc == LAZY_ENOTFOUND)
        return 0; /* deleted meanwhile */
    if (rc == LAZY_EMALFORMED) {
        if (!seen_add(&w->bad, id))
            return 0;
        w->r->malformed++;
        if (w->o->on_skip)
            w->o->on_skip(id, without_subject(de->msg, id, w->s->collection), w->o->arg);
        return 0;
    }
    return err_set(w->e, "%s", de->msg);
}

/* Reads and upgrades one document in memory: 1 with *w filled when it must be written,
 * 0 when it is current, or a LAZY_E code (de filled). */
static int upgrade_one(struct sweep *sw, struct lazy_raw *raw, struct lazy_write *w, struct err *de)
{
    json_t *doc = NULL, *moved = NULL;
    int v = 0;
    const char *kind = NULL;
    int rc = lazy_doc_parse(raw->text, &doc, de);
    if (rc == 0)
        rc = lazy_doc_version(sw->c, doc, &v, &kind, de);
    if (rc == 0 && v == lazy_chain_latest(sw->c)) {
        json_decref(doc);
        return 0;
    }
    if (rc == 0) {
        struct lazy_error le;
        rc = lazy_upgrade(sw->c, raw->id, doc, &moved, &le);
        if (rc < 0)
            err_set(de, "%s", le.msg);
    }
    if (rc >= 0)
        rc = lazy_write_prepare(w, raw, doc, moved, de) < 0 ? -1 : 1;
    json_decref(doc);
    json_decref(moved);
    return rc;
}

/* The documents of a batch one by one: each upgraded in memory, all the writes sent
 * together (one round trip where the store can), the conflicting ones redone alone from
 * a fresh read. */
static int docs_batch(struct sweep *sw, struct lazy_batch *b)
{
    struct lazy_write *ws = calloc(b->n + 1, sizeof(*ws));
    int *res = calloc(b->n + 1, sizeof(*res));
    size_t nw = 0;
    int rc = ws && res ? 0 : err_set(sw->e, "out of memory");
    for (size_t i = 0; rc == 0 && i < b->n; i++) {
        struct err de = {{0}};
        sw->r->examined++;
        int up = upgrade_one(sw, &b->items[i], &ws[nw], &de);
        if (up == 0)
            sw->r->current++;
        else if (up == 1)
            nw++;
        else
            rc = outcome(sw, b->items[i].id, up, 0, &de);
    }
    if (rc == 0 && nw && sw->s->ops->cas_many)
        rc = sw->s->ops->cas_many(sw->s, ws, nw, res, sw->e);
    for (size_t i = 0; rc == 0 && !sw->s->ops->cas_many && i < nw; i++)
        if ((res[i] =
                 sw->s->ops->cas(sw->s, ws[i].old, ws[i].text, ws[i].kids, ws[i].nkids, sw->e)) < 0)
            rc = -1;
    for (size_t i = 0; rc == 0 && i < nw; i++) {
        struct err de = {{0}};
        int wrote = res[i] == 0, r = 0;
        if (!wrote) { /* changed since the batch was read: again from a fresh read */
            sw->r->conflicts++;
            r = lazy_read_modify_write(sw->s, sw->c, ws[i].old->id, NULL, NULL, NULL, NULL, NULL,
                                       &wrote, &sw->r->conflicts, &de);
        }
        rc = outcome(sw, ws[i].old->id, r, wrote, &de);
    }
    for (size_t i = 0; ws && i < b->n; i++)
        lazy_write_clear(&ws[i]);
    free(ws);
    free(res);
    return rc;
}

/* A set-based batch: the plan's statement over the ids after `pos`, then the documents it
 * left below the latest version one by one. `next` gets the position after the batch. */
static int set_batch(struct sweep *sw, const char *pos, char *next, size_t next_size)
{
    struct lazy_store *s = sw->s;
    struct lazy_batch left = {0};
    char last[LAZY_POS_MAX];
    size_t count = 0, up = 0;
    next[0] = 0;
    if (s->ops->range(s, pos, sw->batch, last, sizeof(last), &count, sw->e) < 0)
        return -1;
    if (count == 0)
        return 0;
    int rc = s->ops->plan_run(s, &sw->plan, pos, last, &up, sw->e);
    /* when the statement upgraded the whole range, nothing is left to look at */
    if (rc == 0 && up < count)
        rc = s->ops->stale(s, lazy_chain_latest(sw->c), pos, last, 0, &left, sw->e);
    if (rc == 0) {
        size_t done = up + left.n; /* the rest of the range was current */
        sw->r->upgraded += up;
        sw->pass_upgraded += up;
        sw->r->examined += count > left.n ? count - left.n : 0;
        sw->r->current += count > done ? count - done : 0;
        rc = docs_batch(sw, &left);
    }
    lazy_batch_clear(&left);
    free(left.items);
    if (rc == 0 && count == sw->batch)
        snprintf(next, next_size, "%s", last);
    return rc;
}

/* One batch after `pos` inside the store's batch transaction (where it has one), with
 * the position after it, saved in the same transaction. */
static int one_batch(struct sweep *sw, const char *pos, char *next, size_t next_size, int save_pass)
{
    struct lazy_store *s = sw->s;
    struct lazy_batch b = {0};
    int in_tx = s->ops->batch != NULL, rc = 0;
    if (in_tx && s->ops->batch(s, LAZY_BATCH_BEGIN, sw->e) < 0)
        return -1;
    if (sw->plan.from < lazy_chain_latest(sw->c)) {
        rc = set_batch(sw, pos, next, next_size);
    } else if ((rc = s->ops->scan(s, pos, sw->batch, &b, sw->e)) == 0) {
        rc = docs_batch(sw, &b);
        snprintf(next, next_size, "%s", b.next);
    }
    lazy_batch_clear(&b);
    free(b.items);
    /* at the end of a pass, the next pass is saved; done clears it afterwards */
    if (rc == 0)
        rc = s->ops->state_save(s, save_pass + !next[0], next, sw->e);
    if (rc == 0 && in_tx)
        rc = s->ops->batch(s, LAZY_BATCH_COMMIT, sw->e);
    if (rc < 0 && in_tx)
        s->ops->batch(s, LAZY_BATCH_ROLLBACK, NULL);
    return rc;
}

/* After a pass: *another = 1 when another is needed. `quiet`: the pass began at the
 * start and no one else wrote meanwhile, so it left nothing behind. */
static int again(struct sweep *sw, int midway, int quiet, int *another)
{
    struct lazy_store *s = sw->s;
    *another = 0;
    if (!s->ops->stale) {
        *another = sw->pass_upgraded > 0 || midway;
        return 0;
    }
    if (quiet)
        return 0;
    struct lazy_batch b = {0};
    int rc = s->ops->stale(s, lazy_chain_latest(sw->c), "", NULL, sw->bad.n + 1, &b, sw->e);
    for (size_t i = 0; rc == 0 && i < b.n && !*another; i++)
        *another = !seen_has(&sw->bad, b.items[i].id);
    lazy_batch_clear(&b);
    free(b.items);
    return rc;
}

/* Makes sure the collections that move steps write to exist before any transaction. */
static int prepare_moves(struct lazy_store *s, const struct lazy_chain *c, struct err *e)
{
    for (int i = 0; i < c->nversions; i++)
        for (int j = 0; j < c->versions[i].nsteps; j++)
            if (c->versions[i].steps[j].op == LAZY_OP_MOVE && s->ops->ensure &&
                s->ops->ensure(s, c->versions[i].steps[j].collection, e) < 0)
                return -1;
    return 0;
}

static int sweep_run(struct sweep *sw)
{
    struct lazy_store *s = sw->s;
    char pos[LAZY_POS_MAX] = "", next[LAZY_POS_MAX];
    int pass = 0;
    if (s->ops->state_load(s, &pass, pos, sizeof(pos), sw->e) < 0)
        return -1;
    if (sw->o->restart || pass <= 0) {
        pass = 1;
        pos[0] = 0;
    } else {
        sw->r->resumed = 1;
    }
    int first_pass = pass, midway = pos[0] != 0;
    int64_t mark = 0, now = -1; /* others' writes: at the start of the pass, at its end */
    double start = now_s();
    sw->plan.from = lazy_chain_latest(sw->c);
    if (prepare_moves(s, sw->c, sw->e) < 0 ||
        (s->ops->plan_build && s->ops->plan_build(s, sw->c, &sw->plan, sw->e) < 0))
        return -1;
    for (;;) {
        if (!pos[0] && s->ops->commit_mark && s->ops->commit_mark(s, &mark, sw->e) < 0)
            return -1;
        if (one_batch(sw, pos, next, sizeof(next), pass) < 0)
            return -1;
        snprintf(pos, sizeof(pos), "%s", next);
        if (!pos[0]) {
            int another = 0;
            sw->r->passes++;
            if (s->ops->commit_mark && s->ops->commit_mark(s, &now, sw->e) < 0)
                return -1;
            if (pass - first_pass + 1 < LAZY_SWEEP_PASSES &&
                again(sw, midway, !midway && now == mark, &another) < 0)
                return -1;
            if (!another) {
                sw->r->complete = 1;
                if (s->ops->state_save(s, 0, "", sw->e) < 0)
                    return -1;
            }
            pass++;
            midway = 0;
            sw->pass_upgraded = 0;
        }
        if (sw->o->on_batch)
            sw->o->on_batch(sw->r, sw->o->arg);
        if (sw->r->complete || (sw->o->max_docs && sw->r->examined >= sw->o->max_docs))
            return 0;
        throttle(start, sw->r->examined, sw->o->rate);
    }
}

int lazy_sweep(struct lazy_store *s, const struct lazy_chain *c, const struct lazy_sweep_opts *opts,
               struct lazy_sweep_report *r, struct lazy_error *le)
{
    static const struct lazy_sweep_opts defaults = {0};
    struct err e = {{0}};
    struct sweep sw = {.s = s, .c = c, .o = opts ? opts : &defaults, .r = r, .e = &e};
    memset(r, 0, sizeof(*r));
    sw.batch = sw.o->batch ? sw.o->batch : 500;
    if (sw.batch > 100000)
        sw.batch = 100000;
    int rc = sweep_run(&sw);
    lazy_plan_free(&sw.plan);
    seen_free(&sw.bad);
    if (rc < 0)
        lazy_error_from(le, &e);
    return rc;
}
