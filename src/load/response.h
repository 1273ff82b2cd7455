/* The HTTP response reader of `baton load` (response.c), exposed for its unit tests and
 * fuzz target. */
#ifndef BATON_LOAD_RESPONSE_H
#define BATON_LOAD_RESPONSE_H

#include <stddef.h>

/* It consumes bytes of one response; returns 1 when the response is complete, 0 when more bytes are
 * needed, -1 on malformed input. */
struct load_response {
    int status;
    int keep_alive;
    int complete;
    char version[32]; /* X-Version header, else the body's first line */
    /* private to the reader */
    void *parser;
    int in_version_header, have_header_version, body_line_done;
    size_t body_seen;
    char field[32];
    size_t field_len;
};
int load_response_init(struct load_response *r);
int load_response_feed(struct load_response *r, const char *buf, size_t len, size_t *used);
/* After EOF: completes a response whose end is marked by the close (no length). */
int load_response_eof(struct load_response *r);
void load_response_free(struct load_response *r);

#endif
