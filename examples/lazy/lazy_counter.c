/* Example program for libbaton-lazy: increments a counter field of documents through
 * lazy_update (read, upgrade, modify, compare-and-set write-back, retried on conflict).
 * Build: cc -o lazy_counter lazy_counter.c $(pkg-config --cflags --libs baton-lazy)
 * Usage: lazy_counter STORE_URL CHAIN N ID... : N increments of "counter" on IDs picked at
 * random; prints "ID COUNT" for each id it incremented. Exit 0, or 1 on the first error. */
#define _POSIX_C_SOURCE 200809L /* rand_r */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <baton/lazy.h>

#include "increment_counter.h"

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s STORE_URL CHAIN N ID...\n", argv[0]);
        return 2;
    }
    struct lazy_error e;
    struct lazy_chain *chain = NULL;
    struct lazy_store *store = NULL;
    if (lazy_chain_load(argv[2], NULL, &chain, &e) < 0 ||
        lazy_store_open(argv[1], &store, &e) < 0) {
        fprintf(stderr, "lazy_counter: %s\n", e.msg);
        lazy_chain_free(chain);
        return 1;
    }
    long n = atol(argv[3]);
    int nids = argc - 4;
    long *done = calloc((size_t)nids, sizeof(*done));
    unsigned seed = (unsigned)getpid();
    int rc = 0;
    for (long i = 0; i < n && done; i++) {
        int k = rand_r(&seed) % nids;
        if (lazy_update(store, chain, argv[4 + k], increment_counter, NULL, &e) < 0) {
            fprintf(stderr, "lazy_counter: %s\n", e.msg);
            rc = 1;
            break;
        }
        done[k]++;
    }
    for (int k = 0; k < nids && done; k++)
        if (done[k])
            printf("%s %ld\n", argv[4 + k], done[k]);
    free(done);
    lazy_store_close(store);
    lazy_chain_free(chain);
    return rc;
}
