/* Error reporting shared by every module: a function that can fail returns -1 and
 * fills a struct err with a message naming the subject and the cause. */
#ifndef BATON_CORE_ERR_H
#define BATON_CORE_ERR_H

#include <stddef.h>

#define ERR_MSG_MAX 512

struct err {
    char msg[ERR_MSG_MAX];
};

/* Sets the message from a printf format; returns -1 so callers can `return err_set(...)`.
 * A NULL err is allowed and ignored. */
int err_set(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* As err_set, then appends ": " and strerror(errnum). Returns -1. */
int err_errno(struct err *e, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an existing message (to add context on the way up). Returns -1. */
int err_wrap(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
