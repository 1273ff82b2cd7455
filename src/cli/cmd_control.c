/* The control verbs of a running `baton run` master: upgrade, rollback, status, stop,
 * reexec. Each sends one request over the control socket and prints the reply. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/ctlcli.h"
#include "cli/verbs.h"
#include "core/ctl.h"
#include "supervise/run.h"

struct ctl_cli {
    const char *verb;
    char control[108];
    int json;
    int first_arg; /* index of the first non-option argument */
};

static void usage(FILE *out, const char *verb)
{
    static const struct {
        const char *verb, *args, *what;
    } help[] = {
        {"upgrade", "[-- NEWCOMMAND [ARG...]]",
         "Starts a new generation (of NEWCOMMAND, else the current command) beside the\n"
         "current one; once all its workers are ready the old generation is stopped.\n"
         "Waits until the old generation no longer accepts (prints switched_unix_ms), or\n"
         "until the new one failed and was rolled back (prints the reason, exit 1).\n"},
        {"rollback", "",
         "Starts the previous generation's command as a new generation, with the same\n"
         "rules as upgrade.\n"},
        {"status", "", "Shows the generations, their workers, states, ages and restarts.\n"},
        {"stop", "", "Drains every generation and stops the master; waits until it has.\n"},
        {"reexec", "[BINARY]",
         "Replaces the master's binary in place (same pid; workers and sockets kept). BINARY\n"
         "(default: the running one's path) must pass its self-check ('BINARY --version').\n"},
    };
    for (size_t i = 0; i < sizeof(help) / sizeof(help[0]); i++) {
        if (strcmp(help[i].verb, verb) != 0)
            continue;
        fprintf(out,
                "usage: baton %s [--name NAME] [--control PATH] [--json] %s\n\n%s\n"
                "options:\n"
                "  --name NAME      the master's name (default baton)\n"
                "  --control PATH   its control socket (default from --name)\n"
                "  --json           print the master's reply as one JSON object\n"
                "  --help           this text\n\n"
                "exit codes: 0 done, 1 failed (reason on stderr), 2 usage error.\n",
                verb, help[i].args, help[i].what);
    }
}

/* Parses the common options and resolves the control socket (default: the master
 * named baton); returns -1 (exit code in *rc) to stop. */
static int parse_common(struct ctl_cli *c, int argc, char **argv, int *rc)
{
    const struct ctlcli_spec spec = {
        .verb = c->verb, .optstring = "+", .usage = usage, .control_max = sizeof(c->control)};
    struct ctlcli o;
    if (ctlcli_parse(&spec, &o, argc, argv, rc) < 0)
        return -1;
    if (o.control)
        snprintf(c->control, sizeof(c->control), "%s", o.control);
    c->json = o.json;
    struct err e;
    if (!c->control[0] &&
        ctl_default_path(o.name ? o.name : "baton", c->control, sizeof(c->control), &e) < 0) {
        fprintf(stderr, "baton %s: %s\n", c->verb, e.msg);
        *rc = EXIT_USAGE;
        return -1;
    }
    c->first_arg = o.first_arg;
    return 0;
}

static void print_json(json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT);
    if (s)
        printf("%s\n", s);
    free(s);
}

/* Sends the request; prints the error (or the JSON reply) and returns the exit code. */
static int call(struct ctl_cli *c, json_t *extra, json_t **reply)
{
    struct err e;
    *reply = NULL;
    if (run_ctl(c->control, c->verb, extra, reply, &e) < 0) {
        fprintf(stderr, "baton %s: %s\n", c->verb, e.msg);
        return EXIT_FAIL;
    }
    if (c->json)
        print_json(*reply);
    if (ctl_reply_check(*reply, &e) < 0) {
        fprintf(stderr, "baton %s: %s\n", c->verb, e.msg);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

static int no_args(struct ctl_cli *c, int argc)
{
    if (c->first_arg < argc) {
        fprintf(stderr, "baton %s: unexpected argument; see 'baton %s --help'\n", c->verb, c->verb);
        return -1;
    }
    return 0;
}

static long long jint(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

int cmd_upgrade(int argc, char **argv)
{
    struct ctl_cli c = {.verb = argv[0]};
    int rc;
    if (parse_common(&c, argc, argv, &rc) < 0)
        return rc;
    json_t *extra = json_object();
    if (c.first_arg < argc) {
        if (strcmp(argv[c.first_arg - 1], "--") != 0) {
            fprintf(stderr, "baton %s: put the new command after '--'\n", c.verb);
            json_decref(extra);
            return EXIT_USAGE;
        }
        if (strcmp(c.verb, "rollback") == 0) {
            fprintf(stderr, "baton rollback: takes no command\n");
            json_decref(extra);
            return EXIT_USAGE;
        }
        json_t *cmd = json_array();
        for (int i = c.first_arg; i < argc; i++)
            json_array_append_new(cmd, json_string(argv[i]));
        json_object_set_new(extra, "command", cmd);
    }
    json_t *reply;
    rc = call(&c, extra, &reply);
    if (rc == EXIT_OK && !c.json)
        printf("generation %lld serves; the previous one stopped accepting at switched_unix_ms "
               "%lld\n",
               jint(reply, "generation"), jint(reply, "switched_unix_ms"));
    json_decref(reply);
    return rc;
}

static void print_status(json_t *st)
{
    uint64_t now_ms = 0;
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
    (void)now_ms;
}

/* A verb without arguments: one request, its reply printed by `print` (unless --json). */
static int call_no_args(int argc, char **argv, void (*print)(json_t *reply))
{
    struct ctl_cli c = {.verb = argv[0]};
    int rc;
    if (parse_common(&c, argc, argv, &rc) < 0)
        return rc;
    if (no_args(&c, argc) < 0)
        return EXIT_USAGE;
    json_t *reply;
    rc = call(&c, NULL, &reply);
    if (rc == EXIT_OK && !c.json)
        print(reply);
    json_decref(reply);
    return rc;
}

int cmd_status(int argc, char **argv)
{
    return call_no_args(argc, argv, print_status);
}

static void print_stopped(json_t *reply)
{
    (void)reply;
    printf("stopped\n");
}

int cmd_stop(int argc, char **argv)
{
    return call_no_args(argc, argv, print_stopped);
}

int cmd_reexec(int argc, char **argv)
{
    struct ctl_cli c = {.verb = argv[0]};
    int rc;
    if (parse_common(&c, argc, argv, &rc) < 0)
        return rc;
    json_t *extra = json_object();
    if (c.first_arg < argc) {
        if (c.first_arg + 1 < argc) {
            fprintf(stderr, "baton reexec: takes at most one BINARY\n");
            json_decref(extra);
            return EXIT_USAGE;
        }
        char path[PATH_MAX];
        const char *b = argv[c.first_arg];
        if (!realpath(b, path)) {
            fprintf(stderr, "baton reexec: cannot find '%s'\n", b);
            json_decref(extra);
            return EXIT_FAIL;
        }
        json_object_set_new(extra, "binary", json_string(path));
    }
    /* The master answers just before execve; the next request is answered by the new
     * image (the control socket is kept), which counts one more re-exec. */
    struct err e;
    json_t *before = NULL, *reply = NULL, *after = NULL;
    if (run_ctl(c.control, "status", NULL, &before, &e) < 0 || ctl_reply_check(before, &e) < 0) {
        fprintf(stderr, "baton reexec: %s\n", e.msg);
        json_decref(before);
        json_decref(extra);
        return EXIT_FAIL;
    }
    long long count = jint(before, "reexecs");
    json_decref(before);
    int saved_json = c.json;
    c.json = 0;
    rc = call(&c, extra, &reply);
    c.json = saved_json;
    if (rc != EXIT_OK) {
        if (c.json)
            print_json(reply);
        json_decref(reply);
        return rc;
    }
    if (run_ctl(c.control, "status", NULL, &after, &e) < 0 || ctl_reply_check(after, &e) < 0) {
        fprintf(stderr, "baton reexec: the master did not answer after re-exec: %s\n", e.msg);
        json_decref(reply);
        json_decref(after);
        return EXIT_FAIL;
    }
    if (jint(after, "reexecs") != count + 1) {
        const char *why = json_string_value(json_object_get(after, "last_reexec_error"));
        fprintf(stderr, "baton reexec: %s\n", why ? why : "the master did not re-execute");
        rc = EXIT_FAIL;
    } else if (c.json) {
        json_object_set_new(reply, "reexecs", json_integer(count + 1));
        print_json(reply);
    } else {
        printf("re-executed '%s' as pid %lld (re-exec #%lld)\n",
               json_string_value(json_object_get(reply, "binary")), jint(reply, "pid"), count + 1);
    }
    json_decref(reply);
    json_decref(after);
    return rc;
}
