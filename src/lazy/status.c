/* Whole-collection reads: the per-version status (one streaming scan) and an ordered walk
 * over the stored texts (for dumps and tests). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lazy/lazy_int.h"

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
        lazy_error_from(le, &e);
    return rc;
}

/* A document's class for status: 0..nversions-1 its version - base, nversions + k a malformed kind.
 */
static const char *const bad_kinds[4] = {"not_json", "no_version", "older", "newer"};

static int classify(const struct lazy_chain *c, const char *text)
{
    int nversions = lazy_chain_latest(c) - lazy_chain_base(c) + 1;
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
            return nversions + k;
    return nversions;
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
    int nversions = lazy_chain_latest(c) - lazy_chain_base(c) + 1;
    size_t *counts = calloc((size_t)nversions + 4, sizeof(*counts));
    size_t total = 0;
    *out = NULL;
    int rc = counts ? count_classes(s, c, counts, &total, &e) : err_set(&e, "out of memory");
    if (rc == 0) {
        json_t *st = json_object(), *vers = json_object(), *bad = json_object();
        for (int i = 0; i < nversions; i++) {
            char key[16];
            snprintf(key, sizeof(key), "%d", lazy_chain_base(c) + i);
            json_object_set_new(vers, key, json_integer((json_int_t)counts[i]));
        }
        for (int k = 0; k < 4; k++)
            json_object_set_new(bad, bad_kinds[k], json_integer((json_int_t)counts[nversions + k]));
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
        lazy_error_from(le, &e);
    return rc;
}
