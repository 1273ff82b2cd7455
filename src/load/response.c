/* Reads one HTTP/1.1 response with llhttp (strict, no lenient flag) and notes its status,
 * its keep-alive and the version that answered (X-Version, else the first body line). */
#include <llhttp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "load/response.h"

static int on_header_field(llhttp_t *p, const char *at, size_t len)
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

static int on_header_value(llhttp_t *p, const char *at, size_t len)
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

static int on_headers_complete(llhttp_t *p)
{
    struct load_response *r = p->data;
    r->status = p->status_code;
    r->field_len = 0;
    r->in_version_header = 0;
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
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

static int on_message_complete(llhttp_t *p)
{
    struct load_response *r = p->data;
    r->complete = 1;
    r->keep_alive = llhttp_should_keep_alive(p);
    return HPE_PAUSED; /* one response at a time: leave what follows */
}

static const llhttp_settings_t settings = {
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
        parser = malloc(sizeof(llhttp_t));
    if (!parser)
        return -1;
    r->parser = parser;
    llhttp_init(parser, HTTP_RESPONSE, &settings);
    ((llhttp_t *)parser)->data = r;
    return 0;
}

int load_response_feed(struct load_response *r, const char *buf, size_t len, size_t *used)
{
    llhttp_t *p = r->parser;
    if (r->complete) {
        if (used)
            *used = 0;
        return 1;
    }
    enum llhttp_errno err = llhttp_execute(p, buf, len);
    if (used)
        *used = err == HPE_PAUSED ? (size_t)(llhttp_get_error_pos(p) - buf) : len;
    if (r->complete)
        return 1;
    return err == HPE_OK ? 0 : -1;
}

int load_response_eof(struct load_response *r)
{
    llhttp_t *p = r->parser;
    if (r->complete)
        return 1;
    if (llhttp_get_errno(p) != HPE_OK)
        return -1;
    llhttp_finish(p);
    return r->complete ? 1 : -1;
}

void load_response_free(struct load_response *r)
{
    free(r->parser);
    r->parser = NULL;
}
