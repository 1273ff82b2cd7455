/* Internals of libbaton-lazy shared by its files: the parsed chain, the store driver
 * interface that the SQLite, PostgreSQL and Redis drivers implement, and helpers. */
#ifndef BATON_LAZY_INT_H
#define BATON_LAZY_INT_H

#include <stdint.h>
#include <stdio.h>

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
    struct lazy_version *versions; /* versions[i].version == base + 1 + i */
    int nversions;
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

/* Hands an internal error to the caller's public struct (le may be NULL). */
static inline void lazy_error_from(struct lazy_error *le, const struct err *e)
{
    if (le)
        snprintf(le->msg, sizeof(le->msg), "%s", e->msg);
}

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

#define LAZY_POS_MAX (64 + LAZY_ID_MAX) /* a sweep position: an id or a SCAN cursor */

struct lazy_batch {
    struct lazy_raw *items;
    size_t n, cap;
    char next[LAZY_POS_MAX]; /* position after this batch; "" once the end is reached */
};

/* A document upgraded in memory and ready for its compare-and-set: the text it was read
 * as (`old`), its new text and the moved parts written with it. */
struct lazy_write {
    const struct lazy_raw *old;
    char *text;
    struct lazy_child *kids;
    char **kid_owned; /* the kids' texts and collection names */
    size_t nkids;
};

/* A chain's declarative tail compiled for one store: statements that upgrade, in one go,
 * every document of an id range (parameters 1 and 2: after ?1, up to ?2) whose version
 * is at least `from` (sqlplan.c). from == the chain's latest version: nothing compiled. */
struct lazy_sql {
    char *text;
    size_t len, cap;
    char **params; /* parameter 3 + i; the kind tag is params[i][0], the value after it */
    int nparams, cap_params;
    int oom;
};

#define LAZY_PLAN_MAX_STMTS 65 /* SQLite: one per move target, then the UPDATE */

struct lazy_plan {
    int from;
    struct lazy_sql stmt[LAZY_PLAN_MAX_STMTS];
    int nstmt;
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
    /* Optional (Redis): many compare-and-sets in one round trip; res[i] as cas returns. */
    int (*cas_many)(struct lazy_store *s, const struct lazy_write *w, size_t n, int *res,
                    struct err *e);
    /* Optional (SQL stores), the set-based sweep. plan_build compiles the chain's
     * declarative tail (pl->from == latest when nothing compiles); range finds the batch
     * after `pos`: its last id and how many ids it holds; plan_run upgrades, in one
     * statement, the documents of (pos, last] the plan covers and counts them; stale reads
     * the documents of (pos, last] (last NULL: to the end, at most `limit`) that are not at
     * version `latest`: malformed, older than the plan covers, or changed meanwhile. */
    int (*plan_build)(struct lazy_store *s, const struct lazy_chain *c, struct lazy_plan *pl,
                      struct err *e);
    int (*range)(struct lazy_store *s, const char *pos, size_t batch, char *last, size_t last_size,
                 size_t *count, struct err *e);
    int (*plan_run)(struct lazy_store *s, const struct lazy_plan *pl, const char *pos,
                    const char *last, size_t *upgraded, struct err *e);
    int (*stale)(struct lazy_store *s, int latest, const char *pos, const char *last, size_t limit,
                 struct lazy_batch *out, struct err *e);
    /* Optional: a number that changes when another connection commits (SQLite's
     * data_version), so that a pass no one else wrote during needs no check after it. */
    int (*commit_mark)(struct lazy_store *s, int64_t *mark, struct err *e);
    void (*close)(struct lazy_store *s);
};

enum { LAZY_BATCH_BEGIN, LAZY_BATCH_COMMIT, LAZY_BATCH_ROLLBACK };

struct lazy_store {
    const struct lazy_store_ops *ops;
    char collection[LAZY_NAME_MAX + 1];
    char *url;
};

/* A driver's store struct (`size` bytes, struct lazy_store first) for `collection`, zeroed
 * but for ops and collection; NULL with e set when out of memory. ops->close frees it. */
void *lazy_store_new(size_t size, const struct lazy_store_ops *ops, const char *collection,
                     struct err *e);
int lazy_sqlite_open(const char *path, const char *table, struct lazy_store **out, struct err *e);
int lazy_pg_open(const char *conninfo, const char *table, struct lazy_store **out, struct err *e);
int lazy_redis_open(const char *host, int port, const char *prefix, struct lazy_store **out,
                    struct err *e);

#define LAZY_DOC_MAX_BYTES (16u << 20) /* a stored document larger than this is refused */

typedef int (*lazy_modify_fn)(json_t *doc, void *arg, char *msg, size_t msg_size);

/* Serializes an upgraded document and its moved parts (`moved`, may be NULL) into `w`
 * for the compare-and-set against `old`. 0 or -1; lazy_write_clear frees it either way. */
int lazy_write_prepare(struct lazy_write *w, const struct lazy_raw *old, const json_t *doc,
                       json_t *moved, struct err *e);
void lazy_write_clear(struct lazy_write *w);

/* Read-upgrade-(modify)-write of one document by compare-and-set, redone on conflict.
 * `first` (may be NULL) is a copy already read, used for the first attempt, and
 * `first_doc` (may be NULL; taken over) its parsed form. *wrote is set
 * when a write happened, *conflicts counts retries; *out (may be NULL) gets the
 * document. Returns 0 or a LAZY_E code with e filled. */
int lazy_read_modify_write(struct lazy_store *s, const struct lazy_chain *c, const char *id,
                           const struct lazy_raw *first, json_t *first_doc, lazy_modify_fn fn,
                           void *arg, json_t **out, int *wrote, size_t *conflicts, struct err *e);

/* Parses a stored text into a document; LAZY_EMALFORMED with the reason when it is not
 * a JSON object. */
int lazy_doc_parse(const char *text, json_t **out, struct err *e);

/* 1 when `name` is a plain identifier usable as a table or key prefix. */
int lazy_name_ok(const char *name);

void lazy_raw_clear(struct lazy_raw *r);
void lazy_batch_clear(struct lazy_batch *b);
int lazy_batch_push(struct lazy_batch *b, const char *id, const char *text, int64_t rev,
                    struct err *e);

/* ---- the set-based sweep (sqlplan.c; dialects in sql_sqlite.c, sql_pg.c) ---- */

#define LAZY_PLAN_MAX_STAGES 64 /* steps in one statement (a move counts once per field) */

/* In a dialect's templates, LAZY_SQL_IN stands for the step's input document. */
#define LAZY_SQL_IN "\x01"

/* What a plan's steps end with: the expressions of the document, of its ok flag and of
 * the moved parts k1..kN, over the columns of the last stage sN or, when no stage was
 * needed (stage -1), over the table's own row (doc). */
struct lazy_plan_tail {
    int stage;
    const char *doc, *ok;
    char **kids;
    int nkids;
};

/* How one SQL dialect writes the pieces of a plan. Every piece reads the columns id, sv
 * (the version the document had) and what LAZY_SQL_IN stands for; chain paths and
 * defaults are bound as parameters, never written into the text. A step's gate (NULL:
 * none) is a condition on sv outside of which the step leaves the document alone. */
struct lazy_sql_dialect {
    char param;           /* parameters are written ?N or $N */
    const char *doc_text; /* the document as text, from column doc */
    const char *version;  /* the stored document's _version as an integer, from column doc */
    const char *yes;      /* true */
    const char *no_doc;   /* NULL of the document's type */
    int direct_kids;      /* 1: the moved parts can be read after an UPDATE of their parent */
    /* 1 when the dialect can write the step (it names its paths, ...) */
    int (*step_ok)(const struct lazy_step *st);
    /* the condition on a row (id, doc) of the batch's range (after parameter 1, up to 2)
     * whose document is at one of the versions from..latest-1 */
    void (*eligible)(struct lazy_sql *q, int from, int latest);
    /* the condition that a row's document (column doc) is at version `latest` */
    void (*current)(struct lazy_sql *q, int latest);
    /* the document after a group of steps, then `_version` set to `version` (0: not).
     * The group's removals may all be done before its sets, and every condition and value
     * read from the input: no step reads or removes what one before it in the group
     * writes (sqlplan.c) */
    void (*group)(struct lazy_sql *q, const struct lazy_step *const *st, char *const *gate, int n,
                  int version);
    /* 1 after writing a condition true when the step cannot apply to the input; 0
     * (nothing written) when it always can */
    int (*fails)(struct lazy_sql *q, const struct lazy_step *st);
    /* a move's part (NULL when none of its fields is there) */
    void (*kid)(struct lazy_sql *q, const struct lazy_step *st, const char *gate);
    /* the statements from the stages' text `cte` (empty without stages) and their end */
    int (*finish)(struct lazy_plan *pl, const struct lazy_sql *cte, const struct lazy_plan_tail *t,
                  const char *table, const struct lazy_chain *c);
};

extern const struct lazy_sql_dialect lazy_sqlite_dialect, lazy_pg_dialect;

/* The query for the documents after parameter 1 (ranged: up to parameter 2; else at
 * most parameter 2 of them), in id order, that are not at version `latest`: columns id,
 * the document's text, rev. NULL: no memory; caller frees. */
char *lazy_sql_stale(const struct lazy_sql_dialect *d, const char *table, int latest, int ranged);

/* Compiles the chain for `table` (its own moves' targets must differ from it). */
int lazy_plan_build(struct lazy_plan *pl, const struct lazy_chain *c, const char *table,
                    const struct lazy_sql_dialect *d, struct err *e);
void lazy_plan_free(struct lazy_plan *pl);

void lazy_sql_add(struct lazy_sql *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The number of the parameter that holds `value` of `kind` (a dialect's tag: 't' text,
 * 'a' text[], 'j' JSON ...), added when new; equal ones share a number. -1: no memory. */
int lazy_sql_param(struct lazy_sql *q, char kind, const char *value);
int lazy_sql_copy(struct lazy_sql *to, const struct lazy_sql *from);
void lazy_sql_free(struct lazy_sql *q);

#endif
