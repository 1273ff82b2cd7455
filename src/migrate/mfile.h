/* Migration files (`NNNN_name.migration`): declarative operations, then raw SQL sections
 * [expand], [backfill TABLE [KEY]], [contract] and [abort]. The parser is our own, small
 * and line oriented; every limit is checked and every error names the file and line. */
#ifndef BATON_MIGRATE_MFILE_H
#define BATON_MIGRATE_MFILE_H

#include <stddef.h>

#include "core/err.h"

#define MFILE_MAX_BYTES (1024 * 1024)
#define MFILE_IDENT_MAX 64
#define MFILE_ID_MAX    128
#define MFILE_OPS_MAX   64
#define MFILE_REST_MAX  1024
#define MFILE_SUFFIX    ".migration"

enum mfile_op_kind {
    MFILE_OP_ADD_COLUMN,      /* add_column TABLE COL TYPE [DEFAULT ...] */
    MFILE_OP_DROP_COLUMN,     /* drop_column TABLE COL */
    MFILE_OP_RENAME_COLUMN,   /* rename_column TABLE OLD NEW [TYPE] */
    MFILE_OP_ADD_INDEX,       /* add_index TABLE NAME [UNIQUE] COL[, COL...] */
    MFILE_OP_ADD_CONSTRAINT,  /* add_constraint TABLE NAME CHECK (EXPR) */
    MFILE_OP_CHANGE_TYPE,     /* change_type TABLE COL NEWCOL TYPE */
    MFILE_OP_KEY,             /* key TABLE COL[,COL...]: the key backfills walk (default "id") */
    MFILE_OP_DROP_INDEX,      /* drop_index TABLE NAME */
    MFILE_OP_ADD_UNIQUE,      /* add_unique TABLE NAME COL[, COL...] */
    MFILE_OP_ADD_PRIMARY_KEY, /* add_primary_key TABLE NAME COL[, COL...] */
    MFILE_OP_ADD_FOREIGN_KEY, /* add_foreign_key TABLE NAME (COL, ...) REFERENCES T2 [(COL, ...)]
                                 ... */
    MFILE_OP_REINDEX,         /* reindex TABLE INDEX */
    MFILE_OP_SET_NOT_NULL,    /* set_not_null TABLE COL */
    MFILE_OP_RENAME_TABLE,    /* rename_table OLD NEW */
};

struct mfile_op {
    enum mfile_op_kind kind;
    int line;
    char table[MFILE_IDENT_MAX];
    /* what the operation names after the table: the column (the old one for rename_column
       and change_type), the index or constraint, or the table's new name (rename_table) */
    char name[MFILE_IDENT_MAX];
    char new_column[MFILE_IDENT_MAX]; /* rename_column, change_type */
    char *
        rest; /* type, index or key columns, CHECK (...), foreign key, new type; owned, may be "" */
};

struct msection {
    char *sql;                                         /* NULL when the section is absent */
    int line;                                          /* line of its header */
    char table[MFILE_IDENT_MAX], key[MFILE_IDENT_MAX]; /* [backfill TABLE KEY] */
    int no_tx; /* [expand no-transaction] etc.: each statement runs alone, outside a
                  transaction, as its own ledger step */
};

struct mfile {
    char id[MFILE_ID_MAX]; /* file name without the suffix, e.g. "0003_rename_name" */
    char checksum[32];     /* "fnv1a64:" + 16 hex digits, over the file's bytes */
    struct mfile_op ops[MFILE_OPS_MAX];
    int nops;
    struct msection expand, backfill, contract, abort_;
};

/* Parses `len` bytes of `text` as migration `id`. *out is allocated; caller frees it with
 * mfile_free. Returns -1 with a message "ID:LINE: ..." on bad input. */
int mfile_parse(const char *text, size_t len, const char *id, struct mfile **out, struct err *e);
/* Reads and parses a file; the id is its base name without MFILE_SUFFIX. */
int mfile_load(const char *path, struct mfile **out, struct err *e);
void mfile_free(struct mfile *m);

/* The key column backfills of `table` walk: a `key` line, else "id". */
const char *mfile_key(const struct mfile *m, const char *table);
/* Whether `s` is a valid identifier: [A-Za-z_][A-Za-z0-9_]*, shorter than MFILE_IDENT_MAX. */
int mfile_ident_ok(const char *s);
/* Whether `s` is a backfill key: one identifier or several joined by commas ("a,b"). */
int mfile_key_ok(const char *s);
const char *mfile_op_name(enum mfile_op_kind k);

/* The migration files of `dir`, sorted by name. *paths and each entry: caller frees. */
int mfile_list(const char *dir, char ***paths, int *n, struct err *e);
void mfile_list_free(char **paths, int n);

#endif
