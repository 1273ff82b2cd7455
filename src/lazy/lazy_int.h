/* Internals of libbaton-lazy shared by its files: the parsed chain, the store driver
 * interface that the SQLite, PostgreSQL and Redis drivers implement, and helpers. */
#ifndef BATON_LAZY_INT_H
#define BATON_LAZY_INT_H

#include <stdint.h>

#include "baton/lazy.h"
#include "core/err.h"

#define LAZY_PATH_MAX_DEPTH  16 /* segments in a dotted field path */
#define LAZY_NAME_MAX        63 /* table / prefix / collection names */
#define LAZY_CHAIN_MAX_BYTES (1u << 20)
#define LAZY_MAX_VERSIONS    10000
#define LAZY_MAX_STEPS       1000 /* per version */
#define LAZY_CAS_RETRIES     1000 /* compare-and-set attempts before LAZY_ECONFLICT */
#define LAZY_ID_MAX          512  /* document id length */

enum lazy_op {
    LAZY_OP_ADD,
    LAZY_OP_RENAME,
    LAZY_OP_REMOVE,
    LAZY_OP_COPY,
    LAZY_OP_MOVE,
    LAZY_OP_CUSTOM
};

/* A dotted field path ("address.city"), split once at load time. */
struct lazy_path {
    int depth;
    char *seg[LAZY_PATH_MAX_DEPTH];
};

struct lazy_step {
    enum lazy_op op;
    int line;                 /* in the chain file, for messages */
    struct lazy_path from;    /* rename/copy source; add/remove target */
    struct lazy_path to;      /* rename/copy target */
    struct lazy_path *fields; /* remove/move: nfields paths */
    int nfields;
    json_t *value;     /* add: the default */
    char *collection;  /* move: target collection */
    char *link;        /* move: child field holding the parent id */
    int child_version; /* move: child's _version */
    const struct lazy_custom *custom;
};

struct lazy_version {
    int version; /* reached after the steps */
    int line;
    struct lazy_step *steps;
    int nsteps;
};

struct lazy_chain {
    char *name;
    int base;
    struct lazy_version *v; /* v[i].version == base + 1 + i */
    int nv;
    size_t nsteps;
};

/* The line (1-based) where the value at `path` starts in JSON text, where path is a
 * sequence of object keys (const char *) and array indexes, given as a string like
 * "versions/2/steps/0"; 0 if it cannot be found. */
int lazy_json_line(const char *text, size_t len, const char *path);

/* Path helpers on documents (jsonpath.c). */
json_t *lazy_path_get(json_t *doc, const struct lazy_path *p);
int lazy_path_set_new(json_t *doc, const struct lazy_path *p, json_t *v); /* steals v */
int lazy_path_del(json_t *doc, const struct lazy_path *p);

/* Classifies a document's version: 0 ok (*version set), or LAZY_EMALFORMED with a
 * reason in e. `kind` receives "not_json", "no_version", "older" or "newer". */
int lazy_doc_version(const struct lazy_chain *c, const json_t *doc, int *version, const char **kind,
                     struct err *e);

/* ---- store drivers ---- */

/* A stored document as read: its text and what compare-and-set compares against
 * (a revision number in SQL stores, the text itself in Redis). */
struct lazy_raw {
    char *id;
    char *text;
    int64_t rev;
};

/* A child document written in the same transaction as its parent's compare-and-set. */
struct lazy_child {
    const char *collection;
    const char *id;
    const char *text;
};

struct lazy_batch {
    struct lazy_raw *items;
    size_t n, cap;
    char next[64 + LAZY_ID_MAX]; /* position after this batch; "" once the end is reached */
};

struct lazy_store_ops {
    const char *kind;
    int scan_repeats; /* 1 when scan may return a document twice (Redis SCAN) */
    /* 0, or LAZY_ENOTFOUND, or -1. */
    int (*get)(struct lazy_store *s, const char *id, struct lazy_raw *out, struct err *e);
    /* Replaces the document if it is still `old`, and writes the children, atomically.
     * 0 written, 1 conflict (nothing written), -1 error. */
    int (*cas)(struct lazy_store *s, const struct lazy_raw *old, const char *text,
               const struct lazy_child *kids, size_t nkids, struct err *e);
    int (*put)(struct lazy_store *s, const char *id, const char *text, struct err *e);
    /* Reads up to `batch` documents after position `pos` ("" = start). */
    int (*scan)(struct lazy_store *s, const char *pos, size_t batch, struct lazy_batch *out,
                struct err *e);
    /* Sweep position: pass number and position text; pass 0 = no sweep in progress. */
    int (*state_load)(struct lazy_store *s, int *pass, char *pos, size_t pos_size, struct err *e);
    int (*state_save)(struct lazy_store *s, int pass, const char *pos, struct err *e);
    /* Optional (NULL in Redis): a transaction around a sweep batch, so that its writes
     * and the saved position commit together; writes in it are still compare-and-set. */
    int (*batch)(struct lazy_store *s, int what, struct err *e);
    /* Optional: creates the collection (table) if missing, before a sweep starts. */
    int (*ensure)(struct lazy_store *s, const char *collection, struct err *e);
    void (*close)(struct lazy_store *s);
};

enum { LAZY_BATCH_BEGIN, LAZY_BATCH_COMMIT, LAZY_BATCH_ROLLBACK };

struct lazy_store {
    const struct lazy_store_ops *ops;
    char collection[LAZY_NAME_MAX + 1];
    char *url;
};

int lazy_sqlite_open(const char *path, const char *table, struct lazy_store **out, struct err *e);
int lazy_pg_open(const char *conninfo, const char *table, struct lazy_store **out, struct err *e);
int lazy_redis_open(const char *host, int port, const char *prefix, struct lazy_store **out,
                    struct err *e);

#define LAZY_DOC_MAX_BYTES (16u << 20) /* a stored document larger than this is refused */

typedef int (*lazy_modify_fn)(json_t *doc, void *arg, char *msg, size_t msg_size);

/* Read-upgrade-(modify)-write of one document by compare-and-set, redone on conflict.
 * `first` (may be NULL) is a copy already read, used for the first attempt, and
 * `first_doc` (may be NULL; taken over) its parsed form. *wrote is set
 * when a write happened, *conflicts counts retries; *out (may be NULL) gets the
 * document. Returns 0 or a LAZY_E code with e filled. */
int lazy_rmw(struct lazy_store *s, const struct lazy_chain *c, const char *id,
             const struct lazy_raw *first, json_t *first_doc, lazy_modify_fn fn, void *arg,
             json_t **out, int *wrote, size_t *conflicts, struct err *e);

/* Parses a stored text into a document; LAZY_EMALFORMED with the reason when it is not
 * a JSON object. */
int lazy_doc_parse(const char *text, json_t **out, struct err *e);

/* 1 when `name` is a plain identifier usable as a table or key prefix. */
int lazy_name_ok(const char *name);

void lazy_raw_clear(struct lazy_raw *r);
void lazy_batch_clear(struct lazy_batch *b);
int lazy_batch_push(struct lazy_batch *b, const char *id, const char *text, int64_t rev,
                    struct err *e);

#endif
