/* The upgrade engine: classifies a document's `_version` and applies the chain's steps
 * from there to the latest version, collecting the parts moved to other collections. */
#include <stdio.h>
#include <string.h>

#include "lazy/lazy_int.h"

json_t *lazy_path_get(json_t *doc, const struct lazy_path *p)
{
    json_t *cur = doc;
    for (int i = 0; i < p->depth && cur; i++)
        cur = json_is_object(cur) ? json_object_get(cur, p->seg[i]) : NULL;
    return cur;
}

/* Walks to the object holding the last segment, creating objects on the way when
 * `create` is set; NULL when a part of the way is not an object. */
static json_t *path_parent(json_t *doc, const struct lazy_path *p, int create)
{
    json_t *cur = doc;
    for (int i = 0; i + 1 < p->depth; i++) {
        json_t *next = json_object_get(cur, p->seg[i]);
        if (!next) {
            if (!create)
                return NULL;
            next = json_object();
            if (!next || json_object_set_new(cur, p->seg[i], next) < 0)
                return NULL;
        }
        if (!json_is_object(next))
            return NULL;
        cur = next;
    }
    return cur;
}

int lazy_path_set_new(json_t *doc, const struct lazy_path *p, json_t *v)
{
    json_t *parent = path_parent(doc, p, 1);
    if (!parent) {
        json_decref(v);
        return -1;
    }
    return json_object_set_new(parent, p->seg[p->depth - 1], v);
}

int lazy_path_del(json_t *doc, const struct lazy_path *p)
{
    json_t *parent = path_parent(doc, p, 0);
    if (!parent)
        return 0;
    json_object_del(parent, p->seg[p->depth - 1]);
    return 0;
}

static void path_text(const struct lazy_path *p, char *buf, size_t size)
{
    buf[0] = 0;
    for (int i = 0; i < p->depth; i++)
        snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", i ? "." : "", p->seg[i]);
}

int lazy_doc_version(const struct lazy_chain *c, const json_t *doc, int *version, const char **kind,
                     struct err *e)
{
    json_t *v = json_is_object(doc) ? json_object_get(doc, "_version") : NULL;
    if (!json_is_object(doc)) {
        *kind = "not_json";
        err_set(e, "not a JSON object");
        return LAZY_EMALFORMED;
    }
    if (!v || !json_is_integer(v)) {
        *kind = "no_version";
        err_set(e, v ? "'_version' is not an integer" : "'_version' is missing");
        return LAZY_EMALFORMED;
    }
    json_int_t n = json_integer_value(v);
    if (n > lazy_chain_latest(c)) {
        *kind = "newer";
        err_set(e, "'_version' %lld is newer than the chain's latest version %d", (long long)n,
                lazy_chain_latest(c));
        return LAZY_EMALFORMED;
    }
    if (n < c->base) {
        *kind = "older";
        err_set(e, "'_version' %lld is older than the chain's base version %d", (long long)n,
                c->base);
        return LAZY_EMALFORMED;
    }
    *version = (int)n;
    *kind = NULL;
    return 0;
}

/* Applies one step. A step whose source field is absent does nothing, so that
 * documents that never had the field pass through. */
static int step_apply(const struct lazy_chain *c, const struct lazy_step *st, const char *id,
                      json_t *doc, json_t *moved, struct err *e)
{
    char f[300];
    switch (st->op) {
    case LAZY_OP_ADD:
        if (lazy_path_get(doc, &st->from))
            return 0;
        if (lazy_path_set_new(doc, &st->from, json_deep_copy(st->value)) == 0)
            return 0;
        path_text(&st->from, f, sizeof(f));
        return err_set(e, "cannot add '%s': a part of it is not an object", f);
    case LAZY_OP_RENAME:
    case LAZY_OP_COPY: {
        json_t *v = lazy_path_get(doc, &st->from);
        if (!v)
            return 0;
        json_t *copy = st->op == LAZY_OP_COPY ? json_deep_copy(v) : json_incref(v);
        if (st->op == LAZY_OP_RENAME)
            lazy_path_del(doc, &st->from);
        if (lazy_path_set_new(doc, &st->to, copy) == 0)
            return 0;
        path_text(&st->to, f, sizeof(f));
        return err_set(e, "cannot set '%s': a part of it is not an object", f);
    }
    case LAZY_OP_REMOVE:
        for (int i = 0; i < st->nfields; i++)
            lazy_path_del(doc, &st->fields[i]);
        return 0;
    case LAZY_OP_MOVE: {
        json_t *child = NULL;
        for (int i = 0; i < st->nfields; i++) {
            json_t *v = lazy_path_get(doc, &st->fields[i]);
            if (!v)
                continue;
            if (!child && !(child = json_object()))
                return err_set(e, "out of memory");
            lazy_path_set_new(child, &st->fields[i], json_incref(v));
            lazy_path_del(doc, &st->fields[i]);
        }
        if (!child)
            return 0;
        json_object_set_new(child, st->link, json_string(id));
        json_object_set_new(child, "_version", json_integer(st->child_version));
        json_object_set_new(moved, st->collection, child);
        return 0;
    }
    case LAZY_OP_CUSTOM: {
        char msg[256] = "";
        if (st->custom->fn(doc, id, st->custom->arg, msg, sizeof(msg)) == 0) {
            if (json_is_object(doc))
                return 0;
            snprintf(msg, sizeof(msg), "left something that is not an object");
        }
        return err_set(e, "custom step '%s': %s", st->custom->name, msg[0] ? msg : "failed");
    }
    }
    return err_set(e, "unknown step");
}

int lazy_upgrade(const struct lazy_chain *c, const char *id, json_t *doc, json_t **moved,
                 struct lazy_error *le)
{
    struct err e = {{0}};
    int rc = 0, from = 0;
    const char *kind;
    json_t *mv = NULL;
    if (moved)
        *moved = NULL;
    rc = lazy_doc_version(c, doc, &from, &kind, &e);
    if (rc < 0)
        goto out;
    int steps_left = lazy_chain_latest(c) - from;
    if (steps_left == 0)
        goto out;
    for (int vi = from - c->base; vi < c->nversions; vi++) {
        const struct lazy_version *v = &c->versions[vi];
        for (int si = 0; si < v->nsteps; si++) {
            const struct lazy_step *st = &v->steps[si];
            if (st->op == LAZY_OP_MOVE && !mv) {
                if (!moved) {
                    rc = err_set(&e,
                                 "the chain moves fields to '%s': a place for them is "
                                 "needed",
                                 st->collection);
                    goto out;
                }
                mv = json_object();
            }
            if (step_apply(c, st, id, doc, mv, &e) < 0) {
                err_wrap(&e, "step %d of version %d (%s:%d)", si + 1, v->version, c->name,
                         st->line);
                rc = LAZY_EMALFORMED; /* this document cannot take the step: skip it */
                goto out;
            }
        }
        json_object_set_new(doc, "_version", json_integer(v->version));
    }
    rc = steps_left;
    if (mv && json_object_size(mv) > 0 && moved) {
        *moved = mv;
        mv = NULL;
    }
out:
    json_decref(mv);
    if (rc < 0 && le)
        snprintf(le->msg, sizeof(le->msg), "document '%.200s': %s", id ? id : "", e.msg);
    return rc;
}
