/* Unit tests of what a deploy reads back: the progress file (deploy/dstate.c: a round
 * trip through the disk, and hostile files refused), the lock file of the lease
 * (deploy/dlease.c), health check replies (deploy/hcheck.c) and the bake's verdict
 * (deploy/verify.c). */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deploy/dlease.h"
#include "deploy/dstate.h"
#include "deploy/hcheck.h"
#include "deploy/verify.h"

static const char fleet[] = "[service]\nname = shop\n[host a]\nssh = a\n[host b]\nssh = b\n"
                            "[balancer]\nsocket = unix:/x\nbackend = web\n[app]\n"
                            "strategy = in-place\ncommand = app\n[rollout]\nhealth = exec:true\n"
                            "canary = a\nverify-5xx-rate = 1%\nverify-rtime-ratio = 2\n"
                            "verify-min-requests = 100\n";

static void round_trip(void **state)
{
    struct dfile df;
    struct dstate st, back;
    struct err e = {{0}};
    char path[] = "/tmp/baton-dstate-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(dfile_parse(fleet, "f.ini", &df, &e), 0);
    assert_int_equal(dstate_init(&st, &df, "v2", "v1", &e), 0);
    st.hosts[0].state = HS_REVERT_CHECKING;
    snprintf(st.hosts[0].error, sizeof(st.hosts[0].error), "health check: GET /h answered 503");
    st.phase = DP_REVERT;
    st.expand = DS_DONE;
    if (dstate_save(path, &st, &e) < 0)
        fail_msg("%s", e.msg);
    int exists = 0;
    assert_int_equal(dstate_load(path, &back, &exists, &e), 0);
    assert_true(exists);
    assert_string_equal(back.release, "v2");
    assert_string_equal(back.from, "v1");
    assert_int_equal(back.phase, DP_REVERT);
    assert_int_equal(back.expand, DS_DONE);
    assert_int_equal(back.bake, DS_SKIPPED);
    assert_int_equal(back.hosts[0].state, HS_REVERT_CHECKING);
    assert_string_equal(back.hosts[0].error, "health check: GET /h answered 503");
    assert_int_equal(dstate_matches(&back, &df, &e), 0);
    dstate_free(&back);
    unlink(path);
    assert_int_equal(dstate_load(path, &back, &exists, &e), 0); /* gone: not an error */
    assert_false(exists);
    dstate_free(&st);
    dfile_free(&df);
}

static void expect_refused(const char *json, const char *want)
{
    json_error_t je;
    json_t *doc = json_loads(json, 0, &je);
    struct dstate st;
    struct err e = {{0}};
    assert_int_equal(dstate_from_json(doc, "p.state", &st, &e), -1);
    if (!strstr(e.msg, want))
        fail_msg("got '%s', want '%s'", e.msg, want);
    json_decref(doc);
}

#define HEAD                                                                                       \
    "{\"version\":1,\"service\":\"s\",\"release\":\"v2\",\"from\":\"v1\",\"strategy\":"            \
    "\"in-place\",\"phase\":\"rollout\",\"expand\":\"done\",\"bake\":\"pending\",\"contract\":"    \
    "\"pending\",\"reason\":\"\",\"started_unix_ms\":1,\"updated_unix_ms\":2,"

static void hostile_files(void **state)
{
    expect_refused("[]", "not a baton deploy progress file");
    expect_refused("{\"version\":2}", "not a baton deploy progress file");
    expect_refused(HEAD "\"hosts\":[]}", "\"hosts\" must be an array of 1 to");
    expect_refused(HEAD "\"hosts\":[{\"name\":\"a\",\"state\":\"flying\",\"error\":\"\","
                        "\"started_unix_ms\":0,\"finished_unix_ms\":0}]}",
                   "host 'a' has an unknown state 'flying'");
    expect_refused(HEAD "\"hosts\":[{\"name\":\"a\",\"state\":\"done\",\"error\":\"\","
                        "\"started_unix_ms\":-5,\"finished_unix_ms\":0}]}",
                   "\"started_unix_ms\" must be a non-negative integer");
    expect_refused(HEAD "\"hosts\":[7]}", "a host is not an object");
    char big[600];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    char doc[1024];
    snprintf(doc, sizeof(doc), "{\"version\":1,\"service\":\"%s\",\"release\":\"v2\",\"hosts\":[]}",
             big);
    expect_refused(doc, "\"service\" is missing, not a string or longer than 63");
}

static void lock_file(void **state)
{
    struct dlease_info info;
    struct err e = {{0}};
    int ok;
    assert_int_equal(dlease_parse_lock("token=7\nholder=root@ops:42\nsince=1700000000000\n"
                                       "expires=1700000060000\nprogress=rollout v2: 1/4\nok=0\n",
                                       &info, &ok, &e),
                     0);
    assert_int_equal(ok, 0);
    assert_int_equal(info.token, 7);
    assert_string_equal(info.holder, "root@ops:42");
    assert_int_equal(info.since_unix_ms, 1700000000000LL);
    assert_string_equal(info.progress, "rollout v2: 1/4");
    assert_int_equal(dlease_parse_lock("ok=1\n", &info, &ok, &e), 0); /* no lock file yet */
    assert_int_equal(ok, 1);
    assert_int_equal(info.token, 0);
    assert_int_equal(dlease_parse_lock("token=x\nok=1\n", &info, &ok, &e), -1);
    assert_string_equal(e.msg, "'token' in the lock file is not a number: 'x'");
    assert_int_equal(dlease_parse_lock("colour=blue\nok=1\n", &info, &ok, &e), -1);
    assert_string_equal(e.msg, "unknown key 'colour' in the lock file");
    assert_int_equal(dlease_parse_lock("error=cannot write /x\n", &info, &ok, &e), -1);
    assert_string_equal(e.msg, "cannot write /x");
    assert_int_equal(dlease_parse_lock("token=1\n", &info, &ok, &e), -1);
    assert_string_equal(e.msg, "no answer from the lock script");
    /* a holder of this machine whose process is gone may be taken over */
    char self[DLEASE_TEXT_MAX], dead[DLEASE_TEXT_MAX + 16];
    dlease_holder_self(self, sizeof(self));
    assert_false(dlease_holder_dead_here(self));
    snprintf(dead, sizeof(dead), "%.*s:999999999", (int)(strrchr(self, ':') - self), self);
    assert_true(dlease_holder_dead_here(dead));
    assert_false(dlease_holder_dead_here("someone@elsewhere:1"));
}

static void health_replies(void **state)
{
    int status;
    assert_true(hcheck_http_ok("HTTP/1.1 200 OK\r\n\r\n", 19, &status));
    assert_int_equal(status, 200);
    assert_true(hcheck_http_ok("HTTP/1.0 302 Found\r\n", 20, &status));
    assert_false(hcheck_http_ok("HTTP/1.1 503 Failing\r\n", 22, &status));
    assert_int_equal(status, 503);
    assert_false(hcheck_http_ok("HTTP/1.1 2000 OK\r\n", 18, &status));
    assert_false(hcheck_http_ok("SSH-2.0-OpenSSH_9.2\r\n", 21, &status));
    assert_false(hcheck_http_ok("HTTP/1.1 20", 11, &status));
}

static void bake_verdict(void **state)
{
    struct dfile df;
    struct err e = {{0}};
    assert_int_equal(dfile_parse(fleet, "f.ini", &df, &e), 0);
    struct bal_stats before = {0}, after = {0};
    struct bal_server *s;
    s = bal_stats_get(&before, "a");
    s->responses = 1000;
    s = bal_stats_get(&after, "a");
    s->responses = 2000;
    s->resp_5xx = 50; /* 5% of the bake's 1000 */
    s->rtime_ms = 4;
    s = bal_stats_get(&after, "b");
    s->responses = 3000;
    s->resp_5xx = 3;
    s->rtime_ms = 3;
    const char *canary[] = {"a"}, *base[] = {"b"};
    struct verify_group c, b;
    verify_group_sum(&before, &after, canary, 1, 1, &c);
    verify_group_sum(&before, &after, base, 1, 0, &b);
    assert_int_equal(c.responses, 1000);
    assert_int_equal(c.resp_5xx, 50);
    assert_int_equal(b.responses, 3000);
    char report[512];
    assert_int_equal(verify_judge(&df, &c, &b, report, sizeof(report)), 0);
    assert_non_null(strstr(report, "5xx share above the baseline's"));
    c.resp_5xx = 10; /* 1% against 0.1%: within 1% */
    assert_int_equal(verify_judge(&df, &c, &b, report, sizeof(report)), 1);
    c.rtime_ms = 40; /* 8x the 5 ms floor */
    assert_int_equal(verify_judge(&df, &c, &b, report, sizeof(report)), 0);
    assert_non_null(strstr(report, "response time above verify-rtime-ratio"));
    c.rtime_ms = 4;
    c.responses = 50;
    assert_int_equal(verify_judge(&df, &c, &b, report, sizeof(report)), 0);
    assert_non_null(strstr(report, "fewer requests than verify-min-requests 100"));
    c.responses = 1000;
    c.conn_errors = 1;
    assert_int_equal(verify_judge(&df, &c, &b, report, sizeof(report)), 0);
    assert_non_null(strstr(report, "more connection errors than verify-conn-errors 0"));
    bal_stats_free(&before);
    bal_stats_free(&after);
    dfile_free(&df);
}

UNIT_MAIN("deploy_state", NULL, NULL, cmocka_unit_test(round_trip), cmocka_unit_test(hostile_files),
          cmocka_unit_test(lock_file), cmocka_unit_test(health_replies),
          cmocka_unit_test(bake_verdict))
