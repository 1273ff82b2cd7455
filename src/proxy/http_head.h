/* The head checker of the proxy's http mode: a second, strict reading of a request or
 * response head that llhttp has already accepted (RFC 9112 grammar only: CRLF line
 * ends, one SP in the start line, token field names, no obs-fold, no control
 * characters, one Host, one framing header), and the head's canonical form for the
 * other side (hop-by-hop fields removed, exactly one framing header). Pure functions
 * over the head's bytes, so unit tests and the fuzz targets call them directly. */
#ifndef BATON_PROXY_HTTP_HEAD_H
#define BATON_PROXY_HTTP_HEAD_H

#include <stddef.h>
#include <stdint.h>

enum head_kind { HEAD_REQUEST, HEAD_RESPONSE };
/* How a message's body ends: no body, after `length` bytes, at the last chunk, or when
 * the connection closes (responses only). */
enum head_framing { FRAME_NONE, FRAME_LENGTH, FRAME_CHUNKED, FRAME_EOF };
/* The Connection field the emitted head gets. */
enum head_conn { CONN_NONE, CONN_CLOSE, CONN_KEEP_ALIVE, CONN_UPGRADE };

#define HEAD_FIELDS_MAX      100
#define HEAD_CONN_TOKENS_MAX 16

struct head_span {
    uint32_t off, len;
};

/* What http_head_check found; spans are offsets into the checked bytes. */
struct http_head {
    enum head_kind kind;
    int minor;                       /* HTTP/1.minor: 0 or 1 */
    struct head_span method, target; /* requests */
    int status;                      /* responses */
    struct head_span reason;
    size_t fields; /* offset of the first field line */
    size_t len;    /* the whole head, blank line included */
    int nfields;
    enum head_framing framing; /* declared: FRAME_NONE, FRAME_LENGTH or FRAME_CHUNKED */
    uint64_t length;
    int conn_close, conn_keep_alive, conn_upgrade, has_upgrade, has_host;
    /* other Connection options: fields this hop only, dropped */
    struct head_span conn_tokens[HEAD_CONN_TOKENS_MAX];
    int ntokens;
    const char *error; /* why it was rejected */
};

/* Checks the head raw[0..len) (ending with the blank line). Returns 0, or the status
 * to answer with h->error set: 400 (malformed or ambiguous), 405 (CONNECT), 431 (too
 * many fields), 501 (a transfer coding other than chunked), 505 (HTTP version). */
int http_head_check(enum head_kind kind, const char *raw, size_t len, struct http_head *h);

/* How to emit a checked head. */
struct head_out {
    enum head_framing framing; /* FRAME_LENGTH: Content-Length: length; FRAME_CHUNKED:
                                * Transfer-Encoding: chunked; else no framing field */
    uint64_t length;
    enum head_conn connection;
    const char *extra; /* lines added before the blank line, each ending in CRLF */
};

/* Writes the canonical head: start line with single spaces (responses as HTTP/1.1),
 * each kept field as "Name: value" (value without surrounding whitespace; "Name:" when
 * empty), then the
 * framing field, `extra` and Connection. Drops Connection, Keep-Alive,
 * Proxy-Connection, TE, Trailer, Transfer-Encoding, Content-Length, the fields named
 * in Connection (never Host) and Upgrade unless upgrading. Returns the length, or -1
 * if it does not fit in cap. */
long http_head_emit(const char *raw, const struct http_head *h, const struct head_out *o, char *out,
                    size_t cap);

/* Checks the trailer section of a chunked body (after the last chunk's size line):
 * field lines then CRLF. Returns its length once whole, 0 if more bytes are needed,
 * -1 if malformed (bare CR or LF, control characters, a bad field line). */
long http_trailers_check(const char *raw, size_t len);

#endif
