/* Reads one HTTP/1.1 response with the http-parser library and notes its status, its
 * keep-alive and the version that answered (X-Version, else the first body line). */
#include <http_parser.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "load/load.h"

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct load_response *r = p->data;
    if (r->in_version_header)
        r->in_version_header = 0;
    /* a header name may arrive in pieces: keep a bounded prefix */
    if (r->field_len + len < sizeof(r->field)) {
        memcpy(r->field + r->field_len, at, len);
        r->field_len += len;
    } else {
        r->field_len = sizeof(r->field); /* too long to be X-Version */
    }
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct load_response *r = p->data;
    if (r->field_len) {
        r->in_version_header = r->field_len == 9 && strncasecmp(r->field, "x-version", 9) == 0;
        if (r->in_version_header) {
            r->version[0] = 0;
            r->have_header_version = 1;
        }
        r->field_len = 0;
    }
    if (r->in_version_header) {
        size_t cur = strlen(r->version);
        size_t room = sizeof(r->version) - 1 - cur;
        if (len > room)
            len = room;
        memcpy(r->version + cur, at, len);
        r->version[cur + len] = 0;
    }
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct load_response *r = p->data;
    r->status = p->status_code;
    r->field_len = 0;
    r->in_version_header = 0;
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct load_response *r = p->data;
    if (r->have_header_version || r->body_line_done)
        return 0;
    for (size_t i = 0; i < len; i++) {
        size_t cur = strlen(r->version);
        if (at[i] == '\n' || at[i] == '\r' || cur + 1 >= sizeof(r->version)) {
            r->body_line_done = 1;
            break;
        }
        r->version[cur] = at[i];
        r->version[cur + 1] = 0;
    }
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct load_response *r = p->data;
    r->complete = 1;
    r->keep_alive = http_should_keep_alive(p);
    http_parser_pause(p, 1); /* one response at a time: leave what follows */
    return 0;
}

static const http_parser_settings settings = {
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

int load_response_init(struct load_response *r)
{
    void *parser = r->parser;
    memset(r, 0, sizeof(*r));
    if (!parser)
        parser = malloc(sizeof(http_parser));
    if (!parser)
        return -1;
    r->parser = parser;
    http_parser_init(parser, HTTP_RESPONSE);
    ((http_parser *)parser)->data = r;
    return 0;
}

int load_response_feed(struct load_response *r, const char *buf, size_t len, size_t *used)
{
    http_parser *p = r->parser;
    size_t n = http_parser_execute(p, &settings, buf, len);
    if (used)
        *used = n;
    if (r->complete)
        return 1;
    if (HTTP_PARSER_ERRNO(p) != HPE_OK)
        return -1;
    return 0;
}

int load_response_eof(struct load_response *r)
{
    http_parser *p = r->parser;
    if (r->complete)
        return 1;
    if (HTTP_PARSER_ERRNO(p) != HPE_OK)
        return -1;
    http_parser_execute(p, &settings, NULL, 0);
    return r->complete ? 1 : -1;
}

void load_response_free(struct load_response *r)
{
    free(r->parser);
    r->parser = NULL;
}
