/* The deploy lease, two ways with one set of calls: a child `baton-migrate lease ...`
 * (database), or a short POSIX sh script run on the lock's host under flock(1) (lock
 * file). Either answers with the lease as it now is; this file reads that answer. */
#include "deploy/dlease.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/opt.h"
#include "deploy/dstate.h"

#define DLEASE_SCRIPT_MAX 4096

struct dlease {
    const struct dfile *df;
    struct transport *tr;
    char migrate[DF_PATH_MAX];
    char holder[DLEASE_TEXT_MAX];
    char where[DF_PATH_MAX + DF_HOSTNAME_MAX];
    int64_t token;
};

struct dlease_op {
    struct dlease *l;
    int take; /* a successful answer sets the token */
    dlease_cb cb;
    void *data;
};

void dlease_holder_self(char *out, size_t cap)
{
    char host[128] = "localhost";
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = 0;
    const struct passwd *pw = getpwuid(geteuid());
    snprintf(out, cap, "%s@%s:%ld", pw ? pw->pw_name : "uid", host, (long)getpid());
    for (char *p = out; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("@._:-", *p))
            *p = '_';
}

int dlease_holder_dead_here(const char *holder)
{
    char self[DLEASE_TEXT_MAX];
    dlease_holder_self(self, sizeof(self));
    const char *colon = strrchr(holder, ':'), *my = strrchr(self, ':');
    if (!colon || !my || colon - holder != my - self || strncmp(holder, self, (size_t)(my - self)))
        return 0; /* another machine (or user): only its expiry tells */
    char *end;
    long pid = strtol(colon + 1, &end, 10);
    if (*end || pid <= 0)
        return 0;
    return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

int dlease_new(const struct dfile *df, struct transport *tr, const char *migrate,
               const char *holder, struct dlease **out, struct err *e)
{
    struct dlease *l = calloc(1, sizeof(*l));
    if (!l)
        return err_errno(e, ENOMEM, "cannot make the deploy lease");
    l->df = df;
    l->tr = tr;
    snprintf(l->migrate, sizeof(l->migrate), "%s", migrate ? migrate : "baton-migrate");
    snprintf(l->holder, sizeof(l->holder), "%s", holder);
    if (df->database.enabled) {
        snprintf(l->where, sizeof(l->where), "database");
    } else if (df->lease.remote) {
        char dest[DF_HOSTNAME_MAX + 64];
        dfile_dest_text(df, &df->lease.host, dest, sizeof(dest));
        snprintf(l->where, sizeof(l->where), "%s:%s", dest, df->lease.path);
    } else {
        snprintf(l->where, sizeof(l->where), "%s", df->lease.path);
    }
    *out = l;
    return 0;
}

void dlease_free(struct dlease *l)
{
    free(l);
}

const char *dlease_where(const struct dlease *l)
{
    return l->where;
}

int64_t dlease_token(const struct dlease *l)
{
    return l->token;
}

int dlease_parse_lock(const char *text, struct dlease_info *info, int *ok, struct err *e)
{
    memset(info, 0, sizeof(*info));
    *ok = -1;
    char line[DLEASE_TEXT_MAX + 32];
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, "\n");
        if (n >= sizeof(line))
            return err_set(e, "lock file line too long");
        memcpy(line, p, n);
        line[n] = 0;
        p += n + (p[n] == '\n');
        char *eq = strchr(line, '=');
        if (!line[0])
            continue;
        if (!eq)
            return err_set(e, "malformed lock file line '%.60s'", line);
        *eq = 0;
        const char *k = line, *v = eq + 1;
        long long num = 0;
        int bad = 0;
        if (!strcmp(k, "holder"))
            snprintf(info->holder, sizeof(info->holder), "%s", v);
        else if (!strcmp(k, "progress"))
            snprintf(info->progress, sizeof(info->progress), "%s", v);
        else if (!strcmp(k, "error"))
            return err_set(e, "%.200s", v);
        else if (!strcmp(k, "token") || !strcmp(k, "since") || !strcmp(k, "expires") ||
                 !strcmp(k, "ok")) {
            bad = opt_parse_digits(v, &num) < 0;
            if (!strcmp(k, "token"))
                info->token = num;
            else if (!strcmp(k, "since"))
                info->since_unix_ms = num;
            else if (!strcmp(k, "expires"))
                info->expires_unix_ms = num;
            else
                *ok = (int)num;
        } else {
            return err_set(e, "unknown key '%.40s' in the lock file", k);
        }
        if (bad)
            return err_set(e, "'%s' in the lock file is not a number: '%.40s'", k, v);
    }
    if (*ok < 0)
        return err_set(e, "no answer from the lock script");
    return 0;
}

static int parse_db(const char *out, struct dlease_info *info, int *ok, struct err *e)
{
    json_error_t je;
    json_t *o = json_loads(out, 0, &je);
    memset(info, 0, sizeof(*info));
    const char *holder = json_string_value(json_object_get(o, "holder"));
    const char *progress = json_string_value(json_object_get(o, "progress"));
    json_t *token = json_object_get(o, "token"), *since = json_object_get(o, "since_unix_ms"),
           *expires = json_object_get(o, "expires_unix_ms"), *okv = json_object_get(o, "ok");
    if (!holder || !progress || !json_is_integer(token) || !json_is_integer(since) ||
        !json_is_integer(expires) || !json_is_boolean(okv)) {
        json_decref(o);
        return err_set(e, "malformed answer from baton-migrate lease: '%.100s'", out);
    }
    snprintf(info->holder, sizeof(info->holder), "%s", holder);
    snprintf(info->progress, sizeof(info->progress), "%s", progress);
    info->token = json_integer_value(token);
    info->since_unix_ms = json_integer_value(since);
    info->expires_unix_ms = json_integer_value(expires);
    *ok = json_is_true(okv);
    json_decref(o);
    return 0;
}

static void on_done(const struct child_result *r, int lost, void *data)
{
    struct dlease_op *op = data;
    struct dlease *l = op->l;
    struct dlease_info info;
    struct err e = {{0}};
    int ok = 0, rc;
    if (lost) {
        snprintf(e.msg, sizeof(e.msg), "cannot reach the lease at %s: %.300s", l->where, r->err);
        rc = DLEASE_UNREACHABLE;
    } else if ((l->df->database.enabled ? parse_db(r->out, &info, &ok, &e)
                                        : dlease_parse_lock(r->out, &info, &ok, &e)) < 0 ||
               (!ok && !(r->exited && r->status == 3))) {
        if (!e.msg[0] || r->err[0])
            snprintf(e.msg, sizeof(e.msg), "lease at %s: %.300s", l->where,
                     r->err[0] ? r->err : "no answer");
        rc = DLEASE_ERROR;
    } else {
        rc = ok ? DLEASE_OK : DLEASE_HELD;
        if (ok && op->take)
            l->token = info.token;
    }
    dlease_cb cb = op->cb;
    void *cb_data = op->data;
    free(op);
    cb(rc, rc >= 0 ? &info : NULL, rc < 0 ? e.msg : NULL, cb_data);
}

/* The lock script: its variables first, then one of the bodies below. */
static const char lock_head[] =
    "umask 077; d=${P%/*}; [ -d \"$d\" ] || mkdir -p \"$d\" || { echo \"error=cannot make $d\";"
    " exit 4; }\n"
    "exec 9>>\"$P.guard\" || { echo \"error=cannot open $P.guard\"; exit 4; }\n"
    "flock -w 10 9 || { echo \"error=$P is locked by another baton for 10s\"; exit 4; }\n"
    "tok=; cur=; since=; until=\n"
    "if [ -f \"$P\" ]; then tok=$(sed -n 's/^token=//p' \"$P\"); cur=$(sed -n 's/^holder=//p'"
    " \"$P\"); since=$(sed -n 's/^since=//p' \"$P\"); until=$(sed -n 's/^expires=//p' \"$P\"); fi\n"
    "case $tok in ''|*[!0-9]*) tok=0;; esac; case $until in ''|*[!0-9]*) until=0;; esac\n"
    "case $since in ''|*[!0-9]*) since=0;; esac\n"
    "put() { printf 'token=%s\\nholder=%s\\nsince=%s\\nexpires=%s\\nprogress=%s\\n' \"$1\" \"$2\""
    " \"$3\" \"$4\" \"$5\" >\"$P.tmp\" && mv -f \"$P.tmp\" \"$P\" || { echo \"error=cannot write"
    " $P\"; exit 4; }; }\n"
    "show() { [ -f \"$P\" ] && cat \"$P\"; echo \"ok=$1\"; }\n";

static const char lock_take[] =
    "if [ -n \"$cur\" ] && [ \"$until\" -ge \"$NOW\" ] && [ \"$tok\" != \"$EXPECT\" ]; then show 0;"
    " exit 3; fi\n"
    "put $((tok + 1)) \"$H\" \"$NOW\" $((NOW + TTL)) ''; show 1\n";
static const char lock_renew[] =
    "if [ \"$tok\" != \"$EXPECT\" ] || [ -z \"$cur\" ]; then show 0; exit 3; fi\n"
    "put \"$tok\" \"$cur\" \"$since\" $((NOW + TTL)) \"$PROG\"; show 1\n";
static const char lock_release[] =
    "[ \"$tok\" = \"$EXPECT\" ] && [ -n \"$cur\" ] && put \"$tok\" '' \"$since\" 0 ''; show 1\n";
static const char lock_show[] = "show 1\n";

/* Keeps printable ASCII of a progress text, without quotes or backslashes. */
static void clean_text(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (; *in && n + 1 < cap; in++)
        out[n++] = (*in >= ' ' && *in < 0x7f && *in != '\\') ? *in : '_';
    out[n] = 0;
}

static int run_lock(struct dlease *l, const char *verb, const char *body, int64_t expect,
                    const char *progress, struct dlease_op *op, struct err *e)
{
    char path[2 * DF_PATH_MAX], holder[2 * DLEASE_TEXT_MAX], prog[2 * DLEASE_TEXT_MAX + 8],
        clean[DLEASE_TEXT_MAX], script[DLEASE_SCRIPT_MAX];
    clean_text(progress ? progress : "", clean, sizeof(clean));
    if (shell_quote(l->df->lease.path, path, sizeof(path)) < 0 ||
        shell_quote(l->holder, holder, sizeof(holder)) < 0 ||
        shell_quote(clean, prog, sizeof(prog)) < 0)
        return err_set(e, "lease: a value does not fit the script");
    /* the first line names the operation: the progress display shows only it */
    int n = snprintf(script, sizeof(script),
                     "# lease %s %s (token %lld)\nP=%s; H=%s; NOW=%lld; TTL=%lld; EXPECT=%lld; "
                     "PROG=%s\n%s%s",
                     verb, l->df->lease.path, (long long)expect, path, holder,
                     (long long)clock_wall_ms(), (long long)l->df->lease.ttl_ms, (long long)expect,
                     prog, lock_head, body);
    if (n < 0 || (size_t)n >= sizeof(script))
        return err_set(e, "lease: the script is too long");
    const struct df_dest *d = &l->df->lease.host;
    return l->tr->drv->run(l->tr, d, "lease", script, 30000, on_done, op, NULL, e);
}

static int run_db(struct dlease *l, const char *verb, int64_t expect, const char *progress,
                  struct dlease_op *op, struct err *e)
{
    char ttl[32], tok[32], prog[DLEASE_TEXT_MAX];
    snprintf(ttl, sizeof(ttl), "%lldms", (long long)l->df->lease.ttl_ms);
    snprintf(tok, sizeof(tok), "%lld", (long long)expect);
    clean_text(progress ? progress : "", prog, sizeof(prog));
    char *argv[12] = {l->migrate, "--db",       (char *)l->df->database.url,
                      "lease",    (char *)verb, (char *)l->df->service};
    int n = 6;
    if (!strcmp(verb, "take")) {
        argv[n++] = l->holder;
        argv[n++] = ttl;
        if (expect >= 0)
            argv[n++] = tok;
    } else if (!strcmp(verb, "renew")) {
        argv[n++] = tok;
        argv[n++] = ttl;
        argv[n++] = prog;
    } else if (!strcmp(verb, "release")) {
        argv[n++] = tok;
    }
    argv[n] = NULL;
    char shown[256];
    snprintf(shown, sizeof(shown), "baton-migrate lease %s %s", verb, l->df->service);
    return tr_spawn(l->tr, argv, "database", shown, 30000, -1, on_done, op, NULL, e);
}

static int start(struct dlease *l, const char *verb, const char *body, int64_t expect,
                 const char *progress, dlease_cb cb, void *data, struct err *e)
{
    struct dlease_op *op = calloc(1, sizeof(*op));
    if (!op)
        return err_errno(e, ENOMEM, "lease");
    *op = (struct dlease_op){.l = l, .take = !strcmp(verb, "take"), .cb = cb, .data = data};
    int rc = l->df->database.enabled ? run_db(l, verb, expect, progress, op, e)
                                     : run_lock(l, verb, body, expect, progress, op, e);
    if (rc < 0)
        free(op);
    return rc;
}

int dlease_take(struct dlease *l, int64_t expect, dlease_cb cb, void *data, struct err *e)
{
    return start(l, "take", lock_take, expect, NULL, cb, data, e);
}

int dlease_renew(struct dlease *l, const char *progress, dlease_cb cb, void *data, struct err *e)
{
    return start(l, "renew", lock_renew, l->token, progress, cb, data, e);
}

int dlease_release(struct dlease *l, dlease_cb cb, void *data, struct err *e)
{
    return start(l, "release", lock_release, l->token, NULL, cb, data, e);
}

int dlease_show(struct dlease *l, dlease_cb cb, void *data, struct err *e)
{
    return start(l, "show", lock_show, -1, NULL, cb, data, e);
}
