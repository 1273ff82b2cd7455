/* Reading and writing one document: read, upgrade, let the caller change it, and write
 * it back with its moved parts by compare-and-set, redone from a fresh read on conflict
 * so that a concurrent write is never lost. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lazy/lazy_int.h"

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

int lazy_write_prepare(struct lazy_write *w, const struct lazy_raw *old, const json_t *doc,
                       json_t *moved, struct err *e)
{
    memset(w, 0, sizeof(*w));
    w->old = old;
    size_t n = moved ? json_object_size(moved) : 0;
    w->text = json_dumps(doc, JSON_COMPACT);
    if (n) {
        w->kids = calloc(n, sizeof(*w->kids));
        w->kid_owned = calloc(2 * n, sizeof(*w->kid_owned));
    }
    if (!w->text || (n && (!w->kids || !w->kid_owned)))
        return err_set(e, "document '%s': cannot serialize", old->id);
    const char *coll;
    json_t *child;
    json_object_foreach(moved, coll, child)
    {
        char *t = json_dumps(child, JSON_COMPACT), *c = strdup(coll);
        w->kid_owned[2 * w->nkids] = t;
        w->kid_owned[2 * w->nkids + 1] = c;
        w->kids[w->nkids++] = (struct lazy_child){c, old->id, t};
        if (!t || !c)
            return err_set(e, "document '%s': cannot serialize", old->id);
    }
    return 0;
}

void lazy_write_clear(struct lazy_write *w)
{
    for (size_t i = 0; w->kid_owned && i < 2 * w->nkids; i++)
        free(w->kid_owned[i]);
    free(w->kid_owned);
    free(w->kids);
    free(w->text);
    memset(w, 0, sizeof(*w));
}

/* Reads, upgrades and (through fn) changes the document for one attempt: 0 with *doc and
 * *moved set, or a LAZY_E code. A *cur (and *doc) already set stands for the read. */
static int read_upgrade_modify(struct lazy_store *s, const struct lazy_chain *c, const char *id,
                               const struct lazy_raw **cur, struct lazy_raw *raw, json_t **doc,
                               json_t **moved, int *changed, lazy_modify_fn fn, void *arg,
                               struct err *e)
{
    int rc;
    if (!*cur) {
        rc = s->ops->get(s, id, raw, e);
        if (rc == LAZY_ENOTFOUND)
            err_set(e, "document '%s' not found in '%s'", id, s->collection);
        if (rc < 0)
            return rc;
        *cur = raw;
    }
    if (!*doc && (rc = lazy_doc_parse((*cur)->text, doc, e)) < 0)
        return err_wrap(e, "document '%s' in '%s'", id, s->collection), rc;
    struct lazy_error le;
    int steps = lazy_upgrade(c, id, *doc, moved, &le);
    if (steps < 0)
        return err_set(e, "%s", le.msg), steps;
    *changed = steps > 0;
    if (!fn)
        return 0;
    char msg[256] = "";
    int r = fn(*doc, arg, msg, sizeof(msg));
    if (r < 0)
        return err_set(e, "document '%s': %s", id, msg[0] ? msg : "update failed");
    if (r == 0)
        *changed = 1;
    if (!json_is_object(*doc) ||
        json_integer_value(json_object_get(*doc, "_version")) != lazy_chain_latest(c))
        return err_set(e, "document '%s': the update changed '_version'", id);
    return 0;
}

int lazy_read_modify_write(struct lazy_store *s, const struct lazy_chain *c, const char *id,
                           const struct lazy_raw *first, json_t *first_doc, lazy_modify_fn fn,
                           void *arg, json_t **out, int *wrote, size_t *conflicts, struct err *e)
{
    struct lazy_raw raw = {0};
    struct lazy_write w = {0};
    json_t *doc = first ? first_doc : NULL, *moved = NULL;
    const struct lazy_raw *cur = first;
    int rc = 0;
    if (!first)
        json_decref(first_doc);
    *wrote = 0;
    if (out)
        *out = NULL;
    for (int attempt = 0;; attempt++) {
        int changed = 0;
        rc = read_upgrade_modify(s, c, id, &cur, &raw, &doc, &moved, &changed, fn, arg, e);
        if (rc < 0 || !changed)
            break;
        if ((rc = lazy_write_prepare(&w, cur, doc, moved, e)) < 0)
            break;
        rc = s->ops->cas(s, cur, w.text, w.kids, w.nkids, e);
        lazy_write_clear(&w);
        json_decref(moved);
        moved = NULL;
        if (rc <= 0) {
            *wrote = rc == 0;
            break;
        }
        (*conflicts)++;
        json_decref(doc);
        doc = NULL;
        cur = NULL;
        lazy_raw_clear(&raw);
        if (attempt + 1 == LAZY_CAS_RETRIES) {
            rc = LAZY_ECONFLICT;
            err_set(e, "document '%s': gave up after %d conflicting writes", id, LAZY_CAS_RETRIES);
            break;
        }
    }
    if (rc == 0 && out) {
        *out = doc;
        doc = NULL;
    }
    json_decref(doc);
    json_decref(moved);
    lazy_write_clear(&w);
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

/* lazy_get and lazy_update: one read-upgrade-(modify)-write of a checked id, its error
 * handed to the public struct. */
static int read_modify_write_id(struct lazy_store *s, const struct lazy_chain *c, const char *id,
                                lazy_modify_fn fn, void *arg, json_t **out, struct lazy_error *le)
{
    struct err e = {{0}};
    int wrote;
    size_t conflicts = 0;
    int rc = id_ok(id, &e);
    if (rc == 0)
        rc = lazy_read_modify_write(s, c, id, NULL, NULL, fn, arg, out, &wrote, &conflicts, &e);
    if (rc < 0)
        lazy_error_from(le, &e);
    return rc;
}

int lazy_get(struct lazy_store *s, const struct lazy_chain *c, const char *id, json_t **out,
             struct lazy_error *le)
{
    return read_modify_write_id(s, c, id, NULL, NULL, out, le);
}

int lazy_update(struct lazy_store *s, const struct lazy_chain *c, const char *id,
                int (*fn)(json_t *doc, void *arg, char *msg, size_t msg_size), void *arg,
                struct lazy_error *le)
{
    return read_modify_write_id(s, c, id, fn, arg, NULL, le);
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
        lazy_error_from(le, &e);
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
        lazy_error_from(le, &e);
    return rc;
}
