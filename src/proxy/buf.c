/* Bounded buffers backed by the proxy's free list (see buf.h). */
#include "proxy/buf.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "proxy/conn.h"

void buf_init(struct buf *b, struct proxy *owner, size_t cap)
{
    b->owner = owner;
    b->data = NULL;
    b->cap = cap;
    b->off = b->len = 0;
}

int buf_ensure(struct buf *b)
{
    if (!b->data)
        b->data = proxy_buf_get(b->owner);
    return b->data ? 0 : -1;
}

void buf_release(struct buf *b)
{
    if (b->data && b->off == b->len) {
        proxy_buf_put(b->owner, b->data);
        b->data = NULL;
        b->off = b->len = 0;
    }
}

void buf_compact(struct buf *b)
{
    if (b->off == 0 || !b->data)
        return;
    memmove(b->data, b->data + b->off, b->len - b->off);
    b->len -= b->off;
    b->off = 0;
}

void buf_consume(struct buf *b, size_t n)
{
    b->off += n;
    if (b->off == b->len)
        b->off = b->len = 0;
}

int buf_append(struct buf *b, const char *p, size_t n)
{
    if (n == 0)
        return 0;
    if (buf_ensure(b) < 0)
        return -1;
    if (buf_room(b) < n)
        buf_compact(b);
    if (buf_room(b) < n)
        return -1;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int buf_read(int fd, struct buf *b, int *drained)
{
    *drained = 0;
    if (buf_ensure(b) < 0)
        return -1;
    if (buf_room(b) == 0)
        buf_compact(b);
    size_t room = buf_room(b);
    if (room == 0)
        return 0;
    ssize_t n = recv(fd, b->data + b->len, room, 0);
    if (n > 0) {
        b->len += (size_t)n;
        *drained = (size_t)n < room;
        return 1;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        *drained = errno == EAGAIN;
        return 0;
    }
    *drained = 1;
    return -1;
}

int buf_write(int fd, struct buf *b)
{
    if (buf_pending(b) == 0)
        return 0;
    ssize_t n = send(fd, b->data + b->off, buf_pending(b), MSG_NOSIGNAL);
    if (n > 0) {
        buf_consume(b, (size_t)n);
        return 1;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    return -1;
}

void buf_free(struct buf *b)
{
    if (b->data)
        proxy_buf_put(b->owner, b->data);
    b->data = NULL;
    b->off = b->len = 0;
}
