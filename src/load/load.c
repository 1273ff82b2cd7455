/* The load engine: N connection state machines on one event loop, each sending one
 * request at a time, with per-request timeouts and a 100 ms timeline.
 *
 *   CONNECTING --connected--> SENDING --all written--> RECEIVING --complete--+
 *       ^                                                                    |
 *       +--------- close mode, or the server said Connection: close ---------+
 *                  (keep-alive otherwise: back to SENDING on the same socket)
 *
 * Any error or timeout records one failure of its kind, closes the socket and starts
 * over with a new connection. The run ends (run_stop) at its duration, its request
 * count, when the caller's file appears, at the hard cap of such a run, or on SIGINT /
 * SIGTERM; requests in flight are finished before the figures are final. */
#include "load/load.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/loop.h"

#define MAX_VERSIONS 32
#define BUCKET_MS    100
#define READ_BUF     16384
#define LATENCY_CAP  (16u * 1024 * 1024) /* samples kept for percentiles */
#define FILE_POLL_MS 10

static const char *const end_names[] = {"duration", "requests", "until-file", "max-duration",
                                        "signal"};

static const char *const failure_names[LOAD_FAIL_KINDS] = {"connect", "reset", "timeout",
                                                           "premature_close", "bad_status"};

enum conn_state { CONN_IDLE, CONN_CONNECTING, CONN_SENDING, CONN_RECEIVING };

struct bucket {
    uint32_t requests, failures;
    uint32_t versions[MAX_VERSIONS];
    /* Its latency samples: latency_us[lat_first, lat_first + nlat), contiguous because
     * both are in order of completion; sorted, with their percentiles, once it is over. */
    uint32_t lat_first, nlat;
    int lat_done;
    double p50_ms, p99_ms;
};

struct version_stat {
    char name[32];
    uint64_t count;
    int64_t first_sent_ms, last_sent_ms, last_connected_ms;
};

/* One failed request, as the client saw it: what the JSON's "failure_samples" lists. */
struct failure_sample {
    int64_t t_ms;       /* when it failed, from the start */
    int64_t connect_ms; /* when its connect() was called, from the start */
    enum load_failure kind;
    int err;               /* the errno behind it, or 0 (a close, a status, a timeout) */
    enum conn_state state; /* where the exchange was */
    size_t sent;           /* request bytes written */
    int got_response;      /* a status line had arrived */
};
#define FAILURE_SAMPLES 16

struct load_result {
    int64_t start_unix_ms;
    uint64_t duration_ms;
    enum load_end ended;
    uint64_t requests, ok;
    uint64_t failures[LOAD_FAIL_KINDS];
    uint32_t *latency_us; /* grows up to LATENCY_CAP samples */
    size_t nlatency, latency_cap;
    struct version_stat versions[MAX_VERSIONS];
    int nversions;
    struct bucket *buckets;
    size_t nbuckets;
    struct failure_sample samples[FAILURE_SAMPLES]; /* the first failures */
    int nsamples;
};

struct run;

struct conn {
    struct run *run;
    struct watcher w;
    struct timer timeout;
    enum conn_state state;
    size_t sent;
    uint64_t request_start_us;
    uint64_t connected_us; /* when connect() was called for this connection */
    struct load_response resp;
};

struct run {
    const struct load_opts *opts;
    struct loop *loop;
    struct addr addr;
    char *request;
    size_t request_len;
    uint64_t start_us, end_us;
    uint64_t started; /* requests begun */
    int stopping;
    int active; /* connections still open or connecting */
    struct conn *conns;
    struct timer end_timer;
    struct timer retry_timer;
    struct timer file_timer; /* polls opts->until_file */
    struct timer live_timer; /* writes finished buckets to opts->live */
    size_t live_next;        /* the first bucket not written to opts->live yet */
    struct watcher signals;  /* SIGINT, SIGTERM (opts->stop_on_signal) */
    struct load_result *res;
    char buf[READ_BUF];
};

static struct bucket *bucket_at(struct run *r, uint64_t now_us)
{
    size_t i = (size_t)((now_us - r->start_us) / 1000 / BUCKET_MS);
    if (i >= r->res->nbuckets)
        i = r->res->nbuckets - 1;
    return &r->res->buckets[i];
}

static int version_index(struct load_result *res, const char *name)
{
    for (int i = 0; i < res->nversions; i++)
        if (strcmp(res->versions[i].name, name) == 0)
            return i;
    if (res->nversions == MAX_VERSIONS)
        return MAX_VERSIONS - 1; /* overflow versions are counted under the last one */
    struct version_stat *v = &res->versions[res->nversions];
    snprintf(v->name, sizeof(v->name), "%s", name);
    v->first_sent_ms = -1;
    return res->nversions++;
}

static void conn_start(struct conn *c);

static void conn_close(struct conn *c)
{
    struct run *r = c->run;
    timer_stop(r->loop, &c->timeout);
    if (c->state != CONN_IDLE) {
        loop_unwatch(r->loop, &c->w);
        close(c->w.fd);
        c->state = CONN_IDLE;
        r->active--;
    }
}

static int requests_exhausted(const struct run *r)
{
    return r->opts->max_requests && r->started >= r->opts->max_requests;
}

/* Ends the loop once the run is stopping (or every request was sent) and no connection
 * has a request in flight. */
static void maybe_finish(struct run *r)
{
    if (!r->stopping && requests_exhausted(r) && r->active == 0) {
        r->stopping = 1;
        r->res->ended = LOAD_END_REQUESTS;
    }
    if (r->stopping && r->active == 0)
        loop_stop(r->loop);
}

static int may_start_request(struct run *r)
{
    return !r->stopping && !requests_exhausted(r);
}

/* The run ends for `why` (the first reason wins): no request starts any more, and
 * the loop stops once those in flight are answered or time out. */
static void run_stop(struct run *r, enum load_end why)
{
    if (r->stopping)
        return;
    r->stopping = 1;
    r->res->ended = why;
    timer_stop(r->loop, &r->end_timer);
    timer_stop(r->loop, &r->retry_timer);
    timer_stop(r->loop, &r->file_timer);
    maybe_finish(r);
}

/* Keeps the first failures with what the client knew of them (err: the errno, or 0). */
static void sample_failure(struct run *r, const struct conn *c, uint64_t now,
                           enum load_failure kind, int err)
{
    if (r->res->nsamples >= FAILURE_SAMPLES)
        return;
    r->res->samples[r->res->nsamples++] = (struct failure_sample){
        .t_ms = (int64_t)(now - r->start_us) / 1000,
        .connect_ms = (int64_t)(c->connected_us - r->start_us) / 1000,
        .kind = kind,
        .err = err,
        .state = c->state,
        .sent = c->sent,
        .got_response = c->state == CONN_RECEIVING && c->resp.status != 0,
    };
}

/* Counts a failed request (err: the errno behind it, or 0), then starts the next one. */
static void conn_fail(struct conn *c, enum load_failure kind, int err)
{
    struct run *r = c->run;
    uint64_t now = clock_now_us();
    sample_failure(r, c, now, kind, err);
    r->res->requests++;
    r->res->failures[kind]++;
    struct bucket *b = bucket_at(r, now);
    b->requests++;
    b->failures++;
    conn_close(c);
    /* A refused connect is retried by the retry timer, not in a tight loop. */
    if (kind != LOAD_FAIL_CONNECT && may_start_request(r))
        conn_start(c);
    maybe_finish(r);
}

static void on_timeout(struct loop *loop, struct timer *t)
{
    conn_fail(t->data, LOAD_FAIL_TIMEOUT, 0);
}

static void begin_request(struct conn *c)
{
    struct run *r = c->run;
    r->started++;
    c->sent = 0;
    c->request_start_us = clock_now_us();
    load_response_init(&c->resp);
    timer_start(r->loop, &c->timeout, (uint64_t)r->opts->timeout_ms, on_timeout, c);
}

static void record_success(struct conn *c)
{
    struct run *r = c->run;
    struct load_result *res = r->res;
    uint64_t now = clock_now_us();
    res->requests++;
    res->ok++;
    if (res->nlatency == res->latency_cap && res->latency_cap < LATENCY_CAP) {
        uint32_t *grown = realloc(res->latency_us, 2 * res->latency_cap * sizeof(uint32_t));
        if (grown) {
            res->latency_us = grown;
            res->latency_cap *= 2;
        }
    }
    struct bucket *b = bucket_at(r, now);
    if (res->nlatency < res->latency_cap) {
        if (b->nlat++ == 0)
            b->lat_first = (uint32_t)res->nlatency;
        res->latency_us[res->nlatency++] = (uint32_t)(now - c->request_start_us);
    }
    const char *name = c->resp.version[0] ? c->resp.version : "-";
    int vi = version_index(res, name);
    struct version_stat *v = &res->versions[vi];
    int64_t sent_ms = (int64_t)((c->request_start_us - r->start_us) / 1000);
    v->count++;
    if (v->first_sent_ms < 0)
        v->first_sent_ms = sent_ms;
    if (sent_ms >= v->last_sent_ms) {
        v->last_sent_ms = sent_ms;
        v->last_connected_ms = (int64_t)((c->connected_us - r->start_us) / 1000);
    }
    b->requests++;
    b->versions[vi]++;
}

static void on_io(struct loop *loop, struct watcher *w, uint32_t revents);

static void send_some(struct conn *c)
{
    struct run *r = c->run;
    while (c->sent < r->request_len) {
        ssize_t n = send(c->w.fd, r->request + c->sent, r->request_len - c->sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            loop_rewatch(r->loop, &c->w, EPOLLOUT, NULL);
            return;
        }
        if (n < 0) {
            conn_fail(c, errno == ECONNRESET ? LOAD_FAIL_RESET : LOAD_FAIL_PREMATURE_CLOSE, errno);
            return;
        }
        c->sent += (size_t)n;
    }
    c->state = CONN_RECEIVING;
    loop_rewatch(r->loop, &c->w, EPOLLIN | EPOLLRDHUP, NULL);
}

/* A response is complete: count it, then keep the connection or start a new one. */
static void response_done(struct conn *c)
{
    struct run *r = c->run;
    timer_stop(r->loop, &c->timeout);
    if (c->resp.status < 200 || c->resp.status >= 400) {
        conn_fail(c, LOAD_FAIL_BAD_STATUS, 0);
        return;
    }
    record_success(c);
    if (!c->resp.keep_alive || r->opts->close_each || !may_start_request(r)) {
        /* The server closes first when it said Connection: close, so the TIME_WAIT
         * state stays on its side; otherwise close now. */
        conn_close(c);
        if (may_start_request(r))
            conn_start(c);
        maybe_finish(r);
        return;
    }
    begin_request(c);
    c->state = CONN_SENDING;
    send_some(c);
}

static void read_some(struct conn *c)
{
    struct run *r = c->run;
    for (;;) {
        ssize_t n = recv(c->w.fd, r->buf, sizeof(r->buf), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0) {
            conn_fail(c, errno == ECONNRESET ? LOAD_FAIL_RESET : LOAD_FAIL_PREMATURE_CLOSE, errno);
            return;
        }
        if (n == 0) {
            if (load_response_eof(&c->resp) == 1)
                response_done(c);
            else
                conn_fail(c, LOAD_FAIL_PREMATURE_CLOSE, 0);
            return;
        }
        size_t used;
        int rc = load_response_feed(&c->resp, r->buf, (size_t)n, &used);
        if (rc < 0) {
            conn_fail(c, LOAD_FAIL_BAD_STATUS, 0);
            return;
        }
        if (rc == 1) {
            response_done(c);
            return;
        }
    }
}

static void on_io(struct loop *loop, struct watcher *w, uint32_t revents)
{
    struct conn *c = w->data;
    if (c->state == CONN_CONNECTING) {
        int err = addr_sock_error(c->w.fd);
        if (err) {
            conn_fail(c, LOAD_FAIL_CONNECT, err);
            return;
        }
        c->state = CONN_SENDING;
        send_some(c);
        return;
    }
    if (c->state == CONN_SENDING) {
        if (revents & (EPOLLERR | EPOLLHUP)) {
            conn_fail(c, LOAD_FAIL_RESET, addr_sock_error(c->w.fd));
            return;
        }
        send_some(c);
        return;
    }
    if (c->state == CONN_RECEIVING)
        read_some(c);
}

static void conn_start(struct conn *c)
{
    struct run *r = c->run;
    begin_request(c);
    /* Stamped before connect(): a connection whose connect started after a moment T
     * can only have been accepted by a server that was accepting after T. */
    c->connected_us = clock_now_us();
    int fd = addr_connect(&r->addr, NULL);
    if (fd < 0) {
        uint64_t now = clock_now_us();
        sample_failure(r, c, now, LOAD_FAIL_CONNECT, errno);
        struct bucket *b = bucket_at(r, now);
        r->res->requests++;
        r->res->failures[LOAD_FAIL_CONNECT]++;
        b->requests++;
        b->failures++;
        timer_stop(r->loop, &c->timeout);
        return; /* the retry timer tries again */
    }
    c->state = CONN_CONNECTING;
    r->active++;
    if (loop_watch(r->loop, &c->w, fd, EPOLLOUT, on_io, c, NULL) < 0) {
        close(fd);
        c->state = CONN_IDLE;
        r->active--;
        timer_stop(r->loop, &c->timeout);
    }
}

/* Restarts idle connections (after a refused connect) every 10 ms: a refused host
 * is retried at a bounded rate instead of in a tight loop. */
static void on_retry(struct loop *loop, struct timer *t)
{
    struct run *r = t->data;
    if (r->stopping)
        return;
    for (int i = 0; i < r->opts->connections; i++)
        if (r->conns[i].state == CONN_IDLE && may_start_request(r))
            conn_start(&r->conns[i]);
    timer_start(loop, t, 10, on_retry, r);
    maybe_finish(r); /* every request sent, the last connects refused at once */
}

/* How long the run may last: its duration, or the cap of an until_file run. */
static double run_length_s(const struct load_opts *opts)
{
    return opts->until_file ? opts->max_duration_s : opts->duration_s;
}

static void on_end(struct loop *loop, struct timer *t)
{
    struct run *r = t->data;
    run_stop(r, r->opts->until_file ? LOAD_END_MAX_DURATION : LOAD_END_DURATION);
}

static void on_file_poll(struct loop *loop, struct timer *t)
{
    struct run *r = t->data;
    if (access(r->opts->until_file, F_OK) == 0)
        run_stop(r, LOAD_END_FILE);
    else
        timer_start(loop, t, FILE_POLL_MS, on_file_poll, r);
}

/* The first SIGINT/SIGTERM ends the run gently; another one while it ends stops it at
 * once (requests still in flight are then not counted). */
static void on_signal(struct loop *loop, struct watcher *w, uint32_t revents)
{
    struct run *r = w->data;
    struct signalfd_siginfo si;
    while (read(w->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (r->stopping)
            loop_stop(loop);
        else
            run_stop(r, LOAD_END_SIGNAL);
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The p-th percentile of n sorted samples (microseconds), in milliseconds. */
static double sorted_percentile_ms(const uint32_t *us, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)ceil(p * (double)n) - 1;
    return us[i >= n ? n - 1 : i] / 1000.0;
}

/* Sorts bucket i's latency samples and takes their percentiles (once it is over). */
static void bucket_finish(struct load_result *res, size_t i)
{
    struct bucket *b = &res->buckets[i];
    if (b->lat_done)
        return;
    uint32_t *us = res->latency_us + b->lat_first;
    qsort(us, b->nlat, sizeof(*us), cmp_u32);
    b->p50_ms = sorted_percentile_ms(us, b->nlat, 0.50);
    b->p99_ms = sorted_percentile_ms(us, b->nlat, 0.99);
    b->lat_done = 1;
}

/* A bucket of the timeline; its latency percentiles are null when it has no sample. */
static json_t *bucket_json(const struct load_result *res, size_t i)
{
    const struct bucket *b = &res->buckets[i];
    json_t *bv = json_object();
    for (int k = 0; k < res->nversions; k++)
        if (b->versions[k])
            json_object_set_new(bv, res->versions[k].name, json_integer(b->versions[k]));
    return json_pack("{s:I,s:i,s:i,s:o,s:o,s:o}", "t_ms", (json_int_t)(i * BUCKET_MS), "requests",
                     (int)b->requests, "failures", (int)b->failures, "versions", bv, "p50_ms",
                     b->nlat ? json_real(b->p50_ms) : json_null(), "p99_ms",
                     b->nlat ? json_real(b->p99_ms) : json_null());
}

/* The buckets of a result worth reporting: those the run's length reached. */
static size_t buckets_used(const struct load_result *res)
{
    size_t used = (size_t)(res->duration_ms / BUCKET_MS) + 1;
    return used > res->nbuckets ? res->nbuckets : used;
}

/* Writes buckets [r->live_next, upto) to opts->live, one JSON line each. */
static void live_write(struct run *r, size_t upto)
{
    for (; r->live_next < upto && r->live_next < r->res->nbuckets; r->live_next++) {
        bucket_finish(r->res, r->live_next);
        json_t *j = bucket_json(r->res, r->live_next);
        json_dumpf(j, r->opts->live, JSON_COMPACT);
        json_decref(j);
        fputc('\n', r->opts->live);
    }
    fflush(r->opts->live);
}

static void on_live(struct loop *loop, struct timer *t)
{
    struct run *r = t->data;
    live_write(r, (size_t)((clock_now_us() - r->start_us) / 1000 / BUCKET_MS));
    timer_start(loop, t, BUCKET_MS, on_live, r);
}

int load_parse_url(const char *url, char *host_port, size_t hp_size, char *path, size_t path_size,
                   struct err *e)
{
    if (strncmp(url, "http://", 7) != 0)
        return err_set(e, "invalid URL '%s': only http://HOST:PORT/PATH is supported", url);
    const char *h = url + 7;
    const char *slash = strchr(h, '/');
    size_t hl = slash ? (size_t)(slash - h) : strlen(h);
    if (hl == 0 || hl + 4 >= hp_size)
        return err_set(e, "invalid URL '%s': missing or overlong host", url);
    memcpy(host_port, h, hl);
    host_port[hl] = 0;
    const char *last_colon = strrchr(host_port, ':');
    const char *bracket = strrchr(host_port, ']');
    if (!last_colon || (bracket && last_colon < bracket))
        strcat(host_port, ":80");
    const char *p = slash ? slash : "/";
    if (strlen(p) >= path_size)
        return err_set(e, "invalid URL '%s': path too long", url);
    strcpy(path, p);
    return 0;
}

/* The request, the result and the connections of a run (run_free releases them). */
static int run_alloc(struct run *r, const char *host_port, const char *path, struct err *e)
{
    const struct load_opts *opts = r->opts;
    r->res = calloc(1, sizeof(*r->res));
    r->conns = calloc((size_t)opts->connections, sizeof(*r->conns));
    r->request = malloc(strlen(path) + strlen(host_port) + 128);
    if (!r->res || !r->conns || !r->request)
        return err_errno(e, ENOMEM, "cannot allocate the load run");
    r->request_len = (size_t)sprintf(r->request, "GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", path,
                                     host_port, opts->close_each ? "Connection: close\r\n" : "");
    r->res->nbuckets = (size_t)(run_length_s(opts) * 1000 / BUCKET_MS) + 2 +
                       (size_t)(opts->timeout_ms / BUCKET_MS);
    r->res->buckets = calloc(r->res->nbuckets, sizeof(*r->res->buckets));
    r->res->latency_cap = 1u << 16;
    r->res->latency_us = malloc(r->res->latency_cap * sizeof(uint32_t));
    if (!r->res->buckets || !r->res->latency_us)
        return err_errno(e, ENOMEM, "cannot allocate the load run");
    return 0;
}

/* Releases what run_alloc and load_run made; safe on a half-built run. */
static void run_free(struct run *r)
{
    if (r->loop) {
        for (int i = 0; r->conns && i < r->opts->connections; i++) {
            conn_close(&r->conns[i]);
            load_response_free(&r->conns[i].resp);
        }
        timer_stop(r->loop, &r->retry_timer);
        timer_stop(r->loop, &r->end_timer);
        timer_stop(r->loop, &r->file_timer);
        timer_stop(r->loop, &r->live_timer);
        if (r->signals.fd >= 0) {
            loop_unwatch(r->loop, &r->signals);
            close(r->signals.fd);
        }
        loop_free(r->loop);
        r->loop = NULL;
    }
    free(r->conns);
    free(r->request);
    load_result_free(r->res);
}

int load_run(const struct load_opts *opts, struct load_result **out, struct err *e)
{
    struct run r = {.opts = opts, .signals.fd = -1};
    char host_port[300], path[2048];
    int rc = -1;
    if (opts->connections < 1 || opts->connections > 10000)
        return err_set(e, "--connections must be 1..10000");
    if (load_parse_url(opts->url, host_port, sizeof(host_port), path, sizeof(path), e) < 0)
        return -1;
    if (addr_parse(host_port, 0, &r.addr, e) < 0)
        return -1;
    if (run_alloc(&r, host_port, path, e) < 0 || loop_new(&r.loop, e) < 0)
        goto out;
    if (opts->stop_on_signal &&
        loop_watch_signals(r.loop, &r.signals, (const int[]){SIGINT, SIGTERM}, 2, on_signal, &r,
                           e) < 0)
        goto out;
    r.res->start_unix_ms = clock_wall_ms();
    r.start_us = clock_now_us();
    timer_start(r.loop, &r.end_timer, (uint64_t)(run_length_s(opts) * 1000), on_end, &r);
    timer_start(r.loop, &r.retry_timer, 10, on_retry, &r);
    if (opts->until_file)
        timer_start(r.loop, &r.file_timer, 0, on_file_poll, &r);
    if (opts->live)
        timer_start(r.loop, &r.live_timer, BUCKET_MS, on_live, &r);
    for (int i = 0; i < opts->connections; i++) {
        r.conns[i].run = &r;
        if (may_start_request(&r))
            conn_start(&r.conns[i]);
    }
    if (loop_run(r.loop, e) < 0)
        goto out;
    r.res->duration_ms = (clock_now_us() - r.start_us) / 1000;
    if (opts->live)
        live_write(&r, buckets_used(r.res));
    for (size_t i = 0; i < r.res->nbuckets; i++)
        bucket_finish(r.res, i);
    qsort(r.res->latency_us, r.res->nlatency, sizeof(uint32_t), cmp_u32);
    *out = r.res;
    r.res = NULL;
    rc = 0;
out:
    run_free(&r);
    return rc;
}

enum load_end load_result_end(const struct load_result *r)
{
    return r->ended;
}

const char *load_end_name(enum load_end end)
{
    return end >= 0 && end < (int)(sizeof(end_names) / sizeof(end_names[0])) ? end_names[end]
                                                                             : "unknown";
}

uint64_t load_result_failed(const struct load_result *r)
{
    uint64_t n = 0;
    for (int i = 0; i < LOAD_FAIL_KINDS; i++)
        n += r->failures[i];
    return n;
}

static double percentile_ms(const struct load_result *r, double p)
{
    return sorted_percentile_ms(r->latency_us, r->nlatency, p);
}

static const char *const state_names[] = {"idle", "connecting", "sending", "receiving"};

static json_t *samples_json(const struct load_result *r)
{
    json_t *a = json_array();
    for (int i = 0; i < r->nsamples; i++) {
        const struct failure_sample *f = &r->samples[i];
        const char *name = f->err ? strerrorname_np(f->err) : NULL;
        json_array_append_new(
            a, json_pack("{s:I,s:I,s:s,s:s?,s:s,s:I,s:b}", "t_ms", (json_int_t)f->t_ms,
                         "connect_ms", (json_int_t)f->connect_ms, "kind", failure_names[f->kind],
                         "errno", name, "phase", state_names[f->state], "sent", (json_int_t)f->sent,
                         "response_started", f->got_response));
    }
    return a;
}

json_t *load_result_json(const struct load_result *r)
{
    json_t *fail = json_object();
    for (int i = 0; i < LOAD_FAIL_KINDS; i++)
        json_object_set_new(fail, failure_names[i], json_integer((json_int_t)r->failures[i]));
    json_t *versions = json_object();
    for (int i = 0; i < r->nversions; i++) {
        const struct version_stat *v = &r->versions[i];
        json_object_set_new(versions, v->name,
                            json_pack("{s:I,s:I,s:I,s:I}", "count", (json_int_t)v->count,
                                      "first_sent_ms", (json_int_t)v->first_sent_ms, "last_sent_ms",
                                      (json_int_t)v->last_sent_ms, "last_connected_ms",
                                      (json_int_t)v->last_connected_ms));
    }
    json_t *timeline = json_array();
    size_t used = buckets_used(r);
    for (size_t i = 0; i < used; i++)
        json_array_append_new(timeline, bucket_json(r, i));
    double max = r->nlatency ? r->latency_us[r->nlatency - 1] / 1000.0 : 0;
    return json_pack("{s:I,s:I,s:s,s:I,s:I,s:I,s:o,s:o,s:{s:f,s:f,s:f},s:o,s:o}", "start_unix_ms",
                     (json_int_t)r->start_unix_ms, "duration_ms", (json_int_t)r->duration_ms,
                     "ended", load_end_name(r->ended), "requests", (json_int_t)r->requests, "ok",
                     (json_int_t)r->ok, "failed", (json_int_t)load_result_failed(r), "failures",
                     fail, "failure_samples", samples_json(r), "latency_ms", "p50",
                     percentile_ms(r, 0.50), "p99", percentile_ms(r, 0.99), "max", max, "versions",
                     versions, "timeline", timeline);
}

void load_result_print(const struct load_result *r, FILE *out)
{
    double secs = r->duration_ms / 1000.0;
    fprintf(out, "requests   %llu in %.1f s (%.0f/s)\n", (unsigned long long)r->requests, secs,
            secs > 0 ? r->requests / secs : 0);
    fprintf(out, "ok         %llu\nfailed     %llu", (unsigned long long)r->ok,
            (unsigned long long)load_result_failed(r));
    const char *sep = " (";
    for (int i = 0; i < LOAD_FAIL_KINDS; i++)
        if (r->failures[i]) {
            fprintf(out, "%s%s %llu", sep, failure_names[i], (unsigned long long)r->failures[i]);
            sep = ", ";
        }
    fprintf(out, "%s\n", sep[0] == ',' ? ")" : "");
    fprintf(out, "latency    p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", percentile_ms(r, 0.5),
            percentile_ms(r, 0.99), r->nlatency ? r->latency_us[r->nlatency - 1] / 1000.0 : 0);
    if (r->ended != LOAD_END_DURATION)
        fprintf(out, "ended      %s\n", load_end_name(r->ended));
    for (int i = 0; i < r->nversions; i++)
        fprintf(out, "version    %-12s %llu answers, sent %lld..%lld ms\n", r->versions[i].name,
                (unsigned long long)r->versions[i].count, (long long)r->versions[i].first_sent_ms,
                (long long)r->versions[i].last_sent_ms);
}

void load_result_free(struct load_result *r)
{
    if (!r)
        return;
    free(r->latency_us);
    free(r->buckets);
    free(r);
}
