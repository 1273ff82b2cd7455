/* Reading and writing one document: read, upgrade, let the caller change it, and write
 * it back with its moved parts by compare-and-set, redone from a fresh read on conflict
 * so that a concurrent write is never lost. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lazy/lazy_int.h"

static void to_public(struct lazy_error *le, const struct err *e)
{
    if (le)
        snprintf(le->msg, sizeof(le->msg), "%s", e->msg);
}

int lazy_doc_parse(const char *text, json_t **out, struct err *e)
{
    json_error_t je;
    *out = NULL;
    size_t len = strlen(text);
    if (len > LAZY_DOC_MAX_BYTES)
        return err_set(e, "larger than %u bytes", LAZY_DOC_MAX_BYTES), LAZY_EMALFORMED;
    *out = json_loadb(text, len, 0, &je);
    if (!*out) {
        err_set(e, "not JSON (column %d: %s)", je.column, je.text);
        return LAZY_EMALFORMED;
    }
    return 0;
}

/* Serializes the moved parts into children of the parent's write. */
static int kids_build(json_t *moved, const char *id, struct lazy_child *kids, char **texts,
                      size_t *n, struct err *e)
{
    const char *coll;
    json_t *child;
    *n = 0;
    json_object_foreach(moved, coll, child)
    {
        if (*n == 64)
            return err_set(e, "more than 64 moved parts");
        texts[*n] = json_dumps(child, JSON_COMPACT);
        if (!texts[*n])
            return err_set(e, "out of memory");
        kids[*n] = (struct lazy_child){coll, id, texts[*n]};
        (*n)++;
    }
    return 0;
}

int lazy_rmw(struct lazy_store *s, const struct lazy_chain *c, const char *id,
             const struct lazy_raw *first, json_t *first_doc, lazy_modify_fn fn, void *arg,
             json_t **out, int *wrote, size_t *conflicts, struct err *e)
{
    struct lazy_raw raw = {0};
    json_t *doc = NULL, *moved = NULL;
    char *text = NULL;
    char *ktexts[64];
    size_t nk = 0;
    int rc = -1;
    *wrote = 0;
    if (out)
        *out = NULL;
    for (int attempt = 0; attempt < LAZY_CAS_RETRIES; attempt++) {
        const struct lazy_raw *cur = &raw;
        if (attempt == 0 && first) {
            cur = first;
        } else {
            rc = s->ops->get(s, id, &raw, e);
            if (rc == LAZY_ENOTFOUND)
                err_set(e, "document '%s' not found in '%s'", id, s->collection);
            if (rc < 0)
                goto out;
        }
        if (attempt == 0 && first && first_doc) {
            doc = first_doc;
            first_doc = NULL;
            rc = 0;
        } else {
            rc = lazy_doc_parse(cur->text, &doc, e);
        }
        if (rc < 0) {
            err_wrap(e, "document '%s' in '%s'", id, s->collection);
            goto out;
        }
        struct lazy_error le;
        int steps = lazy_upgrade(c, id, doc, &moved, &le);
        if (steps < 0) {
            rc = steps;
            err_set(e, "%s", le.msg);
            goto out;
        }
        int changed = steps > 0;
        if (fn) {
            char msg[256] = "";
            int r = fn(doc, arg, msg, sizeof(msg));
            if (r < 0) {
                rc = err_set(e, "document '%s': %s", id, msg[0] ? msg : "update failed");
                goto out;
            }
            if (r == 0)
                changed = 1;
            if (!json_is_object(doc) ||
                json_integer_value(json_object_get(doc, "_version")) != lazy_chain_latest(c)) {
                rc = err_set(e, "document '%s': the update changed '_version'", id);
                goto out;
            }
        }
        if (!changed)
            break;
        struct lazy_child kids[64];
        text = json_dumps(doc, JSON_COMPACT);
        if (!text || (moved && kids_build(moved, id, kids, ktexts, &nk, e) < 0)) {
            rc = err_set(e, "document '%s': cannot serialize", id);
            goto out;
        }
        int r = s->ops->cas(s, cur, text, kids, nk, e);
        if (r < 0) {
            rc = -1;
            goto out;
        }
        free(text);
        text = NULL;
        for (size_t i = 0; i < nk; i++)
            free(ktexts[i]);
        nk = 0;
        json_decref(moved);
        moved = NULL;
        if (r == 0) {
            *wrote = 1;
            break;
        }
        (*conflicts)++;
        json_decref(doc);
        doc = NULL;
        lazy_raw_clear(&raw);
        if (attempt + 1 == LAZY_CAS_RETRIES) {
            rc = LAZY_ECONFLICT;
            err_set(e, "document '%s': gave up after %d conflicting writes", id, LAZY_CAS_RETRIES);
            goto out;
        }
    }
    rc = 0;
    if (out) {
        *out = doc;
        doc = NULL;
    }
out:
    json_decref(first_doc);
    json_decref(doc);
    json_decref(moved);
    free(text);
    for (size_t i = 0; i < nk; i++)
        free(ktexts[i]);
    lazy_raw_clear(&raw);
    return rc;
}

static int id_ok(const char *id, struct err *e)
{
    size_t n = strlen(id);
    if (n == 0 || n > LAZY_ID_MAX)
        return err_set(e, "document id must have 1 to %d bytes", LAZY_ID_MAX);
    return 0;
}

int lazy_get(struct lazy_store *s, const struct lazy_chain *c, const char *id, json_t **out,
             struct lazy_error *le)
{
    struct err e = {{0}};
    int wrote;
    size_t conflicts = 0;
    int rc = id_ok(id, &e);
    if (rc == 0)
        rc = lazy_rmw(s, c, id, NULL, NULL, NULL, NULL, out, &wrote, &conflicts, &e);
    if (rc < 0)
        to_public(le, &e);
    return rc;
}

int lazy_update(struct lazy_store *s, const struct lazy_chain *c, const char *id,
                int (*fn)(json_t *doc, void *arg, char *msg, size_t msg_size), void *arg,
                struct lazy_error *le)
{
    struct err e = {{0}};
    int wrote;
    size_t conflicts = 0;
    int rc = id_ok(id, &e);
    if (rc == 0)
        rc = lazy_rmw(s, c, id, NULL, NULL, fn, arg, NULL, &wrote, &conflicts, &e);
    if (rc < 0)
        to_public(le, &e);
    return rc;
}

int lazy_put_text(struct lazy_store *s, const char *id, const char *text, struct lazy_error *le)
{
    struct err e = {{0}};
    int rc = id_ok(id, &e);
    if (rc == 0 && strlen(text) > LAZY_DOC_MAX_BYTES)
        rc = err_set(&e, "document '%s' is larger than %u bytes", id, LAZY_DOC_MAX_BYTES);
    if (rc == 0)
        rc = s->ops->put(s, id, text, &e);
    if (rc < 0)
        to_public(le, &e);
    return rc;
}

int lazy_put(struct lazy_store *s, const char *id, const json_t *doc, struct lazy_error *le)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    if (!text) {
        if (le)
            snprintf(le->msg, sizeof(le->msg), "document '%s' cannot be serialized", id);
        return -1;
    }
    int rc = lazy_put_text(s, id, text, le);
    free(text);
    return rc;
}

int lazy_get_text(struct lazy_store *s, const char *id, char **out, struct lazy_error *le)
{
    struct err e = {{0}};
    struct lazy_raw raw = {0};
    *out = NULL;
    int rc = id_ok(id, &e);
    if (rc == 0)
        rc = s->ops->get(s, id, &raw, &e);
    if (rc == LAZY_ENOTFOUND)
        err_set(&e, "document '%s' not found in '%s'", id, s->collection);
    if (rc == 0) {
        *out = raw.text;
        raw.text = NULL;
    }
    lazy_raw_clear(&raw);
    if (rc < 0)
        to_public(le, &e);
    return rc;
}
