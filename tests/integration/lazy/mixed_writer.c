/* A writer for t_lazy_setbased_concurrent.sh: an app in the middle of its upgrade. It
 * increments the "counter" of documents picked at random through lazy_update, reading
 * them as the old app does (OLD_CHAIN, which knows version 1 only) and, once a document
 * is newer than that, as the new app does (NEW_CHAIN); OLD_CHAIN "-": as the new app
 * only, which upgrades what it reads. It runs until the file STOP exists and it has made
 * AFTER increments since, or MAX increments in all; it creates READY after its first.
 * Usage: mixed_writer STORE OLD_CHAIN NEW_CHAIN READY STOP AFTER MAX ID...
 * Prints "ID OLD NEW" for each id: the increments made through each chain. */
#define _POSIX_C_SOURCE 200809L /* rand_r */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <baton/lazy.h>

#include "../../../examples/lazy/increment_counter.h"

int main(int argc, char **argv)
{
    if (argc < 9) {
        fprintf(stderr, "usage: %s STORE OLD_CHAIN NEW_CHAIN READY STOP AFTER MAX ID...\n",
                argv[0]);
        return 2;
    }
    struct lazy_error e;
    struct lazy_chain *old = NULL, *new = NULL;
    struct lazy_store *s = NULL;
    if ((strcmp(argv[2], "-") && lazy_chain_load(argv[2], NULL, &old, &e) < 0) ||
        lazy_chain_load(argv[3], NULL, &new, &e) < 0 || lazy_store_open(argv[1], &s, &e) < 0) {
        fprintf(stderr, "mixed_writer: %s\n", e.msg);
        return 1;
    }
    long after = atol(argv[6]), max = atol(argv[7]), since_stop = 0;
    int nids = argc - 8, rc = 0;
    long(*done)[2] = calloc((size_t)nids, sizeof(*done));
    unsigned seed = (unsigned)getpid();
    for (long i = 0; i < max && done && since_stop <= after; i++) {
        int k = rand_r(&seed) % nids, through_new = 0;
        int r =
            old ? lazy_update(s, old, argv[8 + k], increment_counter, NULL, &e) : LAZY_EMALFORMED;
        if (r == LAZY_EMALFORMED) { /* newer than the old app knows */
            through_new = 1;
            r = lazy_update(s, new, argv[8 + k], increment_counter, NULL, &e);
        }
        if (r < 0) {
            fprintf(stderr, "mixed_writer: %s\n", e.msg);
            rc = 1;
            break;
        }
        done[k][through_new]++;
        if (i == 0)
            close(open(argv[4], O_CREAT | O_WRONLY, 0644));
        if (since_stop || access(argv[5], F_OK) == 0)
            since_stop++;
    }
    for (int k = 0; k < nids && done; k++)
        if (done[k][0] || done[k][1])
            printf("%s %ld %ld\n", argv[8 + k], done[k][0], done[k][1]);
    free(done);
    lazy_store_close(s);
    lazy_chain_free(old);
    lazy_chain_free(new);
    return rc;
}
