/* Unit tests of the load generator's HTTP response reader and URL parsing. */
#include "unit.h"

#include <string.h>

#include "load/load.h"

/* Starts R afresh and feeds it TEXT, STEP bytes at a time: load_response_feed's last
 * answer (1 a whole response, 0 more wanted, -1 bad). */
static int feed_all(struct load_response *r, const char *text, size_t step)
{
    assert_int_equal(load_response_init(r), 0);
    size_t len = strlen(text), off = 0;
    int rc = 0;
    while (off < len && rc == 0) {
        size_t n = len - off < step ? len - off : step, used;
        rc = load_response_feed(r, text + off, n, &used);
        off += used;
    }
    return rc;
}

/* TEXT, fed STEP bytes at a time, reads as one whole response with STATUS, KEEP_ALIVE
 * (1 or 0) and VERSION. */
static void reads_whole(const char *text, size_t step, int status, int keep_alive,
                        const char *version)
{
    struct load_response r = {0};
    assert_int_equal(feed_all(&r, text, step), 1);
    assert_int_equal(r.status, status);
    assert_int_equal(!!r.keep_alive, keep_alive);
    assert_string_equal(r.version, version);
    load_response_free(&r);
}

static void reads_version_header_in_pieces(void **state)
{
    const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Version: green\r\n\r\nv1\n";
    for (size_t step = 1; step <= strlen(resp); step++)
        reads_whole(resp, step, 200, 1, "green");
}

static void falls_back_to_body_line(void **state)
{
    reads_whole("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nblue\nxx", 3, 200, 1, "blue");
}

static void connection_close_and_chunked(void **state)
{
    reads_whole("HTTP/1.1 503 Busy\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n"
                "\r\n3\r\nab\n\r\n0\r\n\r\n",
                5, 503, 0, "ab");
}

static void eof_ends_unsized_body_and_flags_truncation(void **state)
{
    struct load_response r = {0};
    assert_int_equal(feed_all(&r, "HTTP/1.0 200 OK\r\n\r\nold\n", 4), 0);
    assert_int_equal(load_response_eof(&r), 1);
    assert_string_equal(r.version, "old");
    assert_int_equal(feed_all(&r, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 4), 0);
    assert_int_equal(load_response_eof(&r), -1); /* premature close */
    assert_int_equal(feed_all(&r, "garbage\r\n\r\n", 4), -1);
    load_response_free(&r);
}

static void urls(void **state)
{
    char hp[300], path[100];
    struct err e;
    assert_int_equal(
        load_parse_url("http://127.0.0.1:8080/x?y", hp, sizeof(hp), path, sizeof(path), &e), 0);
    assert_string_equal(hp, "127.0.0.1:8080");
    assert_string_equal(path, "/x?y");
    assert_int_equal(load_parse_url("http://[::1]", hp, sizeof(hp), path, sizeof(path), &e), 0);
    assert_string_equal(hp, "[::1]:80");
    assert_string_equal(path, "/");
    assert_refused(load_parse_url("https://a/", hp, sizeof(hp), path, sizeof(path), &e), e.msg,
                   "only http://");
}

UNIT_MAIN("load", NULL, NULL, cmocka_unit_test(reads_version_header_in_pieces),
          cmocka_unit_test(falls_back_to_body_line), cmocka_unit_test(connection_close_and_chunked),
          cmocka_unit_test(eof_ends_unsized_body_and_flags_truncation), cmocka_unit_test(urls))
