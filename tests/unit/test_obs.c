/* Unit tests of the admin listener's parts without sockets: the Prometheus exposition
 * writer (obs/expo.c), the strict request parser and the routes with their token rules
 * (obs/admin_http.c), and the admin token file. */
#include "unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "obs/admin_http.h"
#include "obs/expo.h"

/* --- the exposition writer ------------------------------------------------------------ */

static void writes_families_and_escapes_labels(void **state)
{
    struct expo x;
    expo_init(&x);
    expo_family(&x, "baton_things_total", "counter", "Things\\done\nso far.");
    expo_sample(&x, "baton_things_total", (const char *[]){"why", "a \"b\"\\c\nd", NULL}, 3);
    expo_sample(&x, "baton_things_total", NULL, 0.25);
    assert_false(x.failed);
    assert_string_equal(x.buf, "# HELP baton_things_total Things\\\\done\\nso far.\n"
                               "# TYPE baton_things_total counter\n"
                               "baton_things_total{why=\"a \\\"b\\\"\\\\c\\nd\"} 3\n"
                               "baton_things_total 0.25\n");
    expo_free(&x);
}

static void histogram_buckets_are_cumulative(void **state)
{
    static const double bounds[] = {0.1, 1, 10};
    struct hist h = {0};
    hist_observe(&h, bounds, 3, 0.05);
    hist_observe(&h, bounds, 3, 0.1); /* on a bound: counted in it (le) */
    hist_observe(&h, bounds, 3, 5);
    hist_observe(&h, bounds, 3, 50);
    struct expo x;
    expo_init(&x);
    expo_hist(&x, "baton_t_seconds", (const char *[]){"phase", "ready", NULL}, bounds, 3, &h);
    assert_string_equal(x.buf, "baton_t_seconds_bucket{phase=\"ready\",le=\"0.1\"} 2\n"
                               "baton_t_seconds_bucket{phase=\"ready\",le=\"1\"} 2\n"
                               "baton_t_seconds_bucket{phase=\"ready\",le=\"10\"} 3\n"
                               "baton_t_seconds_bucket{phase=\"ready\",le=\"+Inf\"} 4\n"
                               "baton_t_seconds_sum{phase=\"ready\"} 55.15\n"
                               "baton_t_seconds_count{phase=\"ready\"} 4\n");
    expo_free(&x);
}

static void writer_caps_its_size(void **state)
{
    struct expo x;
    expo_init(&x);
    char big[65536];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    for (int i = 0; i < 300 && !x.failed; i++)
        expo_sample(&x, "baton_big", (const char *[]){"v", big, NULL}, i);
    assert_true(x.failed);
    assert_true(x.len <= EXPO_MAX_BYTES);
    expo_free(&x);
}

/* --- the parser ------------------------------------------------------------------------- */

static int feed_all(struct admin_parser *ap, const char *req)
{
    admin_parser_init(ap);
    return admin_parser_feed(ap, req, strlen(req));
}

static void parses_get_and_post(void **state)
{
    struct admin_parser ap;
    assert_int_equal(feed_all(&ap, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 1);
    assert_int_equal(ap.req.method, HTTP_GET);
    assert_string_equal(ap.req.url, "/metrics");
    const char *post = "POST /api/drain HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer abc\r\n"
                       "Content-Length: 17\r\n\r\n{\"backend\":\"b1\"}\n";
    assert_int_equal(feed_all(&ap, post), 1);
    assert_int_equal(ap.req.method, HTTP_POST);
    assert_string_equal(ap.req.auth, "Bearer abc");
    assert_int_equal(ap.req.body_len, 17);
    /* byte by byte: the same request */
    admin_parser_init(&ap);
    int rc = 0;
    for (size_t i = 0; i < strlen(post) && rc == 0; i++)
        rc = admin_parser_feed(&ap, post + i, 1);
    assert_int_equal(rc, 1);
    assert_string_equal(ap.req.auth, "Bearer abc");
    assert_string_equal(ap.req.url, "/api/drain");
}

static void refuses_what_is_not_strict(void **state)
{
    struct admin_parser ap;
    assert_int_equal(feed_all(&ap, "PUT / HTTP/1.1\r\nHost: x\r\n\r\n"), 405);
    assert_int_equal(
        feed_all(&ap, "GET / HTTP/1.1\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n"), 400);
    assert_int_equal(feed_all(&ap, "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\n\r\n"), 400);
    assert_int_equal(feed_all(&ap, "GET / HTTP/1.1\nHost: x\n\n"), 400);
    assert_int_equal(feed_all(&ap, "POST /api/x HTTP/1.1\r\nContent-Length: 1\r\n"
                                   "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
                     400);
    assert_int_equal(feed_all(&ap, "GET / HTTP/1.1\r\nHost : x\r\n\r\n"), 400);
}

static void caps_hold(void **state)
{
    struct admin_parser ap;
    char req[ADMIN_HEAD_MAX * 2];
    snprintf(req, sizeof(req), "GET /%0*d HTTP/1.1\r\n\r\n", ADMIN_URL_MAX, 0);
    assert_int_equal(feed_all(&ap, req), 414);
    int n = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\n");
    while (n < ADMIN_HEAD_MAX + 100)
        n += snprintf(req + n, sizeof(req) - (size_t)n, "X-Pad: %050d\r\n", 0);
    snprintf(req + n, sizeof(req) - (size_t)n, "\r\n");
    assert_int_equal(feed_all(&ap, req), 431);
    snprintf(req, sizeof(req), "POST /api/x HTTP/1.1\r\nContent-Length: %d\r\n\r\n",
             ADMIN_BODY_MAX + 1);
    admin_parser_init(&ap);
    assert_int_equal(admin_parser_feed(&ap, req, strlen(req)), 0);
    char body[ADMIN_BODY_MAX + 1];
    memset(body, '{', sizeof(body));
    assert_int_equal(admin_parser_feed(&ap, body, sizeof(body)), 413);
}

/* --- the routes and the token ------------------------------------------------------------- */

static int actions_run;

static void fake_metrics(void *data, struct expo *x)
{
    expo_family(x, "baton_fake", "gauge", "A gauge.");
    expo_sample(x, "baton_fake", NULL, 1);
}

static json_t *fake_status(void *data)
{
    return json_pack("{s:i}", "current_generation", 7);
}

static json_t *fake_action(void *data, const char *action, json_t *args, int *status)
{
    if (strcmp(action, "upgrade") != 0)
        return NULL;
    actions_run++;
    *status = 202;
    return json_pack("{s:b}", "ok", 1);
}

static const struct admin_hooks hooks = {
    .role = "master", .metrics = fake_metrics, .status = fake_status, .action = fake_action};

/* The status code of the response to `raw` with `token` configured; body in *out. */
static int exchange(const char *token, const char *raw, struct expo *out)
{
    struct admin_parser ap;
    int rc = feed_all(&ap, raw);
    expo_init(out);
    if (rc != 1)
        admin_respond_error(rc, "bad", out);
    else
        admin_respond(&hooks, token, &ap.req, out);
    assert_non_null(out->buf);
    return atoi(out->buf + 9);
}

static int status_of(const char *token, const char *raw)
{
    struct expo out;
    int s = exchange(token, raw, &out);
    expo_free(&out);
    return s;
}

#define TOKEN "0123456789abcdef0123"

static void serves_reads_to_anyone(void **state)
{
    struct expo out;
    assert_int_equal(exchange("", "GET /metrics HTTP/1.1\r\n\r\n", &out), 200);
    assert_non_null(strstr(out.buf, "Content-Type: text/plain; version=0.0.4"));
    assert_non_null(strstr(out.buf, "\r\n\r\n# HELP baton_fake A gauge.\n"));
    expo_free(&out);
    assert_int_equal(exchange("", "GET /api/status?t=1 HTTP/1.1\r\n\r\n", &out), 200);
    assert_non_null(strstr(
        out.buf, "{\"role\":\"master\",\"read_only\":true,\"status\":{\"current_generation\":7}}"));
    expo_free(&out);
    assert_int_equal(exchange("", "GET / HTTP/1.1\r\n\r\n", &out), 200);
    assert_non_null(strstr(out.buf, "text/html"));
    assert_non_null(strstr(out.buf, "<script src=\"/app.js\""));
    expo_free(&out);
    assert_int_equal(status_of("", "GET /app.js HTTP/1.1\r\n\r\n"), 200);
    assert_int_equal(status_of("", "GET /nothing HTTP/1.1\r\n\r\n"), 404);
    assert_int_equal(status_of("", "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n"), 405);
}

#define UPGRADE_WITH(auth, rest) "POST /api/upgrade HTTP/1.1\r\n" auth "Content-Length: " rest

static void changes_need_post_and_the_token(void **state)
{
    const char *good = UPGRADE_WITH("Authorization: Bearer " TOKEN "\r\n", "2\r\n\r\n{}");
    /* the token the server holds ("": read-only), a request and its refusal */
    const struct {
        const char *token, *request;
        int status;
    } refused[] = {
        /* read-only: refused whatever the request says */
        {"", good, 403},
        {"", UPGRADE_WITH("", "0\r\n\r\n"), 403},
        /* with a token: the right one only, and POST only */
        {TOKEN, UPGRADE_WITH("", "0\r\n\r\n"), 401},
        {TOKEN, UPGRADE_WITH("Authorization: Bearer " TOKEN "x\r\n", "0\r\n\r\n"), 401},
        {TOKEN, UPGRADE_WITH("Authorization: Basic " TOKEN "\r\n", "0\r\n\r\n"), 401},
        {TOKEN, "GET /api/upgrade HTTP/1.1\r\nAuthorization: Bearer " TOKEN "\r\n\r\n", 405},
        /* a body that is not a JSON object, an unknown action */
        {TOKEN, UPGRADE_WITH("Authorization: Bearer " TOKEN "\r\n", "2\r\n\r\n[]"), 400},
        {TOKEN,
         "POST /api/explode HTTP/1.1\r\nAuthorization: Bearer " TOKEN
         "\r\nContent-Length: 0\r\n\r\n",
         404},
    };
    actions_run = 0;
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        if (status_of(refused[i].token, refused[i].request) != refused[i].status)
            fail_msg("not %d: %s", refused[i].status, refused[i].request);
    }
    assert_int_equal(actions_run, 0);
    assert_int_equal(status_of(TOKEN, good), 202);
    assert_int_equal(actions_run, 1);
}

static void token_file_rules(void **state)
{
    char dir[] = "/tmp/baton-test-obs.XXXXXX", path[64], token[ADMIN_TOKEN_MAX + 1];
    struct err e;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/token", dir);
    FILE *f = fopen(path, "w");
    fputs(TOKEN "\n", f);
    fclose(f);
    chmod(path, 0644);
    assert_refused(admin_read_token(path, token, sizeof(token), &e), e.msg,
                   "only its owner can read");
    chmod(path, 0600);
    assert_int_equal(admin_read_token(path, token, sizeof(token), &e), 0);
    assert_string_equal(token, TOKEN);
    f = fopen(path, "w");
    fputs("short\n", f);
    fclose(f);
    assert_refused(admin_read_token(path, token, sizeof(token), &e), e.msg, "16 to 256 printable");
    unlink(path);
    assert_refused(admin_read_token(path, token, sizeof(token), &e), e.msg,
                   "cannot open admin token file");
    rmdir(dir);
}

UNIT_MAIN("obs", NULL, NULL, cmocka_unit_test(writes_families_and_escapes_labels),
          cmocka_unit_test(histogram_buckets_are_cumulative),
          cmocka_unit_test(writer_caps_its_size), cmocka_unit_test(parses_get_and_post),
          cmocka_unit_test(refuses_what_is_not_strict), cmocka_unit_test(caps_hold),
          cmocka_unit_test(serves_reads_to_anyone),
          cmocka_unit_test(changes_need_post_and_the_token), cmocka_unit_test(token_file_rules))
