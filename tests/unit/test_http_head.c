/* Unit tests of the http mode's building blocks: head rewriting (src/proxy/http_head.c)
 * and the http_parser pause points the relay relies on to find where a head and a
 * message end in a stream of pipelined requests. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "proxy/conn.h"

static void rewrite_adds_lines(void **state)
{
    const char *in = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    char out[256];
    long n = http_head_rewrite(in, strlen(in), 0, "X-Forwarded-For: 1.2.3.4\r\n", out, sizeof(out));
    assert_true(n > 0);
    out[n] = 0;
    assert_string_equal(out, "GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n");
}

static void rewrite_drops_connection(void **state)
{
    const char *in = "HTTP/1.1 200 OK\r\nconnection: close\r\nX-A: 1\r\nConnection: x,\r\n"
                     " folded\r\nContent-Length: 0\r\n\r\n";
    char out[256];
    long n = http_head_rewrite(in, strlen(in), 1, "Connection: close\r\n", out, sizeof(out));
    assert_true(n > 0);
    out[n] = 0;
    assert_string_equal(out, "HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 0\r\n"
                             "Connection: close\r\n\r\n");
    /* the first line is never taken for a header */
    const char *odd = "Connection: / HTTP/1.1\r\n\r\n";
    n = http_head_rewrite(odd, strlen(odd), 1, "", out, sizeof(out));
    assert_int_equal(n, (long)strlen(odd));
}

static void rewrite_respects_cap(void **state)
{
    const char *in = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    char out[16];
    assert_int_equal(http_head_rewrite(in, strlen(in), 0, "", out, sizeof(out)), -1);
    assert_int_equal(http_head_rewrite("GET / HTTP/1.1\r\n", 16, 0, "", out, sizeof(out)), -1);
}

static int paused_head(http_parser *p)
{
    http_parser_pause(p, 1);
    return 0;
}

static int paused_done(http_parser *p)
{
    http_parser_pause(p, 1);
    return 0;
}

/* The relay assumes: a pause in on_headers_complete stops before the head's last LF
 * (which is parsed again on resume), and a pause in on_message_complete stops right
 * after the message's last byte. */
static void parser_pause_points(void **state)
{
    static const http_parser_settings s = {.on_headers_complete = paused_head,
                                           .on_message_complete = paused_done};
    const char *in = "POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
                     "POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "2\r\nhi\r\n0\r\n\r\n"
                     "GET /c HTTP/1.1\r\n\r\n";
    size_t len = strlen(in), off = 0;
    const char *heads[] = {"POST /a", "POST /b", "GET /c"};
    const char *ends[] = {"abc", "0\r\n\r\n", "\r\n\r\n"};
    for (int m = 0; m < 3; m++) {
        http_parser p;
        http_parser_init(&p, HTTP_REQUEST);
        assert_memory_equal(in + off, heads[m], strlen(heads[m]));
        size_t n = http_parser_execute(&p, &s, in + off, len - off);
        assert_int_equal(HTTP_PARSER_ERRNO(&p), HPE_PAUSED);
        assert_int_equal(in[off + n], '\n');
        assert_memory_equal(in + off + n - 3, "\r\n\r", 3);
        off += n;
        http_parser_pause(&p, 0);
        n = http_parser_execute(&p, &s, in + off, len - off);
        assert_int_equal(HTTP_PARSER_ERRNO(&p), HPE_PAUSED);
        off += n;
        assert_memory_equal(in + off - strlen(ends[m]), ends[m], strlen(ends[m]));
    }
    assert_int_equal(off, len);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rewrite_adds_lines),
        cmocka_unit_test(rewrite_drops_connection),
        cmocka_unit_test(rewrite_respects_cap),
        cmocka_unit_test(parser_pause_points),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
