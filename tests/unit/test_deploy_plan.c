/* Unit tests of the deploy plan (deploy/dplan.c) and the commands it prints
 * (deploy/remote.c): the order of hosts for a deploy, a resume and an abort, the
 * balancer requests of --dry-run, and the quoting of remote commands. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/dplan.h"
#include "deploy/remote.h"

static const char fleet[] =
    "[service]\nname = shop\n"
    "[host a]\nssh = 10.0.0.1\n"
    "[host b]\nssh = 10.0.0.2\ngroup = canary\n"
    "[host c]\nssh = 10.0.0.3\n"
    "[host d]\nssh = 10.0.0.4\n"
    "[balancer]\nsocket = unix:/run/a.sock\nsocket = tcp:10.0.0.9:9999\n"
    "backend = web\n"
    "[app]\nstrategy = in-place\ncommand = /srv/app/{release}/run --x 'a b'\n"
    "port = 80\n"
    "[rollout]\nhealth = http:/h\ncanary = canary\nbake = 10s\n"
    "max-parallel = 2\n";

static void load(struct dfile *df, struct dstate *st)
{
    struct err e = {{0}};
    if (dfile_parse(fleet, "f.ini", df, &e) < 0)
        fail_msg("%s", e.msg);
    assert_int_equal(dstate_init(st, df, "v2", "v1", &e), 0);
}

/* The fleet above, its state at the start of a deploy from v1 to v2, and a plan of it:
 * each test's setup and teardown. */
struct fleet {
    struct dfile df;
    struct dstate st;
    struct dplan p;
    int planned;
};

static int fleet_setup(void **state)
{
    struct fleet *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    load(&f->df, &f->st);
    *state = f;
    return 0;
}

static int fleet_teardown(void **state)
{
    struct fleet *f = *state;
    if (f->planned)
        dplan_free(&f->p);
    dstate_free(&f->st);
    dfile_free(&f->df);
    free(f);
    return 0;
}

/* The plan in MODE for the fleet's state, in place of the one made before. */
static struct dplan *plan(struct fleet *f, enum dplan_mode mode)
{
    struct err e;
    if (f->planned)
        dplan_free(&f->p);
    f->planned = 0;
    if (dplan_make(&f->df, &f->st, mode, &f->p, &e) < 0)
        fail_msg("%s", e.msg);
    f->planned = 1;
    return &f->p;
}

static void fresh_deploy(void **state)
{
    struct dplan *p = plan(*state, DPLAN_DEPLOY);
    /* canary b first, then the others in file order */
    int want[] = {1, 0, 2, 3};
    assert_int_equal(p->n, 4);
    assert_int_equal(p->nforward, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(p->order[i], want[i]);
        assert_int_equal(p->forward[i], want[i]);
    }
    assert_int_equal(p->ncanary, 1);
    assert_true(p->bake);
    assert_false(p->expand || p->contract); /* no [database] */
    /* a revert walks the order backwards */
    int back[] = {3, 2, 0, 1};
    assert_int_equal(p->nback, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(p->back[i], back[i]);
}

static void resume_puts_hosts_mid_step_first(void **state)
{
    struct fleet *f = *state;
    struct dstate *st = &f->st;
    st->bake = DS_DONE;
    st->hosts[1].state = HS_DONE;      /* b, the canary */
    st->hosts[0].state = HS_DONE;      /* a */
    st->hosts[3].state = HS_UPGRADING; /* d, killed mid-step */
    struct dplan *p = plan(f, DPLAN_RESUME);
    assert_int_equal(p->nforward, 2);
    assert_int_equal(p->forward[0], 3); /* d first: it was mid-step */
    assert_int_equal(p->forward[1], 2);
    assert_int_equal(p->ncanary, 0);
    assert_false(p->bake);
    /* abort: only hosts that may hold the new release come back */
    p = plan(f, DPLAN_ABORT);
    assert_int_equal(p->nforward, 0);
    assert_int_equal(p->nback, 3);
    assert_int_equal(p->back[0], 3);
    assert_int_equal(p->back[1], 0);
    assert_int_equal(p->back[2], 1);
}

static void dry_run_names_every_request(void **state)
{
    struct fleet *f = *state;
    plan(f, DPLAN_DEPLOY);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    dplan_print(&f->p, &f->df, &f->st, &balancer_haproxy_driver, "baton-migrate", out);
    fclose(out);
    assert_non_null(strstr(text, "deploy of 'shop': release v2 (from v1), in-place, 4 hosts"));
    assert_non_null(strstr(text, "unix:/run/a.sock: set server web/b state ready"));
    assert_non_null(strstr(text, "tcp:10.0.0.9:9999: set server web/b state ready"));
    assert_non_null(strstr(text, "1. canary b (pending)"));
    assert_non_null(strstr(text, "2. bake 10s"));
    assert_non_null(strstr(text, "'baton' upgrade --json --name 'shop' -- '/srv/app/v2/run' '--x' "
                                 "'a b'"));
    assert_non_null(strstr(text, "set server web/d state drain")); /* the revert drains */
    assert_non_null(strstr(text, "'baton' rollback --json --name 'shop'"));
    assert_non_null(
        strstr(text, "lease: lock file /var/tmp/baton-deploy-shop.lock on this machine"));
    free(text);
}

static void remote_commands(void **state)
{
    struct dfile df;
    struct dstate st;
    struct err e;
    char cmd[REMOTE_CMD_MAX];
    load(&df, &st);
    assert_int_equal(remote_probe(&df, &df.hosts[0], "v2", cmd, sizeof(cmd), &e), 0);
    /* it waits until the host's master ends what a killed deploy may have asked for */
    assert_string_equal(cmd, "'baton' status --wait-idle 600s --json --name 'shop'");
    /* the status of a host whose current generation runs v2's command word for word */
    static const char runs[] =
        "{\"ok\":true,\"generations\":[{\"id\":1,\"current\":false,\"command\":[\"/srv/app/v1/"
        "run\",\"--x\",\"a b\"]},{\"id\":2,\"current\":true,\"command\":[\"/srv/app/v2/run\","
        "\"--x\",\"a b\"]}]}";
    assert_int_equal(remote_runs(&df, &df.hosts[0], "v2", runs, &e), 1);
    assert_int_equal(remote_runs(&df, &df.hosts[0], "v1", runs, &e), 0);
    assert_int_equal(remote_runs(&df, &df.hosts[0], "v2", "not json", &e), -1);
    assert_int_equal(remote_runs(&df, &df.hosts[0], "v2", "{\"generations\":[]}", &e), -1);
    dstate_free(&st);
    dfile_free(&df);
    /* remove-upgrade-add: the file's commands, {release} the previous one for a revert */
    static const char rua[] = "[service]\nname = s\n[host h]\nssh = h\n[balancer]\n"
                              "socket = unix:/x\nbackend = b\n[app]\n"
                              "strategy = remove-upgrade-add\nupgrade = /opt/install {release}\n"
                              "probe = cat /etc/release\n[rollout]\nhealth = exec:true\n";
    assert_int_equal(dfile_parse(rua, "r.ini", &df, &e), 0);
    assert_int_equal(remote_revert(&df, &df.hosts[0], "v1", cmd, sizeof(cmd), &e), 0);
    /* under the host's lock: a command a killed deploy left running ends first */
    assert_string_equal(cmd, "flock -o -w 600 '/var/tmp/baton-deploy-s-h.hostlock' sh -c "
                             "'/opt/install v1'");
    assert_int_equal(remote_probe(&df, &df.hosts[0], "v2", cmd, sizeof(cmd), &e), 0);
    assert_string_equal(cmd, "flock -o -w 600 '/var/tmp/baton-deploy-s-h.hostlock' sh -c "
                             "'cat /etc/release'");
    assert_refused(remote_revert(&df, &df.hosts[0], "", cmd, sizeof(cmd), &e), e.msg,
                   "give --from RELEASE");
    assert_int_equal(remote_runs(&df, &df.hosts[0], "v2", "v2\n", &e), 1);
    assert_int_equal(remote_runs(&df, &df.hosts[0], "v2", "v2-old\n", &e), 0);
    dfile_free(&df);
}

UNIT_MAIN("deploy_plan", NULL, NULL,
          cmocka_unit_test_setup_teardown(fresh_deploy, fleet_setup, fleet_teardown),
          cmocka_unit_test_setup_teardown(resume_puts_hosts_mid_step_first, fleet_setup,
                                          fleet_teardown),
          cmocka_unit_test_setup_teardown(dry_run_names_every_request, fleet_setup, fleet_teardown),
          cmocka_unit_test(remote_commands))
