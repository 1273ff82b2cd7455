/* The deploy file parser: inih hands over key = value pairs, a table of keys per
 * section checks and stores each one, and a final pass checks what depends on several
 * keys (strategy and its commands, canary names, the lease's place). */
#include "deploy/dfile.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/opt.h"

#define DF_FILE_MAX (1024 * 1024)

enum sect { S_NONE, S_SERVICE, S_SSH, S_HOST, S_BALANCER, S_APP, S_ROLLOUT, S_DATABASE, S_LEASE };

static const char *const sect_names[] = {"",    "service", "ssh",      "host", "balancer",
                                         "app", "rollout", "database", "lease"};

enum kind {
    K_NAME,
    K_TEXT,
    K_CMD,
    K_INT,
    K_DUR,
    K_PERCENT,
    K_RATIO,
    K_ENUM,
    K_DEST,
    K_SOCKET,
    K_HEALTH
};

struct key {
    enum sect sect;
    const char *name;
    enum kind kind;
    size_t off, size; /* in struct dfile, or in struct df_host for [host NAME] */
    long min, max;
    const char *const *names; /* K_ENUM */
    int repeat;
};

static const char *const strategies[] = {"in-place", "remove-upgrade-add", NULL};
static const char *const bal_types[] = {"haproxy", "baton-proxy", NULL};
static const char *const stricts[] = {"yes", "accept-new", "no", NULL};

#define F(m)  offsetof(struct dfile, m), sizeof(((struct dfile *)0)->m)
#define HF(m) offsetof(struct df_host, m), sizeof(((struct df_host *)0)->m)

static const struct key keys[] = {
    {S_SERVICE, "name", K_NAME, F(service), 0, 0, NULL, 0},
    {S_SERVICE, "state", K_TEXT, F(state_path), 0, 0, NULL, 0},
    {S_SSH, "user", K_NAME, F(ssh.user), 0, 0, NULL, 0},
    {S_SSH, "port", K_INT, F(ssh.port), 1, 65535, NULL, 0},
    {S_SSH, "identity", K_TEXT, F(ssh.identity), 0, 0, NULL, 0},
    {S_SSH, "known-hosts", K_TEXT, F(ssh.known_hosts), 0, 0, NULL, 0},
    {S_SSH, "strict-host-keys", K_ENUM, F(ssh.strict), 0, 0, stricts, 0},
    {S_SSH, "connect-timeout", K_DUR, F(ssh.connect_timeout_ms), 1000, 3600000, NULL, 0},
    {S_SSH, "command-timeout", K_DUR, F(ssh.command_timeout_ms), 1000, 86400000, NULL, 0},
    {S_HOST, "ssh", K_DEST, HF(ssh), 0, 0, NULL, 0},
    {S_HOST, "server", K_NAME, HF(server), 0, 0, NULL, 0},
    {S_HOST, "address", K_NAME, HF(address), 0, 0, NULL, 0},
    {S_HOST, "group", K_NAME, HF(group), 0, 0, NULL, 0},
    {S_BALANCER, "type", K_ENUM, F(balancer.type), 0, 0, bal_types, 0},
    {S_BALANCER, "socket", K_SOCKET, F(balancer.sockets), 0, 0, NULL, 1},
    {S_BALANCER, "backend", K_NAME, F(balancer.backend), 0, 0, NULL, 0},
    {S_BALANCER, "host", K_DEST, F(balancer.host), 0, 0, NULL, 0},
    {S_BALANCER, "timeout", K_DUR, F(balancer.timeout_ms), 100, 600000, NULL, 0},
    {S_APP, "strategy", K_ENUM, F(app.strategy), 0, 0, strategies, 0},
    {S_APP, "name", K_NAME, F(app.name), 0, 0, NULL, 0},
    {S_APP, "command", K_CMD, F(app.command), 0, 0, NULL, 0},
    {S_APP, "upgrade", K_CMD, F(app.upgrade), 0, 0, NULL, 0},
    {S_APP, "revert", K_CMD, F(app.revert), 0, 0, NULL, 0},
    {S_APP, "probe", K_CMD, F(app.probe), 0, 0, NULL, 0},
    {S_APP, "baton", K_TEXT, F(app.baton), 0, 0, NULL, 0},
    {S_APP, "port", K_INT, F(app.port), 1, 65535, NULL, 0},
    {S_ROLLOUT, "max-parallel", K_INT, F(rollout.max_parallel), 1, DF_HOSTS_MAX, NULL, 0},
    {S_ROLLOUT, "canary", K_TEXT, F(rollout.canary), 0, 0, NULL, 0},
    {S_ROLLOUT, "bake", K_DUR, F(rollout.bake_ms), 0, 86400000, NULL, 0},
    {S_ROLLOUT, "progress-deadline", K_DUR, F(rollout.progress_deadline_ms), 100, 86400000, NULL,
     0},
    {S_ROLLOUT, "drain-timeout", K_DUR, F(rollout.drain_timeout_ms), 0, 86400000, NULL, 0},
    {S_ROLLOUT, "health", K_HEALTH, F(rollout.health), 0, 0, NULL, 0},
    {S_ROLLOUT, "health-interval", K_DUR, F(rollout.health_interval_ms), 10, 600000, NULL, 0},
    {S_ROLLOUT, "health-timeout", K_DUR, F(rollout.health_timeout_ms), 10, 600000, NULL, 0},
    {S_ROLLOUT, "health-passes", K_INT, F(rollout.health_passes), 1, 100, NULL, 0},
    {S_ROLLOUT, "verify-5xx-rate", K_PERCENT, F(rollout.verify_5xx_rate), 0, 0, NULL, 0},
    {S_ROLLOUT, "verify-rtime-ratio", K_RATIO, F(rollout.verify_rtime_ratio), 0, 0, NULL, 0},
    {S_ROLLOUT, "verify-conn-errors", K_INT, F(rollout.verify_conn_errors), 0, 1000000000, NULL, 0},
    {S_ROLLOUT, "verify-min-requests", K_INT, F(rollout.verify_min_requests), 0, 1000000000, NULL,
     0},
    {S_DATABASE, "url", K_TEXT, F(database.url), 0, 0, NULL, 0},
    {S_DATABASE, "dir", K_TEXT, F(database.dir), 0, 0, NULL, 0},
    {S_DATABASE, "timeout", K_DUR, F(database.timeout_ms), 1000, 604800000, NULL, 0},
    {S_LEASE, "host", K_DEST, F(lease.host), 0, 0, NULL, 0},
    {S_LEASE, "path", K_TEXT, F(lease.path), 0, 0, NULL, 0},
    {S_LEASE, "ttl", K_DUR, F(lease.ttl_ms), 3000, 86400000, NULL, 0},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

struct pstate {
    struct dfile *df;
    const char *name;
    const char *text; /* what is left to read */
    int lineno;
    int failed;
    struct err *e;
    enum sect sect;
    struct df_host *host; /* the [host NAME] being read */
    int sect_line[S_LEASE + 1];
    char seen[NKEYS];       /* for the current section (hosts: reset per host) */
    char seen_fixed[NKEYS]; /* fixed sections: every key once in the whole file */
    char line_long;         /* the current line did not fit inih's buffer */
};

static int fail_at(struct pstate *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail_at(struct pstate *st, const char *fmt, ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    err_set(st->e, "%s:%d: %s", st->name, st->lineno, msg);
    st->failed = 1;
    return 0;
}

static int enter_section(struct pstate *st, const char *section);

/* inih's reader: one line of the text per call, counted. A line longer than inih's
 * buffer, or one holding " ;" (inih would cut it there as a comment), is refused. */
static char *read_line(char *buf, int size, void *user)
{
    struct pstate *st = user;
    if (!*st->text || st->failed)
        return NULL;
    size_t n = strcspn(st->text, "\n");
    st->lineno++;
    const char *line = st->text;
    st->text += n + (line[n] == '\n');
    if (n + 1 >= (size_t)size) {
        fail_at(st, "line longer than %d characters (put a long command in a script)", size - 2);
        return NULL;
    }
    for (size_t i = 1; i < n; i++)
        if (line[i] == ';' && (line[i - 1] == ' ' || line[i - 1] == '\t') &&
            line[strspn(line, " \t")] != ';' && line[strspn(line, " \t")] != '#') {
            fail_at(st, "inline comment (' ;'): inih would cut the value here; put comments "
                        "on a line of their own");
            return NULL;
        }
    if (memchr(line, 0, n) != NULL) {
        fail_at(st, "NUL byte in line");
        return NULL;
    }
    memcpy(buf, line, n);
    buf[n] = '\n';
    buf[n + 1] = 0;
    char *start = buf + strspn(buf, " \t");
    if (start != buf && *start != '\n' && *start != ';' && *start != '#') {
        fail_at(st, "indented line (inih would read it as the continuation of the key above); "
                    "remove the indentation");
        return NULL;
    }
    char *close = *start == '[' ? strchr(start, ']') : NULL;
    if (close) { /* a section header: entered here so that empty sections count too */
        *close = 0;
        int ok = enter_section(st, start + 1);
        *close = ']';
        if (!ok)
            return NULL;
    }
    return buf;
}

static int name_char(int c)
{
    return isalnum(c) || c == '.' || c == '_' || c == '-';
}

/* A name: [A-Za-z0-9._-]{1,cap-1}, not starting with '-'. */
static int name_ok(const char *s, size_t cap)
{
    size_t n = strlen(s);
    if (n == 0 || n >= cap || s[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!name_char((unsigned char)s[i]))
            return 0;
    return 1;
}

int dfile_release_ok(const char *s, struct err *e)
{
    size_t n = strlen(s);
    if (n == 0 || n >= DF_RELEASE_MAX || s[0] == '-' || s[0] == '.')
        goto bad;
    for (size_t i = 0; i < n; i++)
        if (!name_char((unsigned char)s[i]) && s[i] != '+')
            goto bad;
    return 0;
bad:
    return err_set(e,
                   "release '%.80s' is not a release name (letters, digits and . _ + -, at most "
                   "%d, not starting with - or .)",
                   s, DF_RELEASE_MAX - 1);
}

static const char *const placeholders[] = {"{release}", "{host}", "{server}", "{address}"};

/* Checks the placeholders of a command template. */
static int cmd_ok(const char *s, struct err *e)
{
    for (const char *p = strchr(s, '{'); p; p = strchr(p + 1, '{')) {
        if (p > s && p[-1] == '$')
            continue;
        int known = 0;
        for (size_t i = 0; i < sizeof(placeholders) / sizeof(placeholders[0]); i++)
            if (strncmp(p, placeholders[i], strlen(placeholders[i])) == 0)
                known = 1;
        if (!known)
            return err_set(e,
                           "unknown placeholder at '%.20s' (known: {release}, {host}, "
                           "{server}, {address})",
                           p);
    }
    return 0;
}

int dfile_expand(const char *tmpl, const char *release, const struct df_host *h, char *out,
                 size_t cap, struct err *e)
{
    size_t n = 0;
    for (const char *p = tmpl; *p;) {
        const char *val = NULL;
        size_t skip = 1;
        if (*p == '{' && !(p > tmpl && p[-1] == '$')) {
            const char *vals[] = {release, h ? h->name : "", h ? h->server : "",
                                  h ? h->address : ""};
            for (size_t i = 0; i < sizeof(placeholders) / sizeof(placeholders[0]); i++)
                if (strncmp(p, placeholders[i], strlen(placeholders[i])) == 0) {
                    val = vals[i];
                    skip = strlen(placeholders[i]);
                }
            if (!val)
                return err_set(e, "unknown placeholder at '%.20s'", p);
        }
        size_t len = val ? strlen(val) : 1;
        if (n + len >= cap)
            return err_set(e, "command '%.60s...' is longer than %zu bytes once expanded", tmpl,
                           cap - 1);
        memcpy(out + n, val ? val : p, len);
        n += len;
        p += skip;
    }
    out[n] = 0;
    return 0;
}

/* "[user@]host[:port]", IPv6 as "[addr]" or "[addr]:port". */
static int dest_parse(const char *s, struct df_dest *d, struct err *e)
{
    memset(d, 0, sizeof(*d));
    const char *at = strchr(s, '@'), *h = s;
    if (at) {
        size_t ul = (size_t)(at - s);
        if (ul == 0 || ul >= sizeof(d->user))
            return err_set(e, "bad user in ssh destination '%s'", s);
        memcpy(d->user, s, ul);
        if (!name_ok(d->user, sizeof(d->user)))
            return err_set(e, "bad user in ssh destination '%s'", s);
        h = at + 1;
    }
    const char *port = NULL;
    size_t hl;
    if (*h == '[') {
        const char *close = strchr(h, ']');
        if (!close || (close[1] && close[1] != ':'))
            return err_set(e, "bad IPv6 address in ssh destination '%s'", s);
        h++;
        hl = (size_t)(close - h);
        port = close[1] ? close + 2 : NULL;
        for (size_t i = 0; i < hl; i++)
            if (!isxdigit((unsigned char)h[i]) && h[i] != ':' && h[i] != '.')
                return err_set(e, "bad IPv6 address in ssh destination '%s'", s);
    } else {
        const char *colon = strchr(h, ':');
        hl = colon ? (size_t)(colon - h) : strlen(h);
        port = colon ? colon + 1 : NULL;
        for (size_t i = 0; i < hl; i++)
            if (!name_char((unsigned char)h[i]))
                return err_set(e, "bad host in ssh destination '%s'", s);
    }
    if (hl == 0 || hl >= sizeof(d->host) || h[0] == '-')
        return err_set(e, "bad host in ssh destination '%s'", s);
    memcpy(d->host, h, hl);
    if (port) {
        char *end;
        long p = strtol(port, &end, 10);
        if (!isdigit((unsigned char)*port) || *end || p < 1 || p > 65535)
            return err_set(e, "bad port in ssh destination '%s'", s);
        d->port = (int)p;
    }
    return 0;
}

void dfile_dest_text(const struct dfile *df, const struct df_dest *d, char *out, size_t cap)
{
    const char *user = d->user[0] ? d->user : df->ssh.user;
    int port = d->port ? d->port : df->ssh.port;
    int v6 = strchr(d->host, ':') != NULL;
    snprintf(out, cap, "%s%s%s%s%s:%d", user, *user ? "@" : "", v6 ? "[" : "", d->host,
             v6 ? "]" : "", port ? port : 22);
}

static int socket_parse(const char *s, struct df_socket *k, struct err *e)
{
    memset(k, 0, sizeof(*k));
    if (strlen(s) >= sizeof(k->text))
        return err_set(e, "socket '%.60s...' is too long", s);
    snprintf(k->text, sizeof(k->text), "%s", s);
    if (strncmp(s, "unix:", 5) == 0) {
        k->is_unix = 1;
        if (s[5] != '/' || strlen(s + 5) >= sizeof(k->path))
            return err_set(e, "socket '%s': unix: takes an absolute path shorter than %zu bytes", s,
                           sizeof(k->path));
        snprintf(k->path, sizeof(k->path), "%s", s + 5);
        return 0;
    }
    if (strncmp(s, "tcp:", 4) == 0) {
        struct df_dest d;
        if (dest_parse(s + 4, &d, e) < 0 || d.user[0] || !d.port)
            return err_set(e, "socket '%s': tcp: takes HOST:PORT", s);
        snprintf(k->host, sizeof(k->host), "%s", d.host);
        k->port = d.port;
        return 0;
    }
    return err_set(e, "socket '%s' is neither unix:PATH nor tcp:HOST:PORT", s);
}

static int number_parse(const char *v, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (end == v || errno || !isfinite(d) || d < 0 || !isdigit((unsigned char)*v))
        return -1;
    *out = d;
    return *end ? (int)(end - v) : 0;
}

/* "http:/PATH" or "exec:COMMAND". */
static int health_parse(const char *v, struct dfile *df, struct err *e)
{
    if (strncmp(v, "http:", 5) == 0) {
        const char *path = v + 5;
        if (path[0] != '/' || strlen(path) >= 256)
            return err_set(e, "health '%s': http: takes a path starting with '/'", v);
        for (const char *p = path; *p; p++)
            if (*p <= ' ' || *p == 0x7f)
                return err_set(e, "health '%s': the path holds a space or control byte", v);
        df->rollout.health = DF_HEALTH_HTTP;
        snprintf(df->rollout.health_arg, sizeof(df->rollout.health_arg), "%s", path);
        return 0;
    }
    if (strncmp(v, "exec:", 5) == 0 && v[5]) {
        if (cmd_ok(v + 5, e) < 0)
            return -1;
        df->rollout.health = DF_HEALTH_EXEC;
        snprintf(df->rollout.health_arg, sizeof(df->rollout.health_arg), "%s", v + 5);
        return 0;
    }
    return err_set(e, "health '%s' is neither http:/PATH nor exec:COMMAND", v);
}

static int text_copy(const char *v, char *dst, size_t cap, struct err *e)
{
    if (!*v)
        return err_set(e, "empty value");
    if (strlen(v) >= cap)
        return err_set(e, "value longer than %zu bytes", cap - 1);
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p < ' ' && *p != '\t')
            return err_set(e, "control byte in value");
    snprintf(dst, cap, "%s", v);
    return 0;
}

/* Stores value v of key k into base (the struct dfile, or the host). */
static int set_value(const struct key *k, char *base, const char *v, struct dfile *df,
                     struct err *e)
{
    void *field = base + k->off;
    double d = 0;
    int rest;
    switch (k->kind) {
    case K_NAME:
        if (!name_ok(v, k->size))
            return err_set(e, "'%.80s' is not a name (letters, digits, . _ -, at most %zu)", v,
                           k->size - 1);
        snprintf(field, k->size, "%s", v);
        return 0;
    case K_TEXT:
        return text_copy(v, field, k->size, e);
    case K_CMD:
        return text_copy(v, field, k->size, e) < 0 ? -1 : cmd_ok(v, e);
    case K_INT: {
        char *end;
        errno = 0;
        long n = strtol(v, &end, 10);
        if (!isdigit((unsigned char)*v) || *end || errno || n < k->min || n > k->max)
            return err_set(e, "'%.40s' is not a whole number in %ld..%ld", v, k->min, k->max);
        if (k->size == sizeof(int))
            *(int *)field = (int)n;
        else
            *(long *)field = n;
        return 0;
    }
    case K_DUR: {
        uint64_t ms;
        size_t n = strlen(v);
        if (n == 0 || !isalpha((unsigned char)v[n - 1]))
            return err_set(e, "'%.40s' needs a unit (250ms, 2s, 1.5m, 1h)", v);
        if (opt_parse_duration(v, "ms", &ms, e) < 0)
            return -1;
        if (ms < (uint64_t)k->min || ms > (uint64_t)k->max)
            return err_set(e, "'%s' is out of range (%ldms..%lds)", v, k->min, k->max / 1000);
        *(uint64_t *)field = ms;
        return 0;
    }
    case K_PERCENT:
        rest = number_parse(v, &d);
        if (rest <= 0 || strcmp(v + rest, "%") != 0 || d > 100)
            return err_set(e, "'%.40s' is not a percentage (0%%..100%%)", v);
        *(double *)field = d / 100.0;
        return 0;
    case K_RATIO:
        rest = number_parse(v, &d);
        if (rest < 0 || (rest > 0 && strcmp(v + rest, "x") != 0) || (d != 0 && d < 1) || d > 1000)
            return err_set(e, "'%.40s' is not a ratio (0 for off, or 1 to 1000, e.g. 2 or 1.5x)",
                           v);
        *(double *)field = d;
        return 0;
    case K_ENUM:
        for (int i = 0; k->names[i]; i++)
            if (strcmp(v, k->names[i]) == 0) {
                *(int *)field = i;
                return 0;
            }
        return err_set(e, "'%.40s' is not one of %s%s%s%s%s", v, k->names[0],
                       k->names[1] ? ", " : "", k->names[1] ? k->names[1] : "",
                       k->names[1] && k->names[2] ? ", " : "",
                       k->names[1] && k->names[2] ? k->names[2] : "");
    case K_DEST:
        return dest_parse(v, field, e);
    case K_SOCKET:
        if (df->balancer.nsockets == DF_SOCKETS_MAX)
            return err_set(e, "more than %d sockets", DF_SOCKETS_MAX);
        return socket_parse(v, &df->balancer.sockets[df->balancer.nsockets++], e);
    case K_HEALTH:
        return health_parse(v, df, e);
    }
    return err_set(e, "unknown kind of key");
}

/* A section header: the fixed sections once each, [host NAME] once per name. */
static int enter_section(struct pstate *st, const char *section)
{
    struct dfile *df = st->df;
    char word[32] = "", rest[DF_NAME_MAX + 8] = "";
    int n = sscanf(section, " %31s %71s", word, rest);
    st->host = NULL;
    memset(st->seen, 0, sizeof(st->seen));
    for (int i = S_SERVICE; i <= S_LEASE; i++) {
        if (n < 1 || strcmp(word, sect_names[i]) != 0)
            continue;
        st->sect = (enum sect)i;
        if (i != S_HOST && n != 1)
            return fail_at(st, "section [%s] takes no name", word);
        if (i != S_HOST) {
            if (st->sect_line[i])
                return fail_at(st, "second [%s] section (the first is on line %d)", word,
                               st->sect_line[i]);
            st->sect_line[i] = st->lineno;
            return 1;
        }
        char extra[8];
        if (n != 2 || sscanf(section, " %*s %*s %7s", extra) == 1 || !name_ok(rest, DF_NAME_MAX))
            return fail_at(st, "[host NAME] takes one name (letters, digits, . _ -)");
        if (dfile_host_index(df, rest) >= 0)
            return fail_at(st, "second [host %s] (the first is on line %d)", rest,
                           df->hosts[dfile_host_index(df, rest)].line);
        if (df->nhosts == DF_HOSTS_MAX)
            return fail_at(st, "more than %d hosts", DF_HOSTS_MAX);
        struct df_host *h = realloc(df->hosts, (size_t)(df->nhosts + 1) * sizeof(*h));
        if (!h)
            return fail_at(st, "out of memory");
        df->hosts = h;
        st->host = &h[df->nhosts++];
        memset(st->host, 0, sizeof(*st->host));
        snprintf(st->host->name, sizeof(st->host->name), "%s", rest);
        st->host->line = st->lineno;
        st->sect_line[S_HOST] = st->lineno;
        return 1;
    }
    return fail_at(st,
                   "unknown section [%.60s] (known: service, ssh, host NAME, balancer, app, "
                   "rollout, database, lease)",
                   section);
}

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
    struct pstate *st = user;
    (void)section; /* read_line saw the header first (and also the empty sections) */
    if (st->failed)
        return 0;
    if (st->sect == S_NONE)
        return fail_at(st, "key '%.60s' before any section", name);
    for (size_t i = 0; i < NKEYS; i++) {
        const struct key *k = &keys[i];
        if (k->sect != st->sect || strcmp(k->name, name) != 0)
            continue;
        if (st->seen[i] && !k->repeat)
            return fail_at(st, "'%s' given twice in [%s]", name, sect_names[st->sect]);
        st->seen[i] = st->seen_fixed[i] = 1;
        char *base = st->sect == S_HOST ? (char *)st->host : (char *)st->df;
        struct err e;
        if (set_value(k, base, value, st->df, &e) < 0)
            return fail_at(st, "%s: %s", name, e.msg);
        return 1;
    }
    return fail_at(st, "unknown key '%.60s' in [%s]", name, sect_names[st->sect]);
}

int dfile_host_index(const struct dfile *df, const char *name)
{
    for (int i = 0; i < df->nhosts; i++)
        if (strcmp(df->hosts[i].name, name) == 0)
            return i;
    return -1;
}

static void set_defaults(struct dfile *df)
{
    df->ssh.strict = DF_STRICT_YES;
    df->ssh.connect_timeout_ms = 5000;
    df->ssh.command_timeout_ms = 600000;
    df->balancer.timeout_ms = 2000;
    snprintf(df->app.baton, sizeof(df->app.baton), "baton");
    df->rollout.max_parallel = 1;
    df->rollout.progress_deadline_ms = 300000;
    df->rollout.drain_timeout_ms = 30000;
    df->rollout.health_interval_ms = 500;
    df->rollout.health_timeout_ms = 2000;
    df->rollout.health_passes = 2;
    df->rollout.verify_5xx_rate = 0.01;
    df->lease.ttl_ms = 60000;
    df->database.timeout_ms = 3600000;
}

/* A relative path in the file is relative to the file's directory. */
static int rebase(const struct dfile *df, char *path, size_t cap, struct err *e)
{
    if (!path[0] || path[0] == '/')
        return 0;
    const char *slash = strrchr(df->path, '/');
    if (!slash)
        return 0;
    char tmp[DF_PATH_MAX];
    int n = snprintf(tmp, sizeof(tmp), "%.*s/%s", (int)(slash - df->path), df->path, path);
    if (n < 0 || (size_t)n >= cap)
        return err_set(e, "%s: path '%s' is too long once made relative to the file", df->path,
                       path);
    memcpy(path, tmp, (size_t)n + 1);
    return 0;
}

/* Marks the hosts named by [rollout] canary (host or group names). */
static int mark_canaries(struct dfile *df, struct err *e)
{
    char words[DF_CANARY_MAX];
    snprintf(words, sizeof(words), "%s", df->rollout.canary);
    char *save = NULL;
    for (char *w = strtok_r(words, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
        int host = dfile_host_index(df, w), group = 0;
        for (int i = 0; i < df->nhosts; i++)
            if (strcmp(df->hosts[i].group, w) == 0) {
                group = 1;
                df->hosts[i].canary = 1;
            }
        if (host >= 0 && group)
            return err_set(e, "%s:%d: canary '%s' is both a host and a group", df->path,
                           df->rollout.line, w);
        if (host < 0 && !group)
            return err_set(e, "%s:%d: canary '%s' is neither a host nor a group", df->path,
                           df->rollout.line, w);
        if (host >= 0)
            df->hosts[host].canary = 1;
    }
    df->rollout.ncanary = 0;
    for (int i = 0; i < df->nhosts; i++)
        df->rollout.ncanary += df->hosts[i].canary;
    if (df->rollout.bake_ms && !df->rollout.ncanary)
        return err_set(e, "%s:%d: bake is the time after the canary hosts: name them in 'canary'",
                       df->path, df->rollout.line);
    return 0;
}

static int check_hosts(struct dfile *df, struct err *e)
{
    if (df->nhosts == 0)
        return err_set(e, "%s: no [host NAME] section", df->path);
    for (int i = 0; i < df->nhosts; i++) {
        struct df_host *h = &df->hosts[i];
        if (!h->ssh.host[0])
            return err_set(e, "%s:%d: [host %s] has no 'ssh' destination", df->path, h->line,
                           h->name);
        if (!h->server[0])
            snprintf(h->server, sizeof(h->server), "%s", h->name);
        if (!h->address[0])
            snprintf(h->address, sizeof(h->address), "%s", h->ssh.host);
        for (int j = 0; j < i; j++)
            if (strcmp(df->hosts[j].server, h->server) == 0)
                return err_set(e, "%s:%d: hosts '%s' and '%s' name the same server '%s'", df->path,
                               h->line, df->hosts[j].name, h->name, h->server);
    }
    return 0;
}

static int check_balancer(struct dfile *df, int line, struct err *e)
{
    df->balancer.line = line;
    df->balancer.remote = df->balancer.host.host[0] != 0;
    if (!line)
        return err_set(e, "%s: no [balancer] section", df->path);
    if (df->balancer.nsockets == 0)
        return err_set(e, "%s:%d: [balancer] has no 'socket'", df->path, line);
    if (df->balancer.type == DF_HAPROXY && !df->balancer.backend[0])
        return err_set(e, "%s:%d: [balancer] haproxy needs 'backend'", df->path, line);
    if (df->balancer.type == DF_BATON_PROXY) {
        if (df->balancer.nsockets != 1 || !df->balancer.sockets[0].is_unix)
            return err_set(e, "%s:%d: [balancer] baton-proxy takes one unix: control socket",
                           df->path, line);
        if (df->balancer.backend[0])
            return err_set(e, "%s:%d: [balancer] baton-proxy has no 'backend'", df->path, line);
    }
    return 0;
}

static int check_app(struct dfile *df, int line, struct err *e)
{
    df->app.line = line;
    if (!line)
        return err_set(e, "%s: no [app] section", df->path);
    if (df->app.strategy == DF_IN_PLACE) {
        if (!df->app.command[0])
            return err_set(e, "%s:%d: [app] strategy in-place needs 'command'", df->path, line);
        if (df->app.upgrade[0] || df->app.revert[0])
            return err_set(e,
                           "%s:%d: [app] 'upgrade' and 'revert' belong to strategy "
                           "remove-upgrade-add (in-place uses baton upgrade / rollback)",
                           df->path, line);
    } else {
        if (!df->app.upgrade[0])
            return err_set(e, "%s:%d: [app] strategy remove-upgrade-add needs 'upgrade'", df->path,
                           line);
        if (df->app.command[0])
            return err_set(e, "%s:%d: [app] 'command' belongs to strategy in-place", df->path,
                           line);
    }
    if (!df->app.name[0])
        snprintf(df->app.name, sizeof(df->app.name), "%s", df->service);
    return 0;
}

static int check_rest(struct dfile *df, const struct pstate *st, struct err *e)
{
    df->rollout.line = st->sect_line[S_ROLLOUT];
    if (!df->rollout.health_arg[0])
        return err_set(e, "%s:%d: [rollout] needs 'health' (http:/PATH or exec:COMMAND)", df->path,
                       df->rollout.line ? df->rollout.line : 1);
    if (df->rollout.health == DF_HEALTH_HTTP && !df->app.port)
        return err_set(e, "%s:%d: health http: needs the app's 'port' in [app]", df->path,
                       df->app.line);
    if (mark_canaries(df, e) < 0)
        return -1;
    df->database.line = st->sect_line[S_DATABASE];
    df->database.enabled = df->database.line != 0;
    if (df->database.enabled && (!df->database.url[0] || !df->database.dir[0]))
        return err_set(e, "%s:%d: [database] needs 'url' and 'dir'", df->path, df->database.line);
    if (df->database.enabled && st->sect_line[S_LEASE])
        return err_set(e, "%s:%d: [lease] is not used: the [database] holds the deploy's lease",
                       df->path, st->sect_line[S_LEASE]);
    df->lease.remote = df->lease.host.host[0] || df->balancer.remote;
    if (!df->lease.host.host[0] && df->balancer.remote)
        df->lease.host = df->balancer.host;
    if (!df->lease.path[0])
        snprintf(df->lease.path, sizeof(df->lease.path), "/var/tmp/baton-deploy-%s.lock",
                 df->service);
    if (df->lease.path[0] != '/')
        return err_set(e, "%s:%d: [lease] path must be absolute", df->path, st->sect_line[S_LEASE]);
    if (rebase(df, df->state_path, sizeof(df->state_path), e) < 0 ||
        rebase(df, df->ssh.identity, sizeof(df->ssh.identity), e) < 0 ||
        rebase(df, df->ssh.known_hosts, sizeof(df->ssh.known_hosts), e) < 0 ||
        rebase(df, df->database.dir, sizeof(df->database.dir), e) < 0)
        return -1;
    if (!df->state_path[0])
        snprintf(df->state_path, sizeof(df->state_path), "%.*s.state",
                 (int)(sizeof(df->state_path) - 7), df->path);
    return 0;
}

static int finish(struct pstate *st, int rc)
{
    struct dfile *df = st->df;
    if (st->failed)
        return -1;
    if (rc > 0) {
        st->lineno = rc;
        fail_at(st, "malformed line (expected 'key = value' or '[section]')");
        return -1;
    }
    if (rc < 0)
        return err_set(st->e, "%s: cannot parse (out of memory)", st->name);
    if (!st->sect_line[S_SERVICE] || !df->service[0])
        return err_set(st->e, "%s: no [service] section with a 'name'", st->name);
    if (check_hosts(df, st->e) < 0 || check_balancer(df, st->sect_line[S_BALANCER], st->e) < 0 ||
        check_app(df, st->sect_line[S_APP], st->e) < 0 || check_rest(df, st, st->e) < 0)
        return -1;
    return 0;
}

int dfile_parse(const char *text, const char *name, struct dfile *df, struct err *e)
{
    memset(df, 0, sizeof(*df));
    set_defaults(df);
    if (strlen(name) >= sizeof(df->path)) {
        err_set(e, "deploy file path '%.60s...' is too long", name);
        return -1;
    }
    snprintf(df->path, sizeof(df->path), "%s", name);
    struct pstate st = {.df = df, .name = df->path, .text = text, .e = e};
    int rc = finish(&st, ini_parse_stream(read_line, &st, on_entry, &st));
    if (rc < 0)
        dfile_free(df);
    return rc;
}

int dfile_load(const char *path, struct dfile *df, struct err *e)
{
    memset(df, 0, sizeof(*df));
    char *text;
    if (file_read(path, "deploy file", DF_FILE_MAX, FILE_TEXT, &text, NULL, e) < 0)
        return -1;
    int rc = dfile_parse(text, path, df, e);
    free(text);
    return rc;
}

void dfile_free(struct dfile *df)
{
    free(df->hosts);
    df->hosts = NULL;
    df->nhosts = 0;
}
