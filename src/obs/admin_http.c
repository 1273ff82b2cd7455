/* The admin listener's requests and responses: llhttp in strict mode reads one request
 * whose every part has a cap; the router answers it whole (Connection: close). */
#include "obs/admin_http.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- parsing -------------------------------------------------------------------------- */

static struct admin_parser *parser_of(llhttp_t *p)
{
    return p->data;
}

static int refuse(struct admin_parser *ap, int status)
{
    ap->status = status;
    return HPE_USER;
}

/* Counts the head's bytes as llhttp hands them over (plus a line's framing per header):
 * a head too large is refused even when it arrives in one read. */
static int head_grew(struct admin_parser *ap, size_t len)
{
    ap->head_bytes += len;
    return ap->head_bytes > ADMIN_HEAD_MAX ? refuse(ap, 431) : 0;
}

/* Appends [at, at + len) to buf (cap bytes, *used of them taken), keeping it
 * NUL-terminated; a part that does not fit refuses the request with `status`. */
static int append(struct admin_parser *ap, char *buf, size_t cap, size_t *used, const char *at,
                  size_t len, int status)
{
    if (len >= cap - *used)
        return refuse(ap, status);
    memcpy(buf + *used, at, len);
    *used += len;
    buf[*used] = 0;
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
    struct admin_req *r = &parser_of(p)->req;
    if (head_grew(parser_of(p), len))
        return HPE_USER;
    return append(parser_of(p), r->url, sizeof(r->url), &r->url_len, at, len, 414);
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    struct admin_parser *ap = parser_of(p);
    if (head_grew(ap, len))
        return HPE_USER;
    size_t room = sizeof(ap->field) - 1 - ap->field_len;
    size_t n = len < room ? len : room;
    memcpy(ap->field + ap->field_len, at, n);
    ap->field_len += n;
    ap->field[ap->field_len] = 0;
    if (n < len)
        ap->field_len = sizeof(ap->field) - 1; /* too long for any name we keep */
    return 0;
}

static int on_header_field_complete(llhttp_t *p)
{
    struct admin_parser *ap = parser_of(p);
    if (head_grew(ap, 4)) /* ": " and CRLF */
        return HPE_USER;
    ap->field_auth = strcasecmp(ap->field, "authorization") == 0;
    if (ap->field_auth && ap->req.nauth++ > 0)
        return refuse(ap, 400); /* two Authorization headers: which one counts? */
    ap->field_len = 0;
    ap->field[0] = 0;
    return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    struct admin_parser *ap = parser_of(p);
    if (head_grew(ap, len))
        return HPE_USER;
    if (!ap->field_auth)
        return 0;
    size_t have = strlen(ap->req.auth);
    return append(ap, ap->req.auth, sizeof(ap->req.auth), &have, at, len, 431);
}

static int on_headers_complete(llhttp_t *p)
{
    struct admin_parser *ap = parser_of(p);
    ap->req.method = p->method;
    if (p->method != HTTP_GET && p->method != HTTP_POST)
        return refuse(ap, 405);
    if (p->upgrade)
        return refuse(ap, 400);
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    struct admin_req *r = &parser_of(p)->req;
    return append(parser_of(p), r->body, sizeof(r->body), &r->body_len, at, len, 413);
}

static int on_message_complete(llhttp_t *p)
{
    parser_of(p)->done = 1;
    return HPE_PAUSED;
}

static const llhttp_settings_t admin_settings = {
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void admin_parser_init(struct admin_parser *ap)
{
    memset(ap, 0, sizeof(*ap));
    llhttp_init(&ap->p, HTTP_REQUEST, &admin_settings);
    ap->p.data = ap;
}

int admin_parser_feed(struct admin_parser *ap, const char *buf, size_t len)
{
    if (ap->status)
        return ap->status;
    if (ap->done)
        return ap->status = 400; /* bytes after the request */
    if (len == 0)
        return 0;
    enum llhttp_errno err = llhttp_execute(&ap->p, buf, len);
    if (err == HPE_OK)
        return 0;
    if (err == HPE_PAUSED && ap->done) {
        if (llhttp_get_error_pos(&ap->p) != buf + len)
            return ap->status = 400;
        return 1;
    }
    if (!ap->status)
        ap->status = 400;
    return ap->status;
}

/* --- responses --------------------------------------------------------------------------- */

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 202:
        return "Accepted";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 431:
        return "Request Header Fields Too Large";
    case 503:
        return "Service Unavailable";
    default:
        return "Internal Server Error";
    }
}

static void respond(struct expo *out, int status, const char *type, const char *extra,
                    const char *body, size_t len)
{
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
                     "Content-Security-Policy: default-src 'self'; frame-ancestors 'none'\r\n"
                     "%sConnection: close\r\n\r\n",
                     status, reason(status), type, len, extra ? extra : "");
    expo_append(out, head, (size_t)n);
    expo_append(out, body, len);
}

static void respond_json(struct expo *out, int status, const char *extra, json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text) {
        static const char oom[] = "{\"ok\":false,\"error\":\"out of memory\"}";
        respond(out, 503, "application/json", NULL, oom, sizeof(oom) - 1);
        return;
    }
    respond(out, status, "application/json", extra, text, strlen(text));
    free(text);
}

void admin_respond_error(int status, const char *why, struct expo *out)
{
    respond_json(out, status, NULL, json_pack("{s:b,s:s}", "ok", 0, "error", why));
}

/* Bearer TOKEN equal to `token`, compared in constant time. */
static int token_matches(const char *token, const char *auth)
{
    static const char bearer[] = "Bearer ";
    if (strncmp(auth, bearer, sizeof(bearer) - 1) != 0)
        return 0;
    const char *given = auth + sizeof(bearer) - 1;
    size_t n = strlen(token), m = strlen(given);
    unsigned char diff = n != m;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(token[i] ^ given[i < m ? i : 0]);
    return diff == 0;
}

static void respond_action(const struct admin_hooks *h, const char *token,
                           const struct admin_req *r, const char *action, struct expo *out)
{
    if (r->method != HTTP_POST) {
        admin_respond_error(405, "state changes need POST", out);
        return;
    }
    if (!token[0]) {
        admin_respond_error(403, "read-only: start with --admin-token-file to allow changes", out);
        return;
    }
    if (!token_matches(token, r->auth)) {
        respond_json(out, 401, "WWW-Authenticate: Bearer realm=\"baton\"\r\n",
                     json_pack("{s:b,s:s}", "ok", 0, "error", "missing or wrong admin token"));
        return;
    }
    json_error_t je;
    json_t *args =
        r->body_len ? json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je) : json_object();
    if (!json_is_object(args)) {
        json_decref(args);
        admin_respond_error(400, "the body must be a JSON object", out);
        return;
    }
    int status = 404;
    json_t *reply = h->action ? h->action(h->data, action, args, &status) : NULL;
    json_decref(args);
    if (!reply) {
        admin_respond_error(404, "unknown action", out);
        return;
    }
    respond_json(out, status, NULL, reply);
}

void admin_respond(const struct admin_hooks *h, const char *token, const struct admin_req *r,
                   struct expo *out)
{
    char path[ADMIN_URL_MAX];
    snprintf(path, sizeof(path), "%.*s", (int)strcspn(r->url, "?"), r->url);
    if (strncmp(path, "/api/", 5) == 0 && strcmp(path, "/api/status") != 0) {
        const char *action = path + 5;
        if (!*action || strspn(action, "abcdefghijklmnopqrstuvwxyz-") != strlen(action)) {
            admin_respond_error(404, "unknown action", out);
            return;
        }
        respond_action(h, token, r, action, out);
        return;
    }
    if (r->method != HTTP_GET) {
        admin_respond_error(405, "only GET here", out);
        return;
    }
    if (strcmp(path, "/metrics") == 0) {
        struct expo x;
        expo_init(&x);
        h->metrics(h->data, &x);
        if (x.failed)
            admin_respond_error(503, "metrics unavailable", out);
        else
            respond(out, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, x.buf ? x.buf : "",
                    x.len);
        expo_free(&x);
        return;
    }
    if (strcmp(path, "/api/status") == 0) {
        json_t *st = h->status(h->data);
        respond_json(out, 200, NULL,
                     json_pack("{s:s,s:b,s:o}", "role", h->role, "read_only", !token[0], "status",
                               st ? st : json_null()));
        return;
    }
    for (int i = 0; i < admin_nassets; i++)
        if (strcmp(path, admin_assets[i].path) == 0) {
            respond(out, 200, admin_assets[i].type, NULL, (const char *)admin_assets[i].data,
                    admin_assets[i].len);
            return;
        }
    admin_respond_error(404, "no such page", out);
}

/* --- the token ------------------------------------------------------------------------------ */

int admin_read_token(const char *path, char *token, size_t size, struct err *e)
{
    char buf[ADMIN_TOKEN_MAX + 2];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return err_errno(e, errno, "cannot open admin token file '%s'", path);
    struct stat st;
    ssize_t n = -1;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && !(st.st_mode & 077))
        n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < 0)
        return err_set(e, "admin token file '%s' must be a regular file only its owner can read",
                       path);
    buf[n] = 0;
    if (n > 0 && buf[n - 1] == '\n')
        buf[--n] = 0;
    size_t len = (size_t)n;
    int ok = len >= 16 && len <= ADMIN_TOKEN_MAX && len < size;
    for (size_t i = 0; ok && i < len; i++)
        ok = buf[i] > 0x20 && buf[i] < 0x7f;
    if (!ok)
        return err_set(e,
                       "admin token file '%s' must hold one line of 16 to %d printable "
                       "characters without spaces",
                       path, ADMIN_TOKEN_MAX);
    memcpy(token, buf, len + 1);
    return 0;
}
