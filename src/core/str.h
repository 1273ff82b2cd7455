/* Strings that grow on the heap: SQL and expressions built piece by piece, where one
 * failed allocation must poison the whole text rather than leave a part of it; and
 * lists of malloc'd strings. */
#ifndef BATON_CORE_STR_H
#define BATON_CORE_STR_H

/* Appends the printf-formatted text to the malloc'd string *s. On allocation failure *s
 * is freed and set to NULL; a NULL *s stays NULL, so a run of appends is checked once
 * at its end. */
void str_appendf(char **s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Frees the n strings of v, then v (a list built with malloc'd strings). */
void str_list_free(char **v, int n);

#endif
