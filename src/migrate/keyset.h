/* Keyset pagination for backfills over keys that are not one integer column: text, UUID
 * and composite keys walked in key order with row-value comparisons, the position kept as
 * a SQL literal in the database so a killed run resumes after the last committed batch. */
#ifndef BATON_MIGRATE_KEYSET_H
#define BATON_MIGRATE_KEYSET_H

#include <stddef.h>

#include "core/err.h"
#include "migrate/database.h"
#include "migrate/mfile.h"

#define KEYSET_COLS_MAX 8
/* The longest position literal kept (a row of quoted values). */
#define KEYSET_POS_MAX 4096

struct keyset {
    char col[KEYSET_COLS_MAX][MFILE_IDENT_MAX];
    int n;
};

/* Parses a key spec: one column or columns joined by commas ("a,b"), without spaces. */
int keyset_parse(const char *spec, struct keyset *ks, struct err *e);
/* "k" for one column, "(a, b)" for several: the left side of a comparison. */
void keyset_expr(const struct keyset *ks, char *buf, size_t cap);
/* The query giving, as one SQL literal, the last key of the next batch of `size` rows
 * after `pos` (NULL: from the start) and at most `upto` (NULL: no bound), in key order;
 * no row when none is left. */
char *keyset_next_sql(enum database_kind kind, const char *table, const struct keyset *ks,
                      const char *pos, const char *upto, int size);
/* The query giving the smallest key of `table` as one SQL literal. */
char *keyset_first_sql(enum database_kind kind, const char *table, const struct keyset *ks);
/* The query giving the largest key of `table` as one SQL literal (the backfill's bound). */
char *keyset_last_sql(enum database_kind kind, const char *table, const struct keyset *ks);
/* A batch statement with :lo and :hi replaced by position literals. With `first` set, every
 * "> :lo" becomes ">= LO" (lo is then the smallest key); a :lo elsewhere is refused then. */
char *keyset_subst(const char *tmpl, const char *lo, const char *hi, int first, struct err *e);
/* Whether `s` is a literal the walk writes: a number, 'text' (quotes doubled), X'hex',
 * each optionally with ::TYPE, or a parenthesized list of them joined by ", ". */
int keyset_literal_ok(const char *s);
/* Whether the backfill of table.key takes the integer walk (one column of integer type). */
int keyset_is_integer(struct database *db, const char *table, const struct keyset *ks);

/* The stored position of migration `id`'s backfill step `step` (*found 0 when none). */
int keyset_pos_load(struct database *db, const char *id, int step, char *pos, size_t cap,
                    int *found, struct err *e);
/* Stores the position, inside the batch's transaction. */
int keyset_pos_put(struct database *db, const char *id, int step, const char *pos, struct err *e);
/* Creates the position table if missing (its own transaction). */
int keyset_ensure(struct database *db, struct err *e);

#endif
