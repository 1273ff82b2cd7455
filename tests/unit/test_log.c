/* Unit tests of src/core/log.c: the text and JSON line formats, JSON escaping of hostile
 * messages (quotes, control bytes, invalid UTF-8, cuts at the line's cap), --log-format. */
#include "unit.h"

#include <jansson.h>
#include <string.h>

#include "core/log.h"

static const int64_t when = 1795000000123; /* 2026-11-18T11:06:40.123Z */

/* Formats msg as JSON into a buffer of cap bytes and parses it back (strictly). */
static json_t *json_line(size_t cap, const char *event, unsigned gen, const char *msg)
{
    char buf[4096];
    assert_true(cap <= sizeof(buf));
    size_t len = log_format_line(buf, cap, LOG_JSON, when, "master", 42, LOG_WARN, event, gen, msg);
    assert_true(len < cap);
    assert_int_equal(buf[len - 1], '\n');
    assert_null(memchr(buf, '\n', len - 1));
    json_error_t je;
    json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        fail_msg("not JSON (%s): %.*s", je.text, (int)len, buf);
    return j;
}

static void json_line_has_the_fields(void **state)
{
    json_t *j = json_line(2048, "switched", 7, "switched to generation 7");
    assert_string_equal(json_string_value(json_object_get(j, "time")), "2026-11-18T11:06:40.123Z");
    assert_string_equal(json_string_value(json_object_get(j, "level")), "warn");
    assert_string_equal(json_string_value(json_object_get(j, "role")), "master");
    assert_int_equal(json_integer_value(json_object_get(j, "pid")), 42);
    assert_int_equal(json_integer_value(json_object_get(j, "generation")), 7);
    assert_string_equal(json_string_value(json_object_get(j, "event")), "switched");
    assert_string_equal(json_string_value(json_object_get(j, "msg")), "switched to generation 7");
    assert_int_equal(json_object_size(j), 7);
    json_decref(j);
    j = json_line(2048, "message", 0, "plain");
    assert_true(json_is_null(json_object_get(j, "generation")));
    json_decref(j);
}

static void json_escapes_hostile_strings(void **state)
{
    const char *hostile = "quote \" back \\ nl \n cr \r tab \t nul-less \x01\x1f del \x7f "
                          "}\",\"level\":\"ALERT\" é 𝄞";
    json_t *j = json_line(2048, "message", 0, hostile);
    assert_string_equal(json_string_value(json_object_get(j, "msg")), hostile);
    assert_string_equal(json_string_value(json_object_get(j, "level")), "warn");
    json_decref(j);
    /* Bytes that are not UTF-8 (a lone continuation, an overlong '/', a surrogate, a cut
     * sequence at the end) become U+FFFD; the rest is kept. */
    j = json_line(2048, "ev\"ent", 0,
                  "a\x80"
                  "b\xc0\xaf"
                  "c\xed\xa0\x80"
                  "d\xe2\x82");
    assert_string_equal(json_string_value(json_object_get(j, "msg")),
                        "a\xef\xbf\xbd"
                        "b\xef\xbf\xbd\xef\xbf\xbd"
                        "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                        "d\xef\xbf\xbd\xef\xbf\xbd");
    assert_string_equal(json_string_value(json_object_get(j, "event")), "ev\"ent");
    json_decref(j);
}

/* A message longer than the line is cut between escapes and UTF-8 sequences, at every
 * cap, and the line stays one valid JSON object. */
static void json_cut_never_splits_an_escape(void **state)
{
    char msg[1024];
    size_t at = 0;
    while (at + 8 < sizeof(msg)) {
        memcpy(msg + at, "\x01\"é\xff", 5);
        at += 5;
    }
    msg[at] = 0;
    for (size_t cap = 256; cap < 600; cap++) {
        json_t *j = json_line(cap, "message", 3, msg);
        const char *m = json_string_value(json_object_get(j, "msg"));
        assert_non_null(m);
        assert_true(strlen(m) > 0);
        json_decref(j);
    }
}

static void text_line_keeps_its_shape(void **state)
{
    char buf[256];
    size_t len = log_format_line(buf, sizeof(buf), LOG_TEXT, when, "proxy", 9, LOG_INFO, "ready", 2,
                                 "hello");
    assert_int_equal(len, strlen("2026-11-18T11:06:40.123Z proxy[9] info: hello\n"));
    assert_memory_equal(buf, "2026-11-18T11:06:40.123Z proxy[9] info: hello\n", len);
}

static void format_option_parses(void **state)
{
    struct err e;
    assert_int_equal(log_format_opt(NULL, "json", &e), 0);
    assert_int_equal(log_get_format(), LOG_JSON);
    assert_string_equal(log_format_name(log_get_format()), "json");
    assert_int_equal(log_format_opt(NULL, "text", &e), 0);
    assert_int_equal(log_get_format(), LOG_TEXT);
    assert_int_equal(log_format_opt(NULL, "JSON", &e), -1);
    assert_string_equal(e.msg, "invalid --log-format 'JSON': expected text or json");
    assert_int_equal(log_get_format(), LOG_TEXT);
}

UNIT_MAIN("log", NULL, NULL, cmocka_unit_test(json_line_has_the_fields),
          cmocka_unit_test(json_escapes_hostile_strings),
          cmocka_unit_test(json_cut_never_splits_an_escape),
          cmocka_unit_test(text_line_keeps_its_shape), cmocka_unit_test(format_option_parses))
