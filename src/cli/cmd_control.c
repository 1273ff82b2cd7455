/* The control verbs of a running `baton run` master: upgrade, rollback, status, stop,
 * reexec. Each has its option table, sends one request over the control socket and
 * prints the reply. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/ctlcli.h"
#include "cli/verbs.h"
#include "core/clock.h"
#include "core/ctl.h"
#include "supervise/container.h"
#include "supervise/run.h"

/* The options of every control verb: which master, and --json. */
struct master_cli {
    struct ctlcli_opts ctl;
    const char *image;     /* upgrade --image */
    uint64_t wait_idle_ms; /* status --wait-idle */
};

static const struct opt master_options[] = {
    CTLCLI_OPTIONS(struct master_cli, ctl, "master's", "baton"),
    {0},
};

static const struct opt upgrade_options[] = {
    CTLCLI_OPTIONS(struct master_cli, ctl, "master's", "baton"),
    {.name = "image",
     .kind = OPT_TEXT,
     OPT_AT(struct master_cli, image),
     .arg = "IMAGE",
     .help = "a master started with --image: the new\ngeneration's container image"},
    {0},
};

static const struct opt status_options[] = {
    CTLCLI_OPTIONS(struct master_cli, ctl, "master's", "baton"),
    {.name = "wait-idle",
     .kind = OPT_DURATION,
     OPT_AT(struct master_cli, wait_idle_ms),
     .unit = "s",
     .max = 86400000LL,
     .arg = "DURATION",
     .help = "first wait until no upgrade, rollback or re-exec runs\n"
             "or waits (at most DURATION; exit 1 if one still does)"},
    {0},
};

#define MASTER_FOOTER "exit codes: 0 done, 1 failed (reason on stderr), 2 usage error.\n"
#define MASTER_VERB(verb, syn, what, text, n)                                                      \
    {                                                                                              \
        .name = verb, .synopsis = syn, .summary = what, .about = text, .opts = master_options,     \
        OPT_TAKES(0, n), .footer = MASTER_FOOTER                                                   \
    }

const struct opt_verb upgrade_verb = {
    .name = "upgrade",
    .synopsis = "[--image IMAGE | -- NEWCOMMAND [ARG...]]",
    .summary = "start a new generation of a running 'baton run'; stop the old",
    .about = "Starts a new generation (of NEWCOMMAND, of the master's container command with\n"
             "IMAGE, else the current command) beside the current one; once all its workers\n"
             "are ready the old generation is stopped. Waits until the old generation no\n"
             "longer accepts (prints switched_unix_ms), or until the new one failed and was\n"
             "rolled back (prints the reason, exit 1).\n",
    .opts = upgrade_options,
    .args = OPT_ARGS_MAYBE_COMMAND,
    .footer = MASTER_FOOTER,
};
const struct opt_verb rollback_verb =
    MASTER_VERB("rollback", NULL, "go back to the previous generation's command",
                "Starts the previous generation's command as a new generation, with the same\n"
                "rules as upgrade.\n",
                0);
const struct opt_verb status_verb = {
    .name = "status",
    .summary = "show the generations and workers of a running 'baton run'",
    .about = "Shows the generations, their workers, states, ages and restarts. With\n"
             "--wait-idle, first waits until the master runs no operation and has none\n"
             "queued, so that what it shows is where the last one ended (a script that\n"
             "lost track of an upgrade it asked for reads its outcome this way).\n",
    .opts = status_options,
    OPT_TAKES(0, 0),
    .footer = MASTER_FOOTER,
};
const struct opt_verb stop_verb =
    MASTER_VERB("stop", NULL, "drain every generation and stop 'baton run'",
                "Drains every generation and stops the master; waits until it has.\n", 0);
const struct opt_verb reexec_verb = MASTER_VERB(
    "reexec", "[BINARY]", "replace the 'baton run' master's binary in place (same pid)",
    "Replaces the master's binary in place (same pid; workers and sockets kept). BINARY\n"
    "(default: the running one's path) must pass its self-check ('BINARY --version').\n",
    1);

static long long jint(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

/* Parses a master verb's arguments into c; returns -1 to go on, else the exit code
 * (r freed). */
static int parse_master(const struct opt_verb *v, int argc, char **argv, struct master_cli *c,
                        struct opt_result *r)
{
    int rc = opt_parse_cli(v, argc, argv, c, r);
    if (rc == OPT_RUN)
        return -1;
    opt_result_free(r);
    return VERB_PARSE_EXIT(rc);
}

/* upgrade [-- NEWCOMMAND...] and rollback: start a generation, wait for the switch. */
static int start_generation(const struct opt_verb *v, int argc, char **argv)
{
    struct master_cli c = {0};
    struct opt_result r;
    int rc = parse_master(v, argc, argv, &c, &r);
    if (rc >= 0)
        return rc;
    struct err e;
    if (c.image && (r.command || container_image_check(c.image, &e) < 0)) {
        fprintf(stderr, "baton %s: %s\n", v->name,
                r.command ? "give --image or '-- NEWCOMMAND', not both" : e.msg);
        opt_result_free(&r);
        return EXIT_USAGE;
    }
    json_t *extra = json_object();
    if (c.image)
        json_object_set_new(extra, "image", json_string(c.image));
    if (r.command) {
        json_t *cmd = json_array();
        for (int i = 0; i < r.argc; i++) {
            json_t *arg = json_string(r.argv[i]);
            if (!arg) { /* jansson holds UTF-8 only: never send a command with a hole */
                fprintf(stderr, "baton %s: argument %d of the command is not valid UTF-8\n",
                        v->name, i + 1);
                json_decref(cmd);
                json_decref(extra);
                opt_result_free(&r);
                return EXIT_USAGE;
            }
            json_array_append_new(cmd, arg);
        }
        json_object_set_new(extra, "command", cmd);
    }
    json_t *reply;
    rc = ctlcli_master_call(&c.ctl, v->name, v->name, extra, 1, &reply);
    if (rc == EXIT_OK && !c.ctl.json)
        printf("generation %lld serves; the previous one stopped accepting at switched_unix_ms "
               "%lld\n",
               jint(reply, "generation"), jint(reply, "switched_unix_ms"));
    json_decref(reply);
    opt_result_free(&r);
    return rc;
}

int verb_upgrade(int argc, char **argv)
{
    return start_generation(&upgrade_verb, argc, argv);
}

int verb_rollback(int argc, char **argv)
{
    return start_generation(&rollback_verb, argc, argv);
}

static void print_status(json_t *st)
{
    printf("baton '%s' pid %lld, %lld re-execs, current generation %lld%s\n",
           json_string_value(json_object_get(st, "name")), jint(st, "pid"), jint(st, "reexecs"),
           jint(st, "current_generation"),
           json_is_true(json_object_get(st, "stopping")) ? ", stopping" : "");
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(st, "listen"), i, v)
    {
        const char *name = json_string_value(json_object_get(v, "name"));
        printf("listening on %s%s%s\n", name && *name ? name : "", name && *name ? "=" : "",
               json_string_value(json_object_get(v, "addr")));
    }
    json_t *px = json_object_get(st, "proxy");
    if (px)
        printf("proxy worker %lld (%s mode%s), %lld restarts, control %s\n", jint(px, "pid"),
               json_string_value(json_object_get(px, "mode")),
               json_is_true(json_object_get(px, "ready")) ? ", ready" : "", jint(px, "restarts"),
               json_string_value(json_object_get(px, "control")));
    json_t *rp = json_object_get(st, "reuseport");
    if (rp)
        printf("reuseport protection: %s (%s)\n",
               json_string_value(json_object_get(rp, "protection")),
               json_string_value(json_object_get(rp, "detail")));
    printf("%-5s %-9s %9s %8s  %s\n", "GEN", "STATE", "AGE", "RESTARTS",
           px ? "WORKERS (pid:flags@port)" : "WORKERS (pid:flags)");
    json_array_foreach(json_object_get(st, "generations"), i, v)
    {
        char age[32];
        snprintf(age, sizeof(age), "%.1fs", (double)jint(v, "age_ms") / 1000.0);
        printf("%-5lld %-9s %9s %8lld  ", jint(v, "id"),
               json_string_value(json_object_get(v, "state")), age, jint(v, "restarts"));
        size_t k;
        json_t *w;
        json_array_foreach(json_object_get(v, "workers"), k, w)
        {
            printf("%s%lld:%s%s", k ? " " : "", jint(w, "pid"),
                   json_is_true(json_object_get(w, "ready")) ? "r" : "-",
                   json_is_true(json_object_get(w, "stopping")) ? "s" : "");
            if (json_object_get(w, "port"))
                printf("@%lld", jint(w, "port"));
        }
        json_t *cmd = json_object_get(v, "command");
        printf("  %s%s\n", json_string_value(json_array_get(cmd, 0)),
               json_is_true(json_object_get(v, "current")) ? "  (current)" : "");
    }
}

/* A verb without arguments: one request, its reply printed by `print` (unless --json). */
static int call_no_args(const struct opt_verb *v, int argc, char **argv,
                        void (*print)(json_t *reply))
{
    struct master_cli c = {0};
    struct opt_result r;
    int rc = parse_master(v, argc, argv, &c, &r);
    if (rc >= 0)
        return rc;
    json_t *reply;
    rc = ctlcli_master_call(&c.ctl, v->name, v->name, NULL, 1, &reply);
    if (rc == EXIT_OK && !c.ctl.json)
        print(reply);
    json_decref(reply);
    opt_result_free(&r);
    return rc;
}

/* The master's status once it is idle (no operation running or queued), polled every
 * 100 ms for at most c->wait_idle_ms; EXIT_FAIL with the reason when it never is. */
static int status_when_idle(const struct master_cli *c, json_t **st)
{
    struct ctlcli_opts quiet = c->ctl;
    quiet.json = 0;
    uint64_t deadline = clock_now_ms() + c->wait_idle_ms;
    for (;;) {
        int rc = ctlcli_master_call(&quiet, "status", "status", NULL, 0, st);
        if (rc != EXIT_OK)
            return rc;
        json_t *op = json_object_get(*st, "operation");
        long long queued = jint(*st, "queued");
        if (json_is_null(op) && queued == 0)
            return EXIT_OK;
        if (clock_now_ms() >= deadline) {
            fprintf(stderr,
                    "baton status: the master is still busy after --wait-idle %llu ms (%s "
                    "running, %lld queued); wait longer or see its log\n",
                    (unsigned long long)c->wait_idle_ms,
                    json_is_string(op) ? json_string_value(op) : "nothing", queued);
            return EXIT_FAIL;
        }
        json_decref(*st);
        *st = NULL;
        nanosleep(&(struct timespec){0, 100 * 1000000L}, NULL);
    }
}

int verb_status(int argc, char **argv)
{
    struct master_cli c = {0};
    struct opt_result r;
    int rc = parse_master(&status_verb, argc, argv, &c, &r);
    if (rc >= 0)
        return rc;
    json_t *st = NULL;
    if (!c.wait_idle_ms)
        rc = ctlcli_master_call(&c.ctl, "status", "status", NULL, 1, &st);
    else if ((rc = status_when_idle(&c, &st)) == EXIT_OK && c.ctl.json)
        ctlcli_print_json(st);
    if (rc == EXIT_OK && !c.ctl.json)
        print_status(st);
    json_decref(st);
    opt_result_free(&r); /* after the calls: c's strings point into it */
    return rc;
}

static void print_stopped(json_t *reply)
{
    (void)reply;
    printf("stopped\n");
}

int verb_stop(int argc, char **argv)
{
    return call_no_args(&stop_verb, argc, argv, print_stopped);
}

/* The master's status (caller frees), or NULL after printing "baton LABEL: reason". */
static json_t *master_status(const struct ctlcli_opts *c, const char *label)
{
    json_t *st;
    struct ctlcli_opts quiet = *c;
    quiet.json = 0;
    if (ctlcli_master_call(&quiet, label, "status", NULL, 0, &st) == EXIT_OK)
        return st;
    json_decref(st);
    return NULL;
}

int verb_reexec(int argc, char **argv)
{
    struct master_cli c = {0};
    struct opt_result r;
    int rc = parse_master(&reexec_verb, argc, argv, &c, &r);
    if (rc >= 0)
        return rc;
    json_t *extra = json_object();
    char path[PATH_MAX];
    if (r.argc == 1 && !realpath(r.argv[0], path)) {
        fprintf(stderr, "baton reexec: cannot find '%s'\n", r.argv[0]);
        json_decref(extra);
        opt_result_free(&r);
        return EXIT_FAIL;
    }
    if (r.argc == 1)
        json_object_set_new(extra, "binary", json_string(path));
    opt_result_free(&r);
    /* The master answers just before execve; the next request is answered by the new
     * image (the control socket is kept), which counts one more re-exec. */
    json_t *before = master_status(&c.ctl, "reexec"), *reply = NULL, *after = NULL;
    if (!before) {
        json_decref(extra);
        return EXIT_FAIL;
    }
    long long count = jint(before, "reexecs");
    json_decref(before);
    rc = ctlcli_master_call(&c.ctl, "reexec", "reexec", extra, 0, &reply);
    if (rc != EXIT_OK) {
        if (c.ctl.json && reply)
            ctlcli_print_json(reply);
        json_decref(reply);
        return rc;
    }
    after = master_status(&c.ctl, "reexec: the master did not answer after re-exec");
    if (!after) {
        rc = EXIT_FAIL;
    } else if (jint(after, "reexecs") != count + 1) {
        const char *why = json_string_value(json_object_get(after, "last_reexec_error"));
        fprintf(stderr, "baton reexec: %s\n", why ? why : "the master did not re-execute");
        rc = EXIT_FAIL;
    } else if (c.ctl.json) {
        json_object_set_new(reply, "reexecs", json_integer(count + 1));
        ctlcli_print_json(reply);
    } else {
        printf("re-executed '%s' as pid %lld (re-exec #%lld)\n",
               json_string_value(json_object_get(reply, "binary")), jint(reply, "pid"), count + 1);
    }
    json_decref(reply);
    json_decref(after);
    return rc;
}
