/* Unit tests of the http mode's head checker and canonical head writer
 * (src/proxy/http_head.c): what is accepted, what is refused with which status, and
 * the exact bytes forwarded. */
#include "unit.h"

#include <string.h>

#include "proxy/http_head.h"

static int check_req(const char *raw, struct http_head *h)
{
    return http_head_check(HEAD_REQUEST, raw, strlen(raw), h);
}

static void accepts_and_reads_framing(void **state)
{
    struct http_head h;
    assert_int_equal(check_req("GET /a HTTP/1.1\r\nHost: x\r\n\r\n", &h), 0);
    assert_int_equal(h.minor, 1);
    assert_int_equal(h.framing, FRAME_NONE);
    assert_int_equal(check_req("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n", &h), 0);
    assert_int_equal(h.framing, FRAME_LENGTH);
    assert_int_equal(h.length, 12);
    assert_int_equal(
        check_req("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n", &h), 0);
    assert_int_equal(h.framing, FRAME_CHUNKED);
    assert_int_equal(check_req("GET / HTTP/1.0\r\n\r\n", &h), 0); /* 1.0: Host optional */
    assert_int_equal(check_req("\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", &h), 0);
    assert_int_equal(check_req("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", &h), 0);
    assert_int_equal(check_req("GET http://x/y HTTP/1.1\r\nHost: x\r\n\r\n", &h), 0);
    assert_int_equal(
        check_req("GET / HTTP/1.1\r\nHost: x\r\nConnection: close, X-A\r\nUpgrade: ws\r\n\r\n", &h),
        0);
    assert_true(h.conn_close);
    assert_int_equal(h.ntokens, 1);
    assert_true(h.has_upgrade);
}

struct refusal {
    const char *raw;
    int status;
    const char *error;
};

static void refuses_ambiguity(void **state)
{
    static const struct refusal cases[] = {
        {"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400, "obs-fold"},
        {"GET / HTTP/1.1\r\n Host: x\r\n\r\n", 400, "obs-fold"},
        {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, "whitespace before colon"},
        {"GET / HTTP/1.1\nHost: x\r\n\r\n", 400, "bare LF"},
        {"GET / HTTP/1.1\r\nHost: x\r\n\n\r\n", 400, "bare LF"},
        {"GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", 400, "bare CR"},
        {"GET / HTTP/1.1\r\nHost: x\r\nX: a\x01\r\n\r\n", 400, "control character"},
        {"GET / HTTP/1.1\r\nHost: x\r\nX: a\x7f\r\n\r\n", 400, "control character"},
        {"GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", 400, "empty field name"},
        {"GET / HTTP/1.1\r\nHost: x\r\nX\r\n\r\n", 400, "invalid character"},
        {"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "request target"},
        {"GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400, "HTTP version"},
        {"GET x HTTP/1.1\r\nHost: x\r\n\r\n", 400, "target"},
        {"GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400, "target"},
        {"GET / HTTP/0.9\r\nHost: x\r\n\r\n", 505, "version"},
        {"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "version"},
        {"CONNECT x:1 HTTP/1.1\r\nHost: x\r\n\r\n", 405, "CONNECT"},
        {"GET / HTTP/1.1\r\n\r\n", 400, "without Host"},
        {"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400, "several Host"},
        {"GET / HTTP/1.1\r\nHost: x y\r\n\r\n", 400, "malformed Host"},
        {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", 400,
         "several Content-Length"},
        {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\n", 400, "decimal"},
        {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1234567890123456789\r\n\r\n", 400,
         "decimal"},
        {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
         400, "both"},
        {"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n",
         400, "both"},
        {"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400,
         "does not end"},
        {"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n", 400, "does not end"},
        {"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501,
         "other than chunked"},
        {"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
         "chunked\r\n\r\n",
         400, "several Transfer-Encoding"},
        {"GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "HTTP/1.0"},
        {"GET / HTTP/1.1\r\nHost: x\r\nConnection: a b\r\n\r\n", 400, "Connection"},
        {"GET / HTTP/1.1\r\nHost: x\r\n", 400, "empty line"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct http_head h;
        int st = check_req(cases[i].raw, &h);
        if (st != cases[i].status || !h.error || !strstr(h.error, cases[i].error))
            fail_msg("case %zu '%s': got %d '%s'", i, cases[i].raw, st, h.error ? h.error : "");
    }
}

static void refuses_too_many_fields(void **state)
{
    char raw[4096] = "GET / HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < HEAD_FIELDS_MAX; i++)
        strcat(raw, "X: y\r\n");
    strcat(raw, "\r\n");
    struct http_head h;
    assert_int_equal(check_req(raw, &h), 431);
}

static void responses(void **state)
{
    struct http_head h;
    const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n";
    assert_int_equal(http_head_check(HEAD_RESPONSE, ok, strlen(ok), &h), 0);
    assert_int_equal(h.status, 200);
    const char *bare = "HTTP/1.1 204\r\n\r\n";
    assert_int_equal(http_head_check(HEAD_RESPONSE, bare, strlen(bare), &h), 0);
    assert_int_equal(h.status, 204);
    const char *bad[] = {"HTTP/1.1  200 OK\r\n\r\n",
                         "HTTP/1.1 200 O\x01K\r\n\r\n",
                         "HTTP/1.1 2000 OK\r\n\r\n",
                         "HTTP/1.1 200 OK\nX: y\r\n\r\n",
                         "HTTP/1.1 204 No\r\nTransfer-Encoding: chunked\r\n\r\n",
                         "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (http_head_check(HEAD_RESPONSE, bad[i], strlen(bad[i]), &h) == 0)
            fail_msg("response %zu accepted: %s", i, bad[i]);
}

static void emits_canonical_form(void **state)
{
    const char *raw = "POST /p HTTP/1.1\r\nHost:x\r\nConnection: keep-alive, X-Drop\r\n"
                      "X-Drop: 1\r\nKeep-Alive: 5\r\nTE: trailers\r\nTrailer: T\r\n"
                      "Transfer-Encoding: chunked\r\nX-A: \t v w \r\nProxy-Connection: x\r\n\r\n";
    struct http_head h;
    assert_int_equal(check_req(raw, &h), 0);
    struct head_out o = {.framing = FRAME_CHUNKED,
                         .connection = CONN_CLOSE,
                         .extra = "X-Forwarded-For: 1.2.3.4\r\n"};
    char out[512];
    long n = http_head_emit(raw, &h, &o, out, sizeof(out));
    assert_true(n > 0);
    out[n] = 0;
    assert_string_equal(out, "POST /p HTTP/1.1\r\nHost: x\r\nX-A: v w\r\n"
                             "Transfer-Encoding: chunked\r\nX-Forwarded-For: 1.2.3.4\r\n"
                             "Connection: close\r\n\r\n");
    assert_int_equal(http_head_emit(raw, &h, &o, out, 40), -1); /* the cap holds */
    const char *resp = "HTTP/1.0 404 Not Found\r\nContent-Length: 3\r\nUpgrade: h2c\r\n\r\n";
    assert_int_equal(http_head_check(HEAD_RESPONSE, resp, strlen(resp), &h), 0);
    struct head_out r = {.framing = FRAME_LENGTH, .length = 3};
    n = http_head_emit(resp, &h, &r, out, sizeof(out));
    out[n] = 0;
    assert_string_equal(out, "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\n");
}

static void connection_cannot_drop_host(void **state)
{
    const char *raw =
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: Host, Upgrade\r\nUpgrade: ws\r\n\r\n";
    struct http_head h;
    assert_int_equal(check_req(raw, &h), 0);
    struct head_out o = {.connection = CONN_UPGRADE};
    char out[256];
    long n = http_head_emit(raw, &h, &o, out, sizeof(out));
    out[n] = 0;
    assert_string_equal(out,
                        "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: ws\r\nConnection: upgrade\r\n\r\n");
}

static void trailers(void **state)
{
    assert_int_equal(http_trailers_check("\r\n", 2), 2);
    assert_int_equal(http_trailers_check("X: y\r\n\r\nGET", 11), 8);
    assert_int_equal(http_trailers_check("X: y\r\n", 6), 0);
    assert_int_equal(http_trailers_check("X: y\r", 5), 0);
    assert_int_equal(http_trailers_check("\n", 1), -1);
    assert_int_equal(http_trailers_check("X: y\n\r\n", 7), -1);
    assert_int_equal(http_trailers_check("X : y\r\n\r\n", 9), -1);
    assert_int_equal(http_trailers_check(" X: y\r\n\r\n", 9), -1);
    assert_int_equal(http_trailers_check("X: y\rz\r\n\r\n", 10), -1);
    assert_int_equal(http_trailers_check("X: \x01\r\n\r\n", 8), -1);
}

UNIT_MAIN("http_head", NULL, NULL, cmocka_unit_test(accepts_and_reads_framing),
          cmocka_unit_test(refuses_ambiguity), cmocka_unit_test(refuses_too_many_fields),
          cmocka_unit_test(responses), cmocka_unit_test(emits_canonical_form),
          cmocka_unit_test(connection_cannot_drop_host), cmocka_unit_test(trailers))
