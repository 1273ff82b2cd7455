/* The channel between the parent of --workers and a worker (chan.h): sending, and a
 * worker's answer to the parent's request. */
#include "proxy/chan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/ctl.h"

int chan_send(int fd, uint64_t seq, const char *text)
{
    size_t len = strlen(text);
    char *msg = malloc(CHAN_HEADER + len);
    if (!msg)
        return -1;
    memcpy(msg, &seq, CHAN_HEADER);
    memcpy(msg + CHAN_HEADER, text, len);
    ssize_t n = send(fd, msg, CHAN_HEADER + len, MSG_NOSIGNAL);
    free(msg);
    return n == (ssize_t)(CHAN_HEADER + len) ? 0 : -1;
}

int chan_answer(struct proxy *p, int fd)
{
    static char req[CHAN_HEADER + CTL_REQUEST_MAX];
    ssize_t n = recv(fd, req, sizeof(req), MSG_DONTWAIT);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR ? 0 : -1;
    if (n < CHAN_HEADER)
        return -1; /* 0: the parent closed its end */
    uint64_t seq;
    memcpy(&seq, req, CHAN_HEADER);
    json_error_t jerr;
    json_t *msg = json_loadb(req + CHAN_HEADER, (size_t)n - CHAN_HEADER, 0, &jerr);
    json_t *reply =
        msg ? proxy_command(p, msg) : json_pack("{s:b,s:s}", "ok", 0, "error", "malformed request");
    json_decref(msg);
    char *text = json_dumps(reply, JSON_COMPACT);
    json_decref(reply);
    if (!text || chan_send(fd, seq, text) < 0) {
        free(text);
        /* the reply did not fit: say so rather than leave the parent waiting */
        return chan_send(fd, seq, "{\"ok\":false,\"error\":\"reply too large for the channel\"}");
    }
    free(text);
    return 0;
}
