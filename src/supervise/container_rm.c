/* Container removals on the loop: one probe per container name, retried after a pause
 * when the engine fails, logged when done. */
#include "supervise/container_rm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/spawn.h"
#include "supervise/container.h"
#include "supervise/probe.h"

#define RM_TIMEOUT_MS 60000
#define RM_RETRY_MS   1000
#define RM_TRIES      4

struct rm_job {
    struct rm_job *next;
    struct container_rm *owner;
    char **argv;
    char name[CONTAINER_NAME_MAX];
    struct probe *probe; /* NULL while waiting to retry */
    struct timer retry;
    int tries;
};

struct container_rm {
    struct loop *loop;
    struct rm_job *jobs;
    void (*idle)(void *data);
    void *data;
};

int container_rm_new(struct container_rm **out, struct loop *loop, void (*idle)(void *data),
                     void *data, struct err *e)
{
    struct container_rm *r = calloc(1, sizeof(*r));
    if (!r)
        return err_set(e, "cannot start: out of memory");
    *r = (struct container_rm){.loop = loop, .idle = idle, .data = data};
    *out = r;
    return 0;
}

static void job_free(struct container_rm *r, struct rm_job *j)
{
    for (struct rm_job **p = &r->jobs; *p; p = &(*p)->next)
        if (*p == j) {
            *p = j->next;
            break;
        }
    timer_stop(r->loop, &j->retry);
    if (j->probe)
        probe_cancel(j->probe);
    spawn_argv_free(j->argv);
    free(j);
}

void container_rm_free(struct container_rm *r)
{
    if (!r)
        return;
    while (r->jobs)
        job_free(r, r->jobs);
    free(r);
}

int container_rm_pending(const struct container_rm *r)
{
    int n = 0;
    for (const struct rm_job *j = r->jobs; j; j = j->next)
        n++;
    return n;
}

static void job_run(struct rm_job *j);

static void on_retry(struct loop *loop, struct timer *t)
{
    job_run(t->data);
}

static void on_done(struct probe *p, int ok, const char *what, const char *out, void *data)
{
    struct rm_job *j = data;
    struct container_rm *r = j->owner;
    j->probe = NULL;
    if (!ok && j->tries < RM_TRIES) {
        log_warn("container '%s': '%s rm' %s; trying again in %d ms", j->name, j->argv[0], what,
                 RM_RETRY_MS);
        timer_start(r->loop, &j->retry, RM_RETRY_MS, on_retry, j);
        return;
    }
    if (ok)
        log_info("container '%s' removed", j->name);
    else
        log_error("container '%s': '%s rm' %s; giving up (remove it by hand)", j->name, j->argv[0],
                  what);
    job_free(r, j);
    if (!r->jobs && r->idle)
        r->idle(r->data);
}

static void job_run(struct rm_job *j)
{
    struct err e;
    j->tries++;
    if (probe_start(&j->probe, j->owner->loop, j->argv, NULL, RM_TIMEOUT_MS, on_done, j, &e) < 0) {
        j->probe = NULL;
        on_done(NULL, 0, e.msg, "", j);
    }
}

void container_rm_start(struct container_rm *r, char *const *argv, const char *name)
{
    struct rm_job *j = calloc(1, sizeof(*j));
    if (j)
        j->argv = container_rm_argv(argv, name);
    if (!j || !j->argv) {
        free(j);
        log_error("container '%s': cannot remove it: out of memory", name);
        return;
    }
    j->owner = r;
    snprintf(j->name, sizeof(j->name), "%s", name);
    j->next = r->jobs;
    r->jobs = j;
    log_info("container '%s': removing it ('%s rm')", name, argv[0]);
    job_run(j);
}

void container_rm_generation(struct container_rm *r, char *const *argv, const char *instance,
                             unsigned gen_id, int nslots)
{
    struct err e;
    if (container_check(argv, &e) != 1)
        return;
    for (int i = 0; i < nslots; i++) {
        char name[CONTAINER_NAME_MAX];
        container_name(name, sizeof(name), instance, gen_id, i, nslots);
        container_rm_start(r, argv, name);
    }
}
