/* Unit tests of src/load/plot*.c: the strict reading of a load report and of an events
 * log, the time parser, and the pictures cairo writes (SVG and PNG, failures marked in
 * their own colour only when a request failed). */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "load/plot.h"

#define FAILURE_RGB "rgb(84%,11%,11%)" /* plot.c's failure colour as cairo writes it */

static const char clean[] =
    "{\"start_unix_ms\":1795000000000,\"requests\":30,\"failed\":0,\"timeline\":["
    "{\"t_ms\":0,\"requests\":10,\"failures\":0,\"versions\":{\"v1\":10},\"p50_ms\":0.5,"
    "\"p99_ms\":2},"
    "{\"t_ms\":100,\"requests\":0,\"failures\":0,\"versions\":{},\"p50_ms\":null,\"p99_ms\":null},"
    "{\"t_ms\":200,\"requests\":20,\"failures\":0,\"versions\":{\"v1\":5,\"v2\":15},"
    "\"p50_ms\":0.4,\"p99_ms\":1.5}]}";
static const char failing[] =
    "{\"start_unix_ms\":1795000000000,\"requests\":12,\"failed\":3,\"timeline\":["
    "{\"t_ms\":0,\"requests\":10,\"failures\":1,\"versions\":{\"v1\":9},\"p50_ms\":0.5,"
    "\"p99_ms\":2},"
    "{\"t_ms\":100,\"requests\":2,\"failures\":2,\"versions\":{},\"p50_ms\":null,\"p99_ms\":null}]"
    "}";

static void report_is_read(void **state)
{
    struct plot_data d;
    struct err e;
    assert_int_equal(plot_data_from_report(&d, clean, strlen(clean), &e), 0);
    assert_int_equal(d.nbuckets, 3);
    assert_int_equal(d.nversions, 2);
    assert_string_equal(d.versions[1], "v2");
    assert_int_equal(d.buckets[2].versions[1], 15);
    assert_true(d.buckets[0].has_latency);
    assert_false(d.buckets[1].has_latency);
    assert_true(d.buckets[2].p99_ms == 1.5);
    assert_int_equal(d.start_unix_ms, 1795000000000LL);
    plot_data_free(&d);
}

/* Replaces the first `from` of the clean report by `to` and expects message `want`. */
static void expect_bad(const char *from, const char *to, const char *want)
{
    char text[2048];
    const char *at = strstr(clean, from);
    assert_non_null(at);
    snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - clean), clean, to, at + strlen(from));
    struct plot_data d;
    struct err e;
    assert_int_equal(plot_data_from_report(&d, text, strlen(text), &e), -1);
    if (strcmp(e.msg, want) != 0)
        fail_msg("for %s: got '%s', want '%s'", to, e.msg, want);
    plot_data_free(&d);
}

static void report_is_strict(void **state)
{
    expect_bad("\"t_ms\":100", "\"t_ms\":150", "timeline[1] needs 't_ms' = 100");
    expect_bad("\"failures\":0,\"versions\":{\"v1\":10}", "\"failures\":11,\"versions\":{}",
               "timeline[0] needs counts 'requests' and 'failures' <= requests");
    expect_bad("{\"v1\":10}", "{\"v1\":9}",
               "timeline[0]: versions add up to 9, but 10 requests were answered");
    expect_bad("{\"v1\":10}", "{\"v1\":\"10\"}", "timeline[0]: versions['v1'] must be a count");
    expect_bad("\"p50_ms\":0.5,", "",
               "timeline[0] has no 'p50_ms' and 'p99_ms' (a report of "
               "an older baton load?)");
    expect_bad("\"p50_ms\":0.5", "\"p50_ms\":3",
               "timeline[0]: 'p50_ms' and 'p99_ms' must be numbers with 0 <= p50 <= p99, or "
               "both null");
    expect_bad("\"timeline\":[", "\"timeline\":7,\"x\":[",
               "not a report of 'baton load --json': it needs 'start_unix_ms', 'requests', "
               "'failed' and 'timeline'");
    expect_bad("\"requests\":30", "\"requests\":-1",
               "not a report of 'baton load --json': it needs 'start_unix_ms', 'requests', "
               "'failed' and 'timeline'");
    expect_bad("{\"v1\":10}", "{\"v1\":5,\"v1\":5}",
               "not JSON: duplicate object key near '\"v1\"' (line 1)");
}

static void times_parse_strictly(void **state)
{
    int64_t ms;
    assert_int_equal(plot_parse_time("2026-11-18T11:06:40.123Z", &ms), 0);
    assert_int_equal(ms, 1795000000123LL);
    assert_int_equal(plot_parse_time("2026-11-18T11:06:40Z", &ms), 0);
    assert_int_equal(ms, 1795000000000LL);
    const char *bad[] = {"2026-11-18T11:06:40.123",   "2026-11-18 11:06:40.123Z",
                         " 026-11-18T11:06:40.123Z",  "+026-11-18T11:06:40.123Z",
                         "2026-13-18T11:06:40.123Z",  "2026-11-18T11:06:40.12Z",
                         "2026-11-18T11:06:40.123Z ", "1969-12-31T23:59:59Z",
                         "2026-11-18T25:06:40Z",      ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (plot_parse_time(bad[i], &ms) == 0)
            fail_msg("'%s' was accepted", bad[i]);
}

static void events_are_read(void **state)
{
    struct plot_data d;
    struct err e;
    assert_int_equal(plot_data_from_report(&d, clean, strlen(clean), &e), 0);
    const char log[] =
        "{\"time\":\"2026-11-18T11:06:40.050Z\",\"event\":\"message\",\"generation\":null}\n"
        "{\"time\":\"2026-11-18T11:06:40.100Z\",\"event\":\"upgrade-requested\"}\n"
        "{\"time\":\"2026-11-18T11:06:40.250Z\",\"event\":\"switched\",\"generation\":2}\n"
        "{\"time\":\"2026-11-18T11:06:40.250Z\",\"event\":\"promoted\",\"generation\":2}\n"
        "{\"time\":\"2026-11-18T11:07:40.000Z\",\"event\":\"exited\",\"generation\":1}\n";
    assert_int_equal(plot_data_add_events(&d, log, strlen(log), "run.log", &e), 0);
    assert_int_equal(d.nevents, 2); /* a message, an event not drawn, one after the run */
    assert_string_equal(d.events[0].name, "upgrade-requested");
    assert_int_equal(d.events[0].generation, 0);
    assert_true(d.events[1].t_s > 0.249 && d.events[1].t_s < 0.251);
    assert_int_equal(d.events[1].generation, 2);

    /* The app's own lines are skipped and counted; a broken JSON line is an error. */
    const char text_line[] = "httpapp[12] v1 draining\n\n"
                             "{\"time\":\"2026-11-18T11:06:40.150Z\",\"event\":\"reexec\"}\n";
    assert_int_equal(plot_data_add_events(&d, text_line, strlen(text_line), "run.log", &e), 0);
    assert_int_equal(d.skipped_lines, 2);
    assert_int_equal(d.nevents, 3);
    const char broken[] = "{\"time\":\"2026-11-18T11:06:40.050Z\",\"event\":\"x\"}\n"
                          "{\"time\":\"2026-11-18T11:06:40.050Z\",\"event\":\n";
    assert_int_equal(plot_data_add_events(&d, broken, strlen(broken), "run.log", &e), -1);
    assert_string_equal(e.msg, "events 'run.log' line 2: not a JSON object with strings 'time' "
                               "and 'event'");
    const char not_string[] = "{\"time\":\"2026-11-18T11:06:40.050Z\",\"event\":7}\n";
    assert_int_equal(plot_data_add_events(&d, not_string, strlen(not_string), "run.log", &e), -1);
    const char cut[] = "{\"time\":\"2026-11-18T11:06:40.050Z\",\"event\":\"x\"}";
    assert_int_equal(plot_data_add_events(&d, cut, strlen(cut), "run.log", &e), -1);
    assert_string_equal(e.msg, "events 'run.log' line 1: the last line has no newline (cut?)");
    const char gen[] =
        "{\"time\":\"2026-11-18T11:06:40.050Z\",\"event\":\"x\",\"generation\":-1}\n";
    assert_int_equal(plot_data_add_events(&d, gen, strlen(gen), "run.log", &e), -1);
    assert_string_equal(e.msg,
                        "events 'run.log' line 1: 'generation' must be a number from 1, or null");
    plot_data_free(&d);
}

/* Draws `report` into a temporary FILE.ext and returns its bytes (caller frees). */
static char *render(const char *report, const char *ext, size_t *len, size_t *marks)
{
    char path[64];
    snprintf(path, sizeof(path), "/tmp/baton-test-plot.%d.%s", (int)getpid(), ext);
    struct plot_data d;
    struct plot_style st = {.width = 640, .height = 360};
    struct err e;
    size_t lines;
    char *text;
    assert_int_equal(plot_data_from_report(&d, report, strlen(report), &e), 0);
    if (plot_render(&d, path, &st, marks, &lines, &e) < 0)
        fail_msg("%s", e.msg);
    assert_int_equal(plot_read_file(path, &text, len, &e), 0);
    unlink(path);
    plot_data_free(&d);
    return text;
}

static void svg_marks_failures_only_when_some(void **state)
{
    size_t len, marks;
    char *svg = render(clean, "svg", &len, &marks);
    assert_int_equal(marks, 0);
    assert_memory_equal(svg, "<?xml", 5);
    assert_non_null(strstr(svg, "width=\"640pt\" height=\"360pt\""));
    assert_null(strstr(svg, FAILURE_RGB));
    free(svg);
    svg = render(failing, "svg", &len, &marks);
    assert_int_equal(marks, 2);
    assert_non_null(strstr(svg, FAILURE_RGB));
    free(svg);
}

static void png_has_its_size(void **state)
{
    size_t len, marks;
    unsigned char *png = (unsigned char *)render(failing, "PNG", &len, &marks);
    assert_true(len > 33);
    assert_memory_equal(png, "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
    assert_int_equal((png[16] << 24) | (png[17] << 16) | (png[18] << 8) | png[19], 640);
    assert_int_equal((png[20] << 24) | (png[21] << 16) | (png[22] << 8) | png[23], 360);
    free(png);
}

static void bad_paths_are_named(void **state)
{
    struct plot_data d;
    struct plot_style st = {.width = 640, .height = 360};
    struct err e;
    size_t marks, lines;
    enum plot_format f;
    assert_int_equal(plot_format_of("out.jpg", &f, &e), -1);
    assert_string_equal(e.msg, "cannot tell the format of 'out.jpg': name it FILE.svg or FILE.png");
    assert_int_equal(plot_data_from_report(&d, clean, strlen(clean), &e), 0);
    assert_refused(plot_render(&d, "/nonexistent/dir/x.png", &st, &marks, &lines, &e), e.msg,
                   "cannot draw '/nonexistent/dir/x.png': ");
    /* cairo refuses text that is not UTF-8: the error is named, and no file is left. */
    unlink("/tmp/baton-test-plot-title.svg");
    st.title = "bad \xff title";
    assert_int_equal(plot_render(&d, "/tmp/baton-test-plot-title.svg", &st, &marks, &lines, &e),
                     -1);
    assert_string_equal(e.msg, "cannot draw '/tmp/baton-test-plot-title.svg': input string not "
                               "valid UTF-8");
    assert_int_equal(access("/tmp/baton-test-plot-title.svg", F_OK), -1);
    plot_data_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(report_is_read),
        cmocka_unit_test(report_is_strict),
        cmocka_unit_test(times_parse_strictly),
        cmocka_unit_test(events_are_read),
        cmocka_unit_test(svg_marks_failures_only_when_some),
        cmocka_unit_test(png_has_its_size),
        cmocka_unit_test(bad_paths_are_named),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    plot_cleanup();
    return failed;
}
