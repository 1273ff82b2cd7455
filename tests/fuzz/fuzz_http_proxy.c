/* libFuzzer target: the http mode end to end (src/proxy/http*.c). The
 * input is split into what a client sends and what the backend answers; both go
 * through a real engine over unix sockets on an event loop, so request and response
 * parsing, head rewriting, framing, pipelining and error answers are all reached. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy_harness.h"

static const uint8_t *answer;
static size_t answer_len;

struct peer {
    struct watcher w;
    int answered;
};

static void on_backend_conn(struct loop *l, struct watcher *w, uint32_t revents)
{
    struct peer *b = w->data;
    char buf[4096];
    ssize_t n = recv(w->fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0 && !b->answered) {
        /* answer once, whatever was asked, then close */
        b->answered = 1;
        send(w->fd, answer, answer_len, MSG_NOSIGNAL | MSG_DONTWAIT);
        shutdown(w->fd, SHUT_WR);
        return;
    }
    peer_closed(l, w, n);
}

/* Small buffers: backpressure paths get exercised. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct proxy_config cfg = harness_config(200, 300, 1024, 1024);
    cfg.connect_timeout_ms = 200; /* short timeouts: an input's stall ends soon */
    return harness_start("http", sizeof(struct peer), on_backend_conn, &cfg);
}

static void on_client(struct loop *l, struct watcher *w, uint32_t revents)
{
    char buf[4096];
    for (;;) {
        ssize_t n = recv(w->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        loop_stop(l); /* the proxy closed: this exchange is over */
        return;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t req_len = ((size_t)data[0] << 8 | data[1]) % (size - 1);
    const uint8_t *req = data + 2;
    answer = req + req_len;
    answer_len = size - 2 - req_len;
    /* small inputs fit the socket buffer; the rest is dropped */
    harness_exchange(req, req_len, on_client, 2000);
    return 0;
}
