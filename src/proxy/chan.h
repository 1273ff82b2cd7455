/* The channel between the parent of --workers and one worker (a SOCK_SEQPACKET pair):
 * a message is an 8-byte sequence number and one JSON text. */
#ifndef BATON_PROXY_CHAN_H
#define BATON_PROXY_CHAN_H

#include <stdint.h>

#include "proxy/proxy.h"

#define CHAN_MSG_MAX (1024 * 1024) /* a reply: the table of 256 backends fits */
#define CHAN_HEADER  8

/* Sends one message; -1 when it did not go out whole. */
int chan_send(int fd, uint64_t seq, const char *text);
/* A worker: answers the one request waiting on its channel fd (from the parent).
 * Returns -1 once the parent is gone (EOF). */
int chan_answer(struct proxy *p, int fd);

#endif
