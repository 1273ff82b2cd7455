/* libFuzzer target: differential test of the http mode's request side. The input is
 * what a client sends; it goes through a real engine (src/proxy, http relay) over unix
 * sockets on an event loop, to a backend that reads every forwarded byte with a second,
 * independent strict parser (this file: canonical HTTP/1.1 only) and answers each
 * request 200. The client's bytes are also read by llhttp as the proxy reads them.
 * Checked on every input:
 *   - the forwarded bytes parse under the strict parser (a cut-short last message is
 *     allowed: the proxy closed in its body);
 *   - forwarded message i has the method, target, end-to-end fields and body of the
 *     client's message i as llhttp read it;
 *   - nothing is forwarded after a message the proxy refused: the backend got exactly
 *     as many whole messages as the client got 200s, and an error answer is the last. */
#include <errno.h>
#include <llhttp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy_harness.h"

#define MSGS_MAX   16
#define FIELDS_MAX 128
#define TEXT_MAX   (1 << 16)

/* --- a message, as either parser read it ---------------------------------------- */

struct message {
    char text[TEXT_MAX]; /* method, target, names, values and body, back to back */
    size_t len;
    size_t method, method_len, target, target_len, body, body_len;
    size_t name[FIELDS_MAX], name_len[FIELDS_MAX], value[FIELDS_MAX], value_len[FIELDS_MAX];
    int nfields;
    int whole;
};

static size_t add(struct message *m, const char *p, size_t n)
{
    if (m->len + n > TEXT_MAX)
        __builtin_trap(); /* the inputs are far smaller */
    memcpy(m->text + m->len, p, n);
    m->len += n;
    return m->len - n;
}

static int span_is(const struct message *m, size_t off, size_t len, const char *word)
{
    return len == strlen(word) && strncasecmp(m->text + off, word, len) == 0;
}

/* Fields a proxy may drop or write itself: hop-by-hop ones and the framing. */
static int hop_by_hop(const struct message *m, int i)
{
    static const char *const names[] = {
        "connection",     "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
        "content-length", "upgrade",    "x-forwarded-for"};
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
        if (span_is(m, m->name[i], m->name_len[i], names[k]))
            return 1;
    return 0;
}

/* The Connection options of m name more fields of this hop only. */
static int named_in_connection(const struct message *m, int i)
{
    for (int k = 0; k < m->nfields; k++) {
        if (!span_is(m, m->name[k], m->name_len[k], "connection"))
            continue;
        const char *v = m->text + m->value[k], *end = v + m->value_len[k];
        while (v < end) {
            while (v < end && (*v == ' ' || *v == '\t' || *v == ','))
                v++;
            const char *t = v;
            while (v < end && *v != ',' && *v != ' ' && *v != '\t')
                v++;
            static const char *const options[] = {"close", "keep-alive", "upgrade"};
            int option = 0;
            for (size_t o = 0; o < 3; o++)
                option |= (size_t)(v - t) == strlen(options[o]) &&
                          strncasecmp(t, options[o], (size_t)(v - t)) == 0;
            if (!option && (size_t)(v - t) == m->name_len[i] && (size_t)(v - t) > 0 &&
                strncasecmp(t, m->text + m->name[i], m->name_len[i]) == 0 &&
                !span_is(m, m->name[i], m->name_len[i], "host"))
                return 1;
        }
    }
    return 0;
}

static int end_to_end(const struct message *m, int i)
{
    return !hop_by_hop(m, i) && !named_in_connection(m, i);
}

/* --- the client's messages, read by llhttp as the proxy reads them ---------------- */

static struct message client[MSGS_MAX];
static int nclient;
static int last_was_value;

static struct message *cur(void)
{
    return &client[nclient];
}

/* Appends a piece of the method or the target: it starts at its first piece. */
static int extend(size_t *off, size_t *len, const char *at, size_t n)
{
    size_t o = add(cur(), at, n);
    if (!*len)
        *off = o;
    *len += n;
    return 0;
}

static int on_method(llhttp_t *p, const char *at, size_t n)
{
    return extend(&cur()->method, &cur()->method_len, at, n);
}

static int on_url(llhttp_t *p, const char *at, size_t n)
{
    return extend(&cur()->target, &cur()->target_len, at, n);
}

static int on_field(llhttp_t *p, const char *at, size_t n)
{
    struct message *m = cur();
    if (p->flags & F_TRAILING)
        return 0; /* trailers are dropped by the proxy */
    if (last_was_value || m->nfields == 0) {
        if (m->nfields >= FIELDS_MAX)
            return -1;
        m->name[m->nfields] = m->len;
        m->name_len[m->nfields] = 0;
        m->value[m->nfields] = 0;
        m->value_len[m->nfields] = 0;
        m->nfields++;
        last_was_value = 0;
    }
    add(m, at, n);
    m->name_len[m->nfields - 1] += n;
    return 0;
}

static int on_value(llhttp_t *p, const char *at, size_t n)
{
    struct message *m = cur();
    if (p->flags & F_TRAILING)
        return 0;
    if (!last_was_value)
        m->value[m->nfields - 1] = m->len;
    last_was_value = 1;
    add(m, at, n);
    m->value_len[m->nfields - 1] += n;
    return 0;
}

static int on_headers(llhttp_t *p)
{
    cur()->body = cur()->len;
    last_was_value = 1;
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
    add(cur(), at, n);
    cur()->body_len += n;
    return 0;
}

static int on_done(llhttp_t *p)
{
    cur()->whole = 1;
    nclient++;
    return nclient >= MSGS_MAX ? HPE_PAUSED : 0;
}

static void read_client(const uint8_t *data, size_t size)
{
    static const llhttp_settings_t s = {.on_method = on_method,
                                        .on_url = on_url,
                                        .on_header_field = on_field,
                                        .on_header_value = on_value,
                                        .on_headers_complete = on_headers,
                                        .on_body = on_body,
                                        .on_message_complete = on_done};
    llhttp_t p;
    llhttp_init(&p, HTTP_REQUEST, &s);
    memset(client, 0, sizeof(client));
    nclient = 0;
    last_was_value = 0;
    llhttp_execute(&p, (const char *)data, size); /* stops at the first error */
    if (nclient < MSGS_MAX)
        memset(&client[nclient], 0, sizeof(client[0]));
}

/* --- the forwarded messages, read by a second, strict parser ----------------------- */

static struct message fwd[MSGS_MAX];
static int nfwd;

static int is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* One line ending in CRLF at p (no CR or LF inside): its length, -1 if cut short. A
 * bare CR or LF traps: the proxy must never forward one. */
static long line_at(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n')
            __builtin_trap();
        if (p[i] == '\r') {
            if (i + 1 >= n)
                return -1;
            if (p[i + 1] != '\n')
                __builtin_trap();
            return (long)i;
        }
    }
    return -1;
}

static uint64_t parse_digits(const char *p, size_t n, int base)
{
    uint64_t x = 0;
    if (n == 0 || n > 16 || (n > 1 && p[0] == '0'))
        __builtin_trap(); /* canonical numbers only */
    for (size_t i = 0; i < n; i++) {
        int d = p[i] >= '0' && p[i] <= '9'                 ? p[i] - '0'
                : base == 16 && p[i] >= 'a' && p[i] <= 'f' ? p[i] - 'a' + 10
                                                           : -1;
        if (d < 0)
            __builtin_trap();
        x = x * (uint64_t)base + (uint64_t)d;
    }
    return x;
}

/* The request line and fields of one forwarded head. Returns the head's length, or 0
 * if cut short; traps on anything not canonical. *framing: 0 none, 1 length, 2 chunked */
static size_t strict_head(const char *p, size_t n, struct message *m, int *framing, uint64_t *len)
{
    long l = line_at(p, n);
    if (l < 0)
        return 0;
    const char *sp1 = memchr(p, ' ', (size_t)l);
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(p + l - sp1 - 1)) : NULL;
    if (!sp1 || !sp2 || sp1 == p || sp2 == sp1 + 1 || p + l - sp2 != 9 ||
        (memcmp(sp2, " HTTP/1.1", 9) != 0 && memcmp(sp2, " HTTP/1.0", 9) != 0))
        __builtin_trap();
    for (const char *q = p; q < sp1; q++)
        if (!is_tchar((unsigned char)*q))
            __builtin_trap();
    for (const char *q = sp1 + 1; q < sp2; q++)
        if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
            __builtin_trap();
    m->method = add(m, p, (size_t)(sp1 - p));
    m->method_len = (size_t)(sp1 - p);
    m->target = add(m, sp1 + 1, (size_t)(sp2 - sp1 - 1));
    m->target_len = (size_t)(sp2 - sp1 - 1);
    size_t off = (size_t)l + 2;
    *framing = 0;
    for (;;) {
        l = line_at(p + off, n - off);
        if (l < 0)
            return 0;
        if (l == 0)
            return off + 2;
        const char *f = p + off, *colon = memchr(f, ':', (size_t)l);
        if (!colon || colon == f)
            __builtin_trap();
        int empty = colon == f + l - 1; /* "Name:" */
        if (!empty && (colon + 2 > f + l || colon[1] != ' ' || colon[2] == ' ' ||
                       colon[2] == '\t' || f[l - 1] == ' ' || f[l - 1] == '\t'))
            __builtin_trap();
        for (const char *q = f; q < colon; q++)
            if (!is_tchar((unsigned char)*q))
                __builtin_trap();
        for (const char *q = colon + 2; q < f + l; q++)
            if ((unsigned char)*q < 0x20 && *q != '\t')
                __builtin_trap();
        if (m->nfields >= FIELDS_MAX)
            __builtin_trap();
        int i = m->nfields++;
        m->name_len[i] = (size_t)(colon - f);
        m->name[i] = add(m, f, m->name_len[i]);
        m->value_len[i] = empty ? 0 : (size_t)(f + l - colon - 2);
        m->value[i] = add(m, colon + 2, m->value_len[i]);
        if (span_is(m, m->name[i], m->name_len[i], "content-length")) {
            if (*framing)
                __builtin_trap(); /* one framing field, never two */
            *framing = 1;
            *len = parse_digits(m->text + m->value[i], m->value_len[i], 10);
        } else if (span_is(m, m->name[i], m->name_len[i], "transfer-encoding")) {
            if (*framing || !span_is(m, m->value[i], m->value_len[i], "chunked"))
                __builtin_trap();
            *framing = 2;
        }
        off += (size_t)l + 2;
    }
}

/* The body after a head: its length in the stream, 0 if cut short. */
static size_t strict_body(const char *p, size_t n, struct message *m, int framing, uint64_t len)
{
    m->body = m->len;
    if (framing == 0)
        return (size_t)-1; /* no body: 0 bytes, whole */
    if (framing == 1) {
        if (n < len)
            return 0;
        add(m, p, (size_t)len);
        m->body_len = (size_t)len;
        return len ? (size_t)len : (size_t)-1;
    }
    size_t off = 0;
    for (;;) {
        long l = line_at(p + off, n - off);
        if (l < 0)
            return 0;
        uint64_t size = parse_digits(p + off, (size_t)l, 16);
        off += (size_t)l + 2;
        if (size == 0) {
            if (n - off < 2)
                return 0;
            if (p[off] != '\r' || p[off + 1] != '\n')
                __builtin_trap(); /* no trailers are forwarded */
            return off + 2;
        }
        if (n - off < size + 2)
            return 0;
        add(m, p + off, (size_t)size);
        m->body_len += (size_t)size;
        off += (size_t)size;
        if (p[off] != '\r' || p[off + 1] != '\n')
            __builtin_trap();
        off += 2;
    }
}

/* Reads the whole messages at the start of p; returns the bytes they took. */
static size_t read_forwarded(const char *p, size_t n)
{
    size_t used = 0;
    while (nfwd < MSGS_MAX && used < n) {
        struct message *m = &fwd[nfwd];
        memset(m, 0, sizeof(*m));
        int framing;
        uint64_t len = 0;
        size_t head = strict_head(p + used, n - used, m, &framing, &len);
        if (!head)
            break;
        size_t body = strict_body(p + used + head, n - used - head, m, framing, len);
        if (!body)
            break;
        m->whole = 1;
        nfwd++;
        used += head + (body == (size_t)-1 ? 0 : body);
    }
    return used;
}

/* --- comparing them ---------------------------------------------------------------- */

static void trimmed(const struct message *m, int i, const char **v, size_t *n)
{
    const char *p = m->text + m->value[i];
    size_t len = m->value_len[i];
    while (len && (*p == ' ' || *p == '\t'))
        p++, len--;
    while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
    *v = p;
    *n = len;
}

static int next_e2e(const struct message *m, int i)
{
    while (i < m->nfields && !end_to_end(m, i))
        i++;
    return i;
}

static void same_message(const struct message *a, const struct message *b)
{
    if (a->method_len != b->method_len ||
        memcmp(a->text + a->method, b->text + b->method, a->method_len) != 0 ||
        a->target_len != b->target_len ||
        memcmp(a->text + a->target, b->text + b->target, a->target_len) != 0 ||
        a->body_len != b->body_len ||
        memcmp(a->text + a->body, b->text + b->body, a->body_len) != 0)
        __builtin_trap();
    int i = next_e2e(a, 0), k = next_e2e(b, 0);
    for (; i < a->nfields && k < b->nfields; i = next_e2e(a, i + 1), k = next_e2e(b, k + 1)) {
        const char *va, *vb;
        size_t na, nb;
        trimmed(a, i, &va, &na);
        trimmed(b, k, &vb, &nb);
        if (a->name_len[i] != b->name_len[k] ||
            memcmp(a->text + a->name[i], b->text + b->name[k], a->name_len[i]) != 0 || na != nb ||
            memcmp(va, vb, na) != 0)
            __builtin_trap();
    }
    if (i < a->nfields || k < b->nfields)
        __builtin_trap(); /* a field lost or added */
}

/* --- the engine, a backend and a client over unix sockets --------------------------- */

struct peer {
    struct watcher w;
    char buf[1 << 16];
    size_t len, parsed;
};

static void on_backend_conn(struct loop *l, struct watcher *w, uint32_t revents)
{
    struct peer *b = w->data;
    ssize_t n = recv(w->fd, b->buf + b->len, sizeof(b->buf) - b->len, MSG_DONTWAIT);
    if (n > 0) {
        b->len += (size_t)n;
        int before = nfwd;
        b->parsed += read_forwarded(b->buf + b->parsed, b->len - b->parsed);
        static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        for (int i = before; i < nfwd; i++)
            send(w->fd, ok, sizeof(ok) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (b->parsed == b->len)
            b->len = b->parsed = 0;
        return;
    }
    peer_closed(l, w, n);
}

/* Small buffers: the body re-framing meets full buffers. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct proxy_config cfg = harness_config(500, 1000, 1024, 2048);
    cfg.xff = 0; /* no X-Forwarded-For: the forwarded fields are the client's */
    return harness_start("diff", sizeof(struct peer), on_backend_conn, &cfg);
}

static char answers[1 << 17];
static size_t answers_len;

static void on_client(struct loop *l, struct watcher *w, uint32_t revents)
{
    for (;;) {
        ssize_t n = recv(w->fd, answers + answers_len, sizeof(answers) - answers_len, MSG_DONTWAIT);
        if (n > 0) {
            answers_len += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EAGAIN)
            return;
        loop_stop(l); /* the proxy closed: the exchange is over */
        return;
    }
}

/* The statuses the client got, in order; the proxy's error answer must be the last. */
static int count_ok(void)
{
    size_t off = 0;
    int ok = 0, error = 0;
    while (off < answers_len) {
        const char *p = answers + off, *end = memmem(p, answers_len - off, "\r\n\r\n", 4);
        if (error || !end || answers_len - off < 13 || memcmp(p, "HTTP/1.1 ", 9) != 0)
            __builtin_trap();
        int status = atoi(p + 9);
        const char *cl = memmem(p, (size_t)(end - p), "Content-Length: ", 16);
        size_t body = cl ? (size_t)atol(cl + 16) : 0;
        off = (size_t)(end - answers) + 4 + body;
        if (status == 200)
            ok++;
        else
            error = 1;
    }
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    read_client(data, size);
    nfwd = 0;
    answers_len = 0;
    if (harness_exchange(data, size, on_client, 3000) < 0)
        abort();
    if (count_ok() != nfwd)
        __builtin_trap(); /* a forwarded message not answered, or one answered twice */
    for (int i = 0; i < nfwd; i++) {
        if (i >= nclient || !client[i].whole)
            __builtin_trap(); /* forwarded what llhttp did not read as a whole message */
        same_message(&client[i], &fwd[i]);
    }
    return 0;
}
