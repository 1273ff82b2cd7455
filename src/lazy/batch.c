/* What the store drivers share: the allocation of their store, and the small buffers
 * they fill: one stored document (struct lazy_raw) and a batch of them read from a store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lazy/lazy_int.h"

void *lazy_store_new(size_t size, const struct lazy_store_ops *ops, const char *collection,
                     struct err *e)
{
    struct lazy_store *s = calloc(1, size);
    if (!s) {
        err_set(e, "out of memory");
        return NULL;
    }
    s->ops = ops;
    snprintf(s->collection, sizeof(s->collection), "%s", collection);
    return s;
}

void lazy_raw_clear(struct lazy_raw *r)
{
    free(r->id);
    free(r->text);
    r->id = r->text = NULL;
    r->rev = 0;
}

void lazy_batch_clear(struct lazy_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        lazy_raw_clear(&b->items[i]);
    b->n = 0;
    b->next[0] = 0;
}

int lazy_batch_push(struct lazy_batch *b, const char *id, const char *text, int64_t rev,
                    struct err *e)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        struct lazy_raw *items = realloc(b->items, cap * sizeof(*items));
        if (!items)
            return err_set(e, "out of memory");
        b->items = items;
        b->cap = cap;
    }
    struct lazy_raw *r = &b->items[b->n];
    r->id = strdup(id);
    r->text = strdup(text);
    r->rev = rev;
    if (!r->id || !r->text) {
        lazy_raw_clear(r);
        return err_set(e, "out of memory");
    }
    b->n++;
    return 0;
}
