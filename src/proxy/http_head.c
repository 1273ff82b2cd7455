/* The strict head checker and the canonical head writer of the http mode (see
 * http_head.h). What llhttp 8.1 lets through and this file rejects: obs-fold lines, a
 * bare LF ending a head, several spaces in a start line, an empty field name, control
 * characters in a reason phrase, versions other than HTTP/1.0 and HTTP/1.1, a missing
 * or repeated Host, Transfer-Encoding in HTTP/1.0, repeated framing fields. */
#include "proxy/http_head.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* field-vchar, SP and HTAB: what a field value, a reason phrase or a trailer may hold */
static int is_text(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int fail(struct http_head *h, int status, const char *why)
{
    h->error = why;
    return status;
}

static int span_is(const char *raw, struct head_span s, const char *word)
{
    return s.len == strlen(word) && strncasecmp(raw + s.off, word, s.len) == 0;
}

/* Every CR is followed by LF and every LF preceded by CR; no NUL anywhere. */
static const char *check_line_ends(const char *raw, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (raw[i] == '\r' && (i + 1 >= len || raw[i + 1] != '\n'))
            return "bare CR in head";
        if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r'))
            return "bare LF in head";
        if (raw[i] == 0)
            return "NUL in head";
    }
    if (len < 4 || memcmp(raw + len - 4, "\r\n\r\n", 4) != 0)
        return "head does not end with an empty line";
    return NULL;
}

/* "HTTP/1.0" or "HTTP/1.1" at p: the minor version, -1 for another HTTP/d.d, -2 else */
static int version_at(const char *p, size_t n)
{
    if (n != 8 || memcmp(p, "HTTP/", 5) != 0 || p[6] != '.' || p[5] < '0' || p[5] > '9' ||
        p[7] < '0' || p[7] > '9')
        return -2;
    if (p[5] == '1' && (p[7] == '0' || p[7] == '1'))
        return p[7] - '0';
    return -1;
}

static int target_form_ok(const char *t, size_t n, int options)
{
    if (t[0] == '/')
        return 1;
    if (n == 1 && t[0] == '*')
        return options;
    /* absolute-form: scheme "://" */
    size_t i = 0;
    while (i < n && (((t[i] | 0x20) >= 'a' && (t[i] | 0x20) <= 'z') ||
                     (i > 0 && ((t[i] >= '0' && t[i] <= '9') || strchr("+-.", t[i])))))
        i++;
    return i > 0 && i + 3 < n && memcmp(t + i, "://", 3) == 0;
}

static int check_request_line(const char *raw, size_t pos, size_t eol, struct http_head *h)
{
    size_t i = pos;
    while (i < eol && is_tchar((unsigned char)raw[i]))
        i++;
    if (i == pos || i >= eol || raw[i] != ' ')
        return fail(h, 400, "malformed method in request line");
    h->method = (struct head_span){(uint32_t)pos, (uint32_t)(i - pos)};
    size_t t = ++i;
    while (i < eol && (unsigned char)raw[i] > 0x20 && (unsigned char)raw[i] < 0x7f)
        i++;
    if (i == t || i >= eol || raw[i] != ' ')
        return fail(h, 400, "malformed request target or spacing in request line");
    h->target = (struct head_span){(uint32_t)t, (uint32_t)(i - t)};
    int v = version_at(raw + i + 1, eol - i - 1);
    if (v == -1)
        return fail(h, 505, "HTTP version other than 1.0 and 1.1");
    if (v < 0)
        return fail(h, 400, "malformed HTTP version in request line");
    h->minor = v;
    if (span_is(raw, h->method, "CONNECT"))
        return fail(h, 405, "CONNECT is not supported");
    if (!target_form_ok(raw + t, h->target.len, span_is(raw, h->method, "OPTIONS")))
        return fail(h, 400, "request target neither origin, absolute nor asterisk form");
    return 0;
}

static int check_status_line(const char *raw, size_t pos, size_t eol, struct http_head *h)
{
    if (eol - pos < 12)
        return fail(h, 400, "malformed status line");
    int v = version_at(raw + pos, 8);
    if (v < 0)
        return fail(h, v == -1 ? 505 : 400, "malformed HTTP version in status line");
    h->minor = v;
    const char *s = raw + pos + 8;
    if (s[0] != ' ' || s[1] < '1' || s[1] > '5' || s[2] < '0' || s[2] > '9' || s[3] < '0' ||
        s[3] > '9')
        return fail(h, 400, "malformed status code");
    h->status = (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    size_t r = pos + 12;
    if (eol > pos + 12 && raw[pos + 12] != ' ')
        return fail(h, 400, "malformed status line");
    if (eol > pos + 12)
        r++;
    for (size_t i = r; i < eol; i++)
        if (!is_text((unsigned char)raw[i]))
            return fail(h, 400, "control character in reason phrase");
    h->reason = (struct head_span){(uint32_t)r, (uint32_t)(eol - r)};
    return 0;
}

static int parse_length(const char *v, size_t n, uint64_t *out)
{
    if (n == 0 || n > 18)
        return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    *out = x;
    return 0;
}

static int check_host(const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (!((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
              strchr("-._~%!$&'()*+,;=:[]", c)))
            return -1;
    }
    return 0;
}

/* The Connection options: close, keep-alive, upgrade, and fields to drop. */
static int check_connection(const char *raw, size_t v, size_t n, struct http_head *h)
{
    size_t i = v, end = v + n;
    while (i < end) {
        while (i < end && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == ','))
            i++;
        size_t t = i;
        while (i < end && is_tchar((unsigned char)raw[i]))
            i++;
        if (i == t) {
            if (i < end)
                return fail(h, 400, "malformed Connection field");
            break;
        }
        struct head_span s = {(uint32_t)t, (uint32_t)(i - t)};
        while (i < end && (raw[i] == ' ' || raw[i] == '\t'))
            i++;
        if (i < end && raw[i] != ',')
            return fail(h, 400, "malformed Connection field");
        if (span_is(raw, s, "close"))
            h->conn_close = 1;
        else if (span_is(raw, s, "keep-alive"))
            h->conn_keep_alive = 1;
        else if (span_is(raw, s, "upgrade"))
            h->conn_upgrade = 1;
        else if (h->ntokens >= HEAD_CONN_TOKENS_MAX)
            return fail(h, 400, "too many Connection options");
        else
            h->conn_tokens[h->ntokens++] = s;
    }
    return 0;
}

static int check_framing_field(const char *raw, struct head_span name, size_t v, size_t n,
                               struct http_head *h)
{
    if (span_is(raw, name, "content-length")) {
        if (h->framing == FRAME_LENGTH)
            return fail(h, 400, "several Content-Length fields");
        if (parse_length(raw + v, n, &h->length) < 0)
            return fail(h, 400, "Content-Length is not a decimal number");
        if (h->framing == FRAME_CHUNKED)
            return fail(h, 400, "both Content-Length and Transfer-Encoding");
        h->framing = FRAME_LENGTH;
    } else {
        if (h->framing == FRAME_CHUNKED)
            return fail(h, 400, "several Transfer-Encoding fields");
        if (h->framing == FRAME_LENGTH)
            return fail(h, 400, "both Content-Length and Transfer-Encoding");
        if (n < 7 || strncasecmp(raw + v + n - 7, "chunked", 7) != 0 ||
            (n > 7 && raw[v + n - 8] != ',' && raw[v + n - 8] != ' ' && raw[v + n - 8] != '\t'))
            return fail(h, 400, "Transfer-Encoding does not end with chunked");
        if (n != 7)
            return fail(h, 501, "transfer coding other than chunked");
        h->framing = FRAME_CHUNKED;
    }
    return 0;
}

/* One field line [pos, eol): name, colon, value without surrounding whitespace. */
static int check_field(const char *raw, size_t pos, size_t eol, struct http_head *h)
{
    if (raw[pos] == ' ' || raw[pos] == '\t')
        return fail(h, 400, "obs-fold or whitespace at the start of a field line");
    size_t i = pos;
    while (i < eol && is_tchar((unsigned char)raw[i]))
        i++;
    if (i == pos)
        return fail(h, 400, "empty field name");
    if (i >= eol || raw[i] != ':')
        return fail(h, 400,
                    raw[i] == ' ' || raw[i] == '\t' ? "whitespace before colon"
                                                    : "invalid character in field name");
    if (++h->nfields > HEAD_FIELDS_MAX)
        return fail(h, 431, "too many header fields");
    struct head_span name = {(uint32_t)pos, (uint32_t)(i - pos)};
    size_t v = i + 1, end = eol;
    while (v < end && (raw[v] == ' ' || raw[v] == '\t'))
        v++;
    while (end > v && (raw[end - 1] == ' ' || raw[end - 1] == '\t'))
        end--;
    for (size_t k = v; k < end; k++)
        if (!is_text((unsigned char)raw[k]))
            return fail(h, 400, "control character in field value");
    if (span_is(raw, name, "content-length") || span_is(raw, name, "transfer-encoding"))
        return check_framing_field(raw, name, v, end - v, h);
    if (span_is(raw, name, "host")) {
        if (h->has_host)
            return fail(h, 400, "several Host fields");
        h->has_host = 1;
        if (check_host(raw + v, end - v) < 0)
            return fail(h, 400, "malformed Host field");
    } else if (span_is(raw, name, "connection")) {
        return check_connection(raw, v, end - v, h);
    } else if (span_is(raw, name, "upgrade")) {
        h->has_upgrade = 1;
    }
    return 0;
}

static int check_message(struct http_head *h)
{
    int bodiless =
        h->kind == HEAD_RESPONSE && (h->status < 200 || h->status == 204 || h->status == 304);
    if (h->framing == FRAME_CHUNKED && h->minor == 0)
        return fail(h, 400, "Transfer-Encoding in an HTTP/1.0 message");
    if (h->framing == FRAME_CHUNKED && bodiless)
        return fail(h, 400, "Transfer-Encoding in a response without body");
    if (h->kind == HEAD_REQUEST && h->minor == 1 && !h->has_host)
        return fail(h, 400, "HTTP/1.1 request without Host");
    return 0;
}

int http_head_check(enum head_kind kind, const char *raw, size_t len, struct http_head *h)
{
    memset(h, 0, sizeof(*h));
    h->kind = kind;
    h->len = len;
    const char *bad = check_line_ends(raw, len);
    if (bad)
        return fail(h, 400, bad);
    size_t pos = 0;
    while (kind == HEAD_REQUEST && pos + 2 <= len && raw[pos] == '\r')
        pos += 2; /* empty lines before a request line are ignored (RFC 9112 2.2) */
    const char *nl = memchr(raw + pos, '\n', len - pos);
    size_t eol = (size_t)(nl - raw) - 1;
    int rc = kind == HEAD_REQUEST ? check_request_line(raw, pos, eol, h)
                                  : check_status_line(raw, pos, eol, h);
    if (rc)
        return rc;
    h->fields = eol + 2;
    for (pos = h->fields; pos < len - 2; pos = eol + 2) {
        nl = memchr(raw + pos, '\n', len - pos);
        eol = (size_t)(nl - raw) - 1;
        if ((rc = check_field(raw, pos, eol, h)) != 0)
            return rc;
    }
    return check_message(h);
}

/* --- writing ------------------------------------------------------------------- */

struct out {
    char *p;
    size_t len, cap;
    int full;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->full || o->len + n > o->cap) {
        o->full = 1;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

static int dropped(const char *raw, const struct http_head *h, struct head_span name, int upgrade)
{
    static const char *const hop[] = {"connection", "keep-alive",        "proxy-connection", "te",
                                      "trailer",    "transfer-encoding", "content-length"};
    for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
        if (span_is(raw, name, hop[i]))
            return 1;
    if (span_is(raw, name, "upgrade"))
        return !upgrade;
    if (span_is(raw, name, "host"))
        return 0;
    for (int i = 0; i < h->ntokens; i++)
        if (name.len == h->conn_tokens[i].len &&
            strncasecmp(raw + name.off, raw + h->conn_tokens[i].off, name.len) == 0)
            return 1;
    return 0;
}

static void put_fields(struct out *o, const char *raw, const struct http_head *h, int upgrade)
{
    size_t pos = h->fields, eol;
    for (; pos < h->len - 2; pos = eol + 2) {
        const char *nl = memchr(raw + pos, '\n', h->len - pos);
        eol = (size_t)(nl - raw) - 1;
        const char *colon = memchr(raw + pos, ':', eol - pos);
        struct head_span name = {(uint32_t)pos, (uint32_t)(colon - raw - (long)pos)};
        if (dropped(raw, h, name, upgrade))
            continue;
        size_t v = (size_t)(colon - raw) + 1, end = eol;
        while (v < end && (raw[v] == ' ' || raw[v] == '\t'))
            v++;
        while (end > v && (raw[end - 1] == ' ' || raw[end - 1] == '\t'))
            end--;
        put(o, raw + pos, name.len);
        put(o, end > v ? ": " : ":", end > v ? 2 : 1); /* no trailing space */
        put(o, raw + v, end - v);
        put(o, "\r\n", 2);
    }
}

long http_head_emit(const char *raw, const struct http_head *h, const struct head_out *o, char *out,
                    size_t cap)
{
    struct out w = {out, 0, cap, 0};
    char line[64];
    if (h->kind == HEAD_REQUEST) {
        put(&w, raw + h->method.off, h->method.len);
        put(&w, " ", 1);
        put(&w, raw + h->target.off, h->target.len);
        puts_(&w, h->minor ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n");
    } else {
        snprintf(line, sizeof(line), "HTTP/1.1 %03d ", h->status);
        puts_(&w, line);
        put(&w, raw + h->reason.off, h->reason.len);
        put(&w, "\r\n", 2);
    }
    put_fields(&w, raw, h, o->connection == CONN_UPGRADE);
    if (o->framing == FRAME_LENGTH) {
        snprintf(line, sizeof(line), "Content-Length: %llu\r\n", (unsigned long long)o->length);
        puts_(&w, line);
    } else if (o->framing == FRAME_CHUNKED) {
        puts_(&w, "Transfer-Encoding: chunked\r\n");
    }
    if (o->extra)
        puts_(&w, o->extra);
    static const char *const conn[] = {"", "Connection: close\r\n", "Connection: keep-alive\r\n",
                                       "Connection: upgrade\r\n"};
    puts_(&w, conn[o->connection]);
    put(&w, "\r\n", 2);
    return w.full ? -1 : (long)w.len;
}

/* --- trailers --------------------------------------------------------------------- */

long http_trailers_check(const char *raw, size_t len)
{
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(raw + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - raw) : len;
        for (size_t i = pos; i < end; i++) {
            unsigned char c = (unsigned char)raw[i];
            if (c == '\r' && i + 1 != end)
                return -1; /* a CR not right before the LF */
            if (c != '\r' && !is_text(c))
                return -1;
        }
        if (!nl)
            return 0;
        if (end == pos || raw[end - 1] != '\r')
            return -1; /* bare LF */
        if (end == pos + 1)
            return (long)(end + 1); /* the empty line: the section is whole */
        if (raw[pos] == ' ' || raw[pos] == '\t' || raw[pos] == ':')
            return -1;
        size_t i = pos;
        while (i < end && is_tchar((unsigned char)raw[i]))
            i++;
        if (i == pos || raw[i] != ':')
            return -1;
        pos = end + 1;
    }
    return 0;
}
