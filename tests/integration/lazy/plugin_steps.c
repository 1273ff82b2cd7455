/* A custom-step plugin for the set-based sweep's tests: "noop" changes nothing (a chain
 * ending with it goes one document at a time, the per-document path), "tag" sets
 * "tagged": true. Built by t_lazy_setbased.sh. */
#include <baton/lazy.h>

static int noop(json_t *doc, const char *id, void *arg, char *msg, size_t size)
{
    return 0;
}

static int tag(json_t *doc, const char *id, void *arg, char *msg, size_t size)
{
    return json_object_set_new(doc, "tagged", json_true());
}

const struct lazy_custom baton_lazy_customs[] = {
    {"noop", noop, NULL},
    {"tag", tag, NULL},
    {NULL, NULL, NULL},
};
