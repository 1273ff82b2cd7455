/* The state file's writer thread: a one-slot mailbox (the newest text wins), a mutex and
 * two condition variables; the file is written by state_write_file (temporary file,
 * then rename, so a reader sees the old state or the new one, never a mix). The thread
 * neither allocates nor frees: a chunk freed there would stay in its own malloc cache
 * (glibc's tcache), out of the loop's reach, and the master's memory would creep up. */
#include "supervise/statefile.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "supervise/state.h"

struct statefile {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t posted_cv, written_cv;
    char *pending; /* the newest text not taken by the thread yet */
    /* Texts written, freed by the loop's thread at its next post: between two posts the
     * thread finishes at most two (the one it was writing and the one posted). */
    char *done[2];
    int ndone;
    uint64_t posted, written; /* texts posted; the number of the last one written */
    int quit;                 /* the thread ends once nothing is pending */
    char path[];
};

static void *writer(void *arg)
{
    struct statefile *sf = arg;
    pthread_mutex_lock(&sf->mu);
    for (;;) {
        while (!sf->pending && !sf->quit)
            pthread_cond_wait(&sf->posted_cv, &sf->mu);
        if (!sf->pending)
            break;
        char *text = sf->pending;
        uint64_t seq = sf->posted;
        sf->pending = NULL;
        pthread_mutex_unlock(&sf->mu);
        struct err e;
        if (state_write_file(sf->path, text, &e) < 0)
            log_warn("cannot save state: %s", e.msg);
        pthread_mutex_lock(&sf->mu);
        if (sf->ndone < 2)
            sf->done[sf->ndone++] = text;
        else
            free(text); /* cannot happen (see done); never lose memory over it */
        sf->written = seq;
        pthread_cond_broadcast(&sf->written_cv);
    }
    pthread_mutex_unlock(&sf->mu);
    return NULL;
}

int statefile_open(struct statefile **out, const char *path, struct err *e)
{
    size_t n = strlen(path);
    struct statefile *sf = calloc(1, sizeof(*sf) + n + 1);
    if (!sf)
        return err_errno(e, ENOMEM, "cannot start the writer of '%s'", path);
    memcpy(sf->path, path, n + 1);
    pthread_mutex_init(&sf->mu, NULL);
    pthread_cond_init(&sf->posted_cv, NULL);
    pthread_cond_init(&sf->written_cv, NULL);
    int rc = pthread_create(&sf->thread, NULL, writer, sf);
    if (rc != 0) {
        pthread_cond_destroy(&sf->written_cv);
        pthread_cond_destroy(&sf->posted_cv);
        pthread_mutex_destroy(&sf->mu);
        free(sf);
        return err_errno(e, rc, "cannot start the writer of '%s'", path);
    }
    *out = sf;
    return 0;
}

void statefile_post(struct statefile *sf, char *text)
{
    pthread_mutex_lock(&sf->mu);
    free(sf->pending);
    while (sf->ndone > 0)
        free(sf->done[--sf->ndone]);
    sf->pending = text;
    sf->posted++;
    pthread_cond_signal(&sf->posted_cv);
    pthread_mutex_unlock(&sf->mu);
}

void statefile_wait(struct statefile *sf)
{
    pthread_mutex_lock(&sf->mu);
    while (sf->written < sf->posted)
        pthread_cond_wait(&sf->written_cv, &sf->mu);
    pthread_mutex_unlock(&sf->mu);
}

void statefile_close(struct statefile *sf)
{
    if (!sf)
        return;
    pthread_mutex_lock(&sf->mu);
    sf->quit = 1;
    pthread_cond_signal(&sf->posted_cv);
    pthread_mutex_unlock(&sf->mu);
    pthread_join(sf->thread, NULL);
    pthread_cond_destroy(&sf->written_cv);
    pthread_cond_destroy(&sf->posted_cv);
    pthread_mutex_destroy(&sf->mu);
    while (sf->ndone > 0)
        free(sf->done[--sf->ndone]);
    free(sf);
}
