/* libbaton-lazy: versioned JSON documents upgraded on read and swept in batches.
 * This header is the library's whole interface; link with `pkg-config --libs baton-lazy`. */
#ifndef BATON_LAZY_H
#define BATON_LAZY_H

#include <stddef.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LAZY_ERROR_MAX 512

/* Every function that can fail fills one of these with a message naming the subject
 * (file and line, document id, table, server) and the cause. */
struct lazy_error {
    char msg[LAZY_ERROR_MAX];
};

/* Return codes (0 is success). */
enum {
    LAZY_EFAIL = -1,      /* any failure: bad chain, store error, lazy_update callback */
    LAZY_ENOTFOUND = -2,  /* no document with that id */
    LAZY_EMALFORMED = -3, /* document not JSON, without an integer _version, at a
                             version the chain does not know, or a step (a custom
                             callback, a path through a non-object) failed on it;
                             never rewritten */
    LAZY_ECONFLICT = -4,  /* compare-and-set kept losing (retry limit reached) */
};

/* A custom step: a C callback that changes `doc` in place (it must not touch
 * `_version`). It returns 0, or -1 after writing a message into msg. */
struct lazy_custom {
    const char *name;
    int (*fn)(json_t *doc, const char *id, void *arg, char *msg, size_t msg_size);
    void *arg;
};

struct lazy_chain; /* a parsed, checked chain of versions and their steps */
struct lazy_store; /* a connection to one collection of one store */

/* Loads a chain from a JSON file (or from text; `name` is used in messages). `customs`
 * is an array terminated by an entry with a NULL name (or NULL when there are none);
 * it must outlive the chain. A syntax error, a gap between versions, an unknown step
 * or option is refused with "FILE:LINE: cause". *out: caller frees with
 * lazy_chain_free. */
int lazy_chain_load(const char *path, const struct lazy_custom *customs, struct lazy_chain **out,
                    struct lazy_error *e);
int lazy_chain_parse(const char *text, size_t len, const char *name,
                     const struct lazy_custom *customs, struct lazy_chain **out,
                     struct lazy_error *e);
void lazy_chain_free(struct lazy_chain *c);
int lazy_chain_base(const struct lazy_chain *c);     /* the oldest version it reads */
int lazy_chain_latest(const struct lazy_chain *c);   /* the version it upgrades to */
size_t lazy_chain_steps(const struct lazy_chain *c); /* number of steps over all versions */

/* Brings `doc` (of document `id`) up to the latest version in place. Returns the number
 * of versions it moved (0 when already current) or a negative code. Fields moved into
 * another collection are returned in *moved as {"COLLECTION": CHILD_DOC, ...} (the child
 * has the parent's id; caller decrefs; NULL when nothing moved). `moved` may be NULL
 * only for chains without a move step. */
int lazy_upgrade(const struct lazy_chain *c, const char *id, json_t *doc, json_t **moved,
                 struct lazy_error *e);

/* Opens a store: "sqlite:PATH#TABLE", "postgres://...#TABLE" (or postgresql://),
 * "redis://HOST:PORT/PREFIX". Tables are created when missing (id text primary key,
 * doc JSON text / JSONB, rev integer). Caller closes with lazy_store_close. */
int lazy_store_open(const char *url, struct lazy_store **out, struct lazy_error *e);
void lazy_store_close(struct lazy_store *s);

/* Reads document `id`, upgrades it and, when it changed, writes it back (with the
 * moved parts) by compare-and-set, retried on conflict. *out: caller decrefs. */
int lazy_get(struct lazy_store *s, const struct lazy_chain *c, const char *id, json_t **out,
             struct lazy_error *e);

/* Read-upgrade-modify-write: `fn` changes the upgraded doc in place and returns 0 to
 * write it, 1 to leave the document alone, or -1 (message in msg) to fail. The write is
 * a compare-and-set; on conflict everything is redone with the newer document, so a
 * concurrent write is never lost. `fn` may run several times. */
int lazy_update(struct lazy_store *s, const struct lazy_chain *c, const char *id,
                int (*fn)(json_t *doc, void *arg, char *msg, size_t msg_size), void *arg,
                struct lazy_error *e);

/* Writes a document unconditionally (insert or replace). lazy_put_text stores the text
 * as given (it may even be invalid JSON where the store allows it: for tests). */
int lazy_put(struct lazy_store *s, const char *id, const json_t *doc, struct lazy_error *e);
int lazy_put_text(struct lazy_store *s, const char *id, const char *text, struct lazy_error *e);

/* Reads the stored text of a document without upgrading it. *out: caller frees. */
int lazy_get_text(struct lazy_store *s, const char *id, char **out, struct lazy_error *e);

/* Calls fn for every document in id order with its stored text; fn returns non-zero to
 * stop. Holds the whole collection in memory (to sort it): for dumps and tests. */
int lazy_each(struct lazy_store *s, int (*fn)(const char *id, const char *text, void *arg),
              void *arg, struct lazy_error *e);

/* How many documents sit at each version (one streaming scan; Redis keeps the ids to
 * count a key SCAN returns twice only once). Returns 0 and *out =
 * {"collection": C, "base": B, "latest": L, "total": N, "versions": {"1": n, ...},
 *  "malformed": {"not_json": n, "no_version": n, "older": n, "newer": n}};
 * caller decrefs. */
int lazy_status(struct lazy_store *s, const struct lazy_chain *c, json_t **out,
                struct lazy_error *e);

struct lazy_sweep_report {
    size_t examined;  /* documents read (over all passes) */
    size_t upgraded;  /* documents written at the latest version by this sweep */
    size_t current;   /* documents already at the latest version (over all passes) */
    size_t malformed; /* distinct documents skipped, left as they were */
    size_t conflicts; /* compare-and-set retries caused by concurrent writes */
    size_t passes;    /* passes over the collection */
    int resumed;      /* 1 when it continued from a saved position */
    int complete;     /* 1 when the whole collection was covered */
};

struct lazy_sweep_opts {
    size_t batch;    /* documents read per batch (0: 500) */
    double rate;     /* at most this many documents per second (0: unthrottled) */
    int restart;     /* ignore a saved position and start over */
    size_t max_docs; /* stop (position saved) after this many documents; 0: all */
    /* Called for each document skipped as malformed, and after each batch; may be NULL. */
    void (*on_skip)(const char *id, const char *why, void *arg);
    void (*on_batch)(const struct lazy_sweep_report *r, void *arg);
    void *arg;
};

/* Upgrades every document of the store's collection in batches, saving its position
 * in the store after each batch so that a crashed sweep resumes where it stopped. On
 * SQLite and PostgreSQL a batch is one SQL statement for the documents at versions from
 * which the chain's steps are all declarative (the others go one by one), and the end
 * of a pass is checked by one query for documents still at an older version (written
 * behind the cursor meanwhile), which bring another pass. On Redis a pass that upgraded
 * something is followed by another (keys a SCAN returned late). At most 5 passes. */
int lazy_sweep(struct lazy_store *s, const struct lazy_chain *c, const struct lazy_sweep_opts *o,
               struct lazy_sweep_report *r, struct lazy_error *e);

#ifdef __cplusplus
}
#endif

#endif
