/* Unit tests of the deploy file parser (deploy/dfile.c): a complete file, the defaults,
 * and one bad file per rule with its exact FILE:LINE message. */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "deploy/dfile.h"

static const char base[] = "[service]\n"
                           "name = shop\n"
                           "[host web1]\n"
                           "ssh = deploy@10.0.0.11:2222\n"
                           "group = canary\n"
                           "[host web2]\n"
                           "ssh = 10.0.0.12\n"
                           "server = w2\n"
                           "[balancer]\n"
                           "type = haproxy\n"
                           "socket = unix:/run/haproxy/admin.sock\n"
                           "socket = tcp:10.0.0.3:9999\n"
                           "backend = app\n"
                           "[app]\n"
                           "strategy = in-place\n"
                           "command = /srv/shop/{release}/bin/shop --port 8080\n"
                           "port = 8080\n"
                           "[rollout]\n"
                           "health = http:/healthz\n";

static void complete_file(void **state)
{
    struct dfile df;
    struct err e = {{0}};
    char text[4096];
    snprintf(text, sizeof(text),
             "%s"
             "max-parallel = 2\ncanary = canary\nbake = 1.5m\ndrain-timeout = 250ms\n"
             "verify-5xx-rate = 0.5%%\nverify-rtime-ratio = 2x\n"
             "# a comment\n; another\n\n",
             base);
    assert_int_equal(dfile_parse(text, "/etc/baton/shop.ini", &df, &e), 0);
    assert_string_equal(df.service, "shop");
    assert_int_equal(df.nhosts, 2);
    assert_string_equal(df.hosts[0].ssh.user, "deploy");
    assert_string_equal(df.hosts[0].ssh.host, "10.0.0.11");
    assert_int_equal(df.hosts[0].ssh.port, 2222);
    assert_string_equal(df.hosts[0].server, "web1");
    assert_string_equal(df.hosts[0].address, "10.0.0.11");
    assert_true(df.hosts[0].canary);
    assert_false(df.hosts[1].canary);
    assert_string_equal(df.hosts[1].server, "w2");
    assert_int_equal(df.balancer.nsockets, 2);
    assert_true(df.balancer.sockets[0].is_unix);
    assert_string_equal(df.balancer.sockets[1].host, "10.0.0.3");
    assert_int_equal(df.balancer.sockets[1].port, 9999);
    assert_int_equal(df.rollout.max_parallel, 2);
    assert_int_equal(df.rollout.bake_ms, 90000);
    assert_int_equal(df.rollout.drain_timeout_ms, 250);
    assert_true(df.rollout.verify_5xx_rate > 0.0049 && df.rollout.verify_5xx_rate < 0.0051);
    assert_true(df.rollout.verify_rtime_ratio == 2.0);
    assert_int_equal(df.rollout.health, DF_HEALTH_HTTP);
    assert_string_equal(df.rollout.health_arg, "/healthz");
    /* defaults */
    assert_string_equal(df.app.name, "shop");
    assert_string_equal(df.app.baton, "baton");
    assert_string_equal(df.state_path, "/etc/baton/shop.ini.state");
    assert_string_equal(df.lease.path, "/var/tmp/baton-deploy-shop.lock");
    assert_false(df.lease.remote);
    assert_int_equal(df.ssh.strict, DF_STRICT_YES);
    assert_int_equal(df.rollout.progress_deadline_ms, 300000);
    dfile_free(&df);
}

/* base + extra must fail with exactly `want`. */
static void expect_error(const char *extra, const char *want)
{
    char text[4096];
    snprintf(text, sizeof(text), "%s%s", base, extra);
    struct dfile df;
    struct err e = {{0}};
    assert_int_equal(dfile_parse(text, "f.ini", &df, &e), -1);
    if (strcmp(e.msg, want) != 0)
        fail_msg("for %s\n got: %s\nwant: %s", extra, e.msg, want);
    assert_null(df.hosts);
}

static void bad_keys_and_sections(void **state)
{
    expect_error("colour = blue\n", "f.ini:20: unknown key 'colour' in [rollout]");
    expect_error("[extras]\n", "f.ini:20: unknown section [extras] (known: service, ssh, host "
                               "NAME, balancer, app, rollout, database, lease)");
    expect_error("health = exec:true\n", "f.ini:20: 'health' given twice in [rollout]");
    expect_error("[app]\n", "f.ini:20: second [app] section (the first is on line 14)");
    expect_error("[host web1]\nssh = h\n", "f.ini:20: second [host web1] (the first is on line 3)");
    expect_error("[host a b]\n", "f.ini:20: [host NAME] takes one name (letters, digits, . _ -)");
    expect_error("[ssh x]\n", "f.ini:20: section [ssh] takes no name");
    expect_error("bake 2s\n", "f.ini:20: malformed line (expected 'key = value' or '[section]')");
    expect_error("  bake = 2s\n", "f.ini:20: indented line (inih would read it as the "
                                  "continuation of the key above); remove the indentation");
    expect_error("bake = 2s ; two seconds\n",
                 "f.ini:20: inline comment (' ;'): inih would cut the value here; put comments "
                 "on a line of their own");
}

static void bad_values(void **state)
{
    expect_error("bake = 30\n", "f.ini:20: bake: '30' needs a unit (250ms, 2s, 1.5m, 1h)");
    expect_error("bake = 2 weeks\n", "f.ini:20: bake: '2 weeks' is not a duration (a number with "
                                     "a unit: 250ms, 2s, 1.5m, 1h)");
    expect_error("max-parallel = 0\n",
                 "f.ini:20: max-parallel: '0' is not a whole number in 1..1024");
    expect_error("max-parallel = 2x\n",
                 "f.ini:20: max-parallel: '2x' is not a whole number in 1..1024");
    expect_error("verify-5xx-rate = 5\n",
                 "f.ini:20: verify-5xx-rate: '5' is not a percentage (0%..100%)");
    expect_error("verify-rtime-ratio = 0.5\n", "f.ini:20: verify-rtime-ratio: '0.5' is not a "
                                               "ratio (0 for off, or 1 to 1000, e.g. 2 or 1.5x)");
    expect_error("health-passes = -1\n",
                 "f.ini:20: health-passes: '-1' is not a whole number in 1..100");
    expect_error("[host web3]\nssh = -oProxyCommand=x\n",
                 "f.ini:21: ssh: bad host in ssh destination '-oProxyCommand=x'");
    expect_error("[host web3]\nssh = a@b@c\n",
                 "f.ini:21: ssh: bad host in ssh destination 'a@b@c'");
    expect_error("[host web3]\nssh = h:99999\n", "f.ini:21: ssh: bad port in ssh destination "
                                                 "'h:99999'");
    expect_error("[ssh]\nstrict-host-keys = maybe\n",
                 "f.ini:21: strict-host-keys: 'maybe' is not one of yes, accept-new, no");
    expect_error("[balancer]\n", "f.ini:20: second [balancer] section (the first is on line 9)");
    expect_error("[lease]\npath = relative\n", "f.ini:20: [lease] path must be absolute");
    expect_error("[database]\nurl = sqlite:/x\ndir = /m\n[lease]\nttl = 10s\n",
                 "f.ini:23: [lease] is not used: the [database] holds the deploy's lease");
    expect_error("[host web3]\ngroup = bad name\n",
                 "f.ini:21: group: 'bad name' is not a name (letters, digits, . _ -, at most 63)");
}

static void cross_checks(void **state)
{
    expect_error("canary = web9\n", "f.ini:18: canary 'web9' is neither a host nor a group");
    expect_error("bake = 1m\n", "f.ini:18: bake is the time after the canary hosts: name them in "
                                "'canary'");
    expect_error("[host web3]\ngroup = x\n", "f.ini:20: [host web3] has no 'ssh' destination");
    expect_error("[host web3]\nssh = h\nserver = w2\n",
                 "f.ini:20: hosts 'web2' and 'web3' name the same server 'w2'");
    expect_error("[host web3]\nssh = h\ngroup = web1\n[rollout2]\n",
                 "f.ini:23: unknown section [rollout2] (known: service, ssh, host NAME, "
                 "balancer, app, rollout, database, lease)");
}

static void strategies(void **state)
{
    static const char rua[] = "[service]\nname = s\n[host h1]\nssh = h1\n[balancer]\n"
                              "socket = unix:/run/h.sock\nbackend = be\n[app]\n"
                              "strategy = remove-upgrade-add\n";
    struct dfile df;
    struct err e = {{0}};
    char text[2048];
    snprintf(text, sizeof(text),
             "%supgrade = /usr/local/bin/install {release}\n[rollout]\n"
             "health = exec:curl -fsS localhost:8080/health\n",
             rua);
    assert_int_equal(dfile_parse(text, "dir/s.ini", &df, &e), 0);
    assert_int_equal(df.app.strategy, DF_REMOVE_UPGRADE_ADD);
    assert_int_equal(df.rollout.health, DF_HEALTH_EXEC);
    assert_string_equal(df.state_path, "dir/s.ini.state");
    dfile_free(&df);
    snprintf(text, sizeof(text), "%s[rollout]\nhealth = exec:true\n", rua);
    assert_int_equal(dfile_parse(text, "s.ini", &df, &e), -1);
    assert_string_equal(e.msg, "s.ini:8: [app] strategy remove-upgrade-add needs 'upgrade'");
    snprintf(text, sizeof(text), "%supgrade = x {version}\n", rua);
    assert_int_equal(dfile_parse(text, "s.ini", &df, &e), -1);
    assert_string_equal(e.msg, "s.ini:10: upgrade: unknown placeholder at '{version}' (known: "
                               "{release}, {host}, {server}, {address})");
    snprintf(text, sizeof(text), "%supgrade = x\ncommand = y\n[rollout]\nhealth = exec:true\n",
             rua);
    assert_int_equal(dfile_parse(text, "s.ini", &df, &e), -1);
    assert_string_equal(e.msg, "s.ini:8: [app] 'command' belongs to strategy in-place");
    snprintf(text, sizeof(text), "%supgrade = x\n[rollout]\nhealth = http:/h\n", rua);
    assert_int_equal(dfile_parse(text, "s.ini", &df, &e), -1);
    assert_string_equal(e.msg, "s.ini:8: health http: needs the app's 'port' in [app]");
}

static void long_lines_are_refused(void **state)
{
    char text[4096];
    char cmd[400];
    memset(cmd, 'x', sizeof(cmd) - 1);
    cmd[sizeof(cmd) - 1] = 0;
    snprintf(text, sizeof(text), "[service]\nname = s\n[app]\ncommand = %s\n", cmd);
    struct dfile df;
    struct err e = {{0}};
    assert_refused(dfile_parse(text, "s.ini", &df, &e), e.msg, "s.ini:4: line longer than");
}

static void expand_and_release(void **state)
{
    struct df_host h = {.name = "web1", .server = "w1", .address = "10.0.0.1"};
    char out[128];
    struct err e;
    assert_int_equal(dfile_expand("/srv/{release}/run --host {host} --srv {server}@{address} "
                                  "${HOME}",
                                  "v2", &h, out, sizeof(out), &e),
                     0);
    assert_string_equal(out, "/srv/v2/run --host web1 --srv w1@10.0.0.1 ${HOME}");
    assert_int_equal(dfile_expand("{release}{release}", "v2", &h, out, 4, &e), -1);
    assert_int_equal(dfile_release_ok("v2.1+build-7_x", &e), 0);
    assert_int_equal(dfile_release_ok("-rf", &e), -1);
    assert_int_equal(dfile_release_ok("a b", &e), -1);
    assert_int_equal(dfile_release_ok("v2;rm", &e), -1);
    assert_int_equal(dfile_release_ok("", &e), -1);
    assert_int_equal(dfile_release_ok("../x", &e), -1);
}

static void destinations(void **state)
{
    static const char f[] = "[service]\nname = s\n[host h1]\nssh = root@[fd00::1]:2200\n"
                            "[balancer]\nhost = lb\nsocket = unix:/run/h.sock\nbackend = be\n"
                            "[app]\nstrategy = in-place\ncommand = app\n[rollout]\n"
                            "health = exec:true\n[ssh]\nport = 22\n";
    struct dfile df;
    struct err e = {{0}};
    assert_int_equal(dfile_parse(f, "s.ini", &df, &e), 0);
    assert_string_equal(df.hosts[0].ssh.host, "fd00::1");
    assert_int_equal(df.hosts[0].ssh.port, 2200);
    char text[128];
    dfile_dest_text(&df, &df.hosts[0].ssh, text, sizeof(text));
    assert_string_equal(text, "root@[fd00::1]:2200");
    assert_true(df.balancer.remote);
    assert_true(df.lease.remote);
    assert_string_equal(df.lease.host.host, "lb");
    dfile_dest_text(&df, &df.lease.host, text, sizeof(text));
    assert_string_equal(text, "lb:22");
    dfile_free(&df);
}

UNIT_MAIN("deploy_file", NULL, NULL, cmocka_unit_test(complete_file),
          cmocka_unit_test(bad_keys_and_sections), cmocka_unit_test(bad_values),
          cmocka_unit_test(cross_checks), cmocka_unit_test(strategies),
          cmocka_unit_test(long_lines_are_refused), cmocka_unit_test(expand_and_release),
          cmocka_unit_test(destinations))
