/* Bounded byte buffers of the proxy's http mode: a fixed cap set at init, memory taken
 * from the proxy's free list only while the buffer holds bytes (so an idle keep-alive
 * client costs no buffer), and non-blocking socket reads and writes into and out of it. */
#ifndef BATON_PROXY_BUF_H
#define BATON_PROXY_BUF_H

#include <stddef.h>

struct proxy;

struct buf {
    char *data; /* NULL while empty and released */
    size_t off, len, cap;
    struct proxy *owner; /* whose free list the memory comes from */
};

static inline size_t buf_room(const struct buf *b)
{
    return b->cap - b->len;
}

static inline size_t buf_pending(const struct buf *b)
{
    return b->len - b->off;
}

void buf_init(struct buf *b, struct proxy *owner, size_t cap);
/* Takes memory for b if it has none; -1 when out of memory. */
int buf_ensure(struct buf *b);
/* Gives the memory back when the buffer holds nothing. */
void buf_release(struct buf *b);
/* Gives the memory back whatever it holds (the connection ends). */
void buf_free(struct buf *b);
/* Moves the pending bytes to the start. */
void buf_compact(struct buf *b);
void buf_consume(struct buf *b, size_t n);
/* Appends n bytes; -1 if they do not fit under the cap (nothing appended). */
int buf_append(struct buf *b, const char *p, size_t n);
/* Reads from fd into b: 1 on bytes, 0 on EAGAIN or no room, -1 on EOF or error.
 * *drained is set when the socket is known to hold no more bytes now (EAGAIN, or a
 * read shorter than the room): the caller waits for the next readiness event instead
 * of trying again (level-triggered epoll reports the socket while bytes wait). */
int buf_read(int fd, struct buf *b, int *drained);
/* Writes b's pending bytes to fd: 1 on progress, 0 on EAGAIN or nothing, -1 on error. */
int buf_write(int fd, struct buf *b);

#endif
