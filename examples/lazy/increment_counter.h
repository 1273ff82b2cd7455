/* The modification the lazy example programs make: add 1 to a document's "counter" field,
 * refusing a "counter" that is not an integer. A lazy_update callback (lazy_counter.c and
 * the test writer tests/integration/lazy/mixed_writer.c). */
#ifndef BATON_EXAMPLE_INCREMENT_COUNTER_H
#define BATON_EXAMPLE_INCREMENT_COUNTER_H

#include <stdio.h>

#include <baton/lazy.h>

static int increment_counter(json_t *doc, void *arg, char *msg, size_t size)
{
    (void)arg;
    json_t *v = json_object_get(doc, "counter");
    if (v && !json_is_integer(v)) {
        snprintf(msg, size, "'counter' is not an integer");
        return -1;
    }
    return json_object_set_new(doc, "counter", json_integer(json_integer_value(v) + 1));
}

#endif
