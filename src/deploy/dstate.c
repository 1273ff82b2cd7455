/* The progress file as JSON (jansson): written whole after every step through a
 * temporary file and rename, read back with every field type- and range-checked. */
#include "deploy/dstate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/file.h"

#define DSTATE_VERSION 1

static const char *const phase_names[DP_NPHASES] = {"rollout", "revert", "done", "reverted"};
static const char *const step_names[DS_NSTEPS] = {"pending", "done", "failed", "skipped"};

const char *dstate_phase_name(enum dphase p)
{
    return (unsigned)p < DP_NPHASES ? phase_names[p] : "unknown";
}

const char *dstate_step_name(enum dstep s)
{
    return (unsigned)s < DS_NSTEPS ? step_names[s] : "unknown";
}

int dstate_init(struct dstate *st, const struct dfile *df, const char *release, const char *from,
                struct err *e)
{
    memset(st, 0, sizeof(*st));
    st->hosts = calloc((size_t)df->nhosts, sizeof(*st->hosts));
    if (!st->hosts)
        return err_errno(e, ENOMEM, "cannot start the progress of '%s'", df->service);
    st->nhosts = df->nhosts;
    for (int i = 0; i < df->nhosts; i++)
        snprintf(st->hosts[i].name, sizeof(st->hosts[i].name), "%s", df->hosts[i].name);
    snprintf(st->service, sizeof(st->service), "%s", df->service);
    snprintf(st->release, sizeof(st->release), "%s", release);
    snprintf(st->from, sizeof(st->from), "%s", from ? from : "");
    st->strategy = df->app.strategy;
    st->expand = df->database.enabled ? DS_PENDING : DS_SKIPPED;
    st->contract = df->database.enabled ? DS_PENDING : DS_SKIPPED;
    st->bake = df->rollout.bake_ms && df->rollout.ncanary ? DS_PENDING : DS_SKIPPED;
    st->started_unix_ms = st->updated_unix_ms = clock_wall_ms();
    return 0;
}

void dstate_free(struct dstate *st)
{
    free(st->hosts);
    st->hosts = NULL;
    st->nhosts = 0;
}

struct dstate_host *dstate_host(struct dstate *st, const char *name)
{
    for (int i = 0; i < st->nhosts; i++)
        if (strcmp(st->hosts[i].name, name) == 0)
            return &st->hosts[i];
    return NULL;
}

int dstate_matches(const struct dstate *st, const struct dfile *df, struct err *e)
{
    if (strcmp(st->service, df->service) != 0)
        return err_set(e, "the progress file is of service '%s', not '%s'", st->service,
                       df->service);
    if (st->strategy != df->app.strategy)
        return err_set(e, "the deploy file's strategy changed since the deploy started");
    if (st->nhosts != df->nhosts)
        return err_set(e, "the deploy file now has %d hosts; the deploy started with %d",
                       df->nhosts, st->nhosts);
    for (int i = 0; i < st->nhosts; i++)
        if (strcmp(st->hosts[i].name, df->hosts[i].name) != 0)
            return err_set(e, "host %d is '%s' in the deploy file but '%s' in the progress file",
                           i + 1, df->hosts[i].name, st->hosts[i].name);
    return 0;
}

json_t *dstate_to_json(const struct dstate *st)
{
    json_t *hosts = json_array();
    for (int i = 0; i < st->nhosts; i++) {
        const struct dstate_host *h = &st->hosts[i];
        json_array_append_new(hosts, json_pack("{s:s,s:s,s:I,s:I,s:s}", "name", h->name, "state",
                                               hsm_state_name(h->state), "started_unix_ms",
                                               (json_int_t)h->started_unix_ms, "finished_unix_ms",
                                               (json_int_t)h->finished_unix_ms, "error", h->error));
    }
    return json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:o}", "version",
                     DSTATE_VERSION, "service", st->service, "release", st->release, "from",
                     st->from, "strategy",
                     st->strategy == DF_IN_PLACE ? "in-place" : "remove-upgrade-add", "phase",
                     dstate_phase_name(st->phase), "expand", dstate_step_name(st->expand), "bake",
                     dstate_step_name(st->bake), "contract", dstate_step_name(st->contract),
                     "reason", st->reason, "started_unix_ms", (json_int_t)st->started_unix_ms,
                     "updated_unix_ms", (json_int_t)st->updated_unix_ms, "hosts", hosts);
}

/* A string field into a buffer; names the field and the file when wrong. */
static int get_str(json_t *o, const char *key, char *dst, size_t cap, const char *name,
                   struct err *e)
{
    const char *v = json_string_value(json_object_get(o, key));
    if (!v || strlen(v) >= cap)
        return err_set(e, "%s: \"%s\" is missing, not a string or longer than %zu", name, key,
                       cap - 1);
    snprintf(dst, cap, "%s", v);
    return 0;
}

static int get_ms(json_t *o, const char *key, int64_t *out, const char *name, struct err *e)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return err_set(e, "%s: \"%s\" must be a non-negative integer", name, key);
    *out = json_integer_value(v);
    return 0;
}

static int get_enum(json_t *o, const char *key, const char *const *names, int n, int *out,
                    const char *name, struct err *e)
{
    const char *v = json_string_value(json_object_get(o, key));
    for (int i = 0; v && i < n; i++)
        if (strcmp(v, names[i]) == 0) {
            *out = i;
            return 0;
        }
    return err_set(e, "%s: \"%s\" is missing or unknown ('%.40s')", name, key, v ? v : "");
}

static int host_from_json(json_t *h, const char *name, struct dstate_host *out, struct err *e)
{
    if (!json_is_object(h))
        return err_set(e, "%s: a host is not an object", name);
    if (get_str(h, "name", out->name, sizeof(out->name), name, e) < 0 ||
        get_str(h, "error", out->error, sizeof(out->error), name, e) < 0 ||
        get_ms(h, "started_unix_ms", &out->started_unix_ms, name, e) < 0 ||
        get_ms(h, "finished_unix_ms", &out->finished_unix_ms, name, e) < 0)
        return -1;
    const char *state = json_string_value(json_object_get(h, "state"));
    int s = state ? hsm_state_parse(state) : -1;
    if (s < 0)
        return err_set(e, "%s: host '%s' has an unknown state '%.40s'", name, out->name,
                       state ? state : "");
    out->state = (enum host_state)s;
    return 0;
}

int dstate_from_json(json_t *doc, const char *name, struct dstate *st, struct err *e)
{
    static const char *const strategies[] = {"in-place", "remove-upgrade-add"};
    memset(st, 0, sizeof(*st));
    int v[5];
    json_t *hosts = json_object_get(doc, "hosts");
    if (!json_is_object(doc) || !json_is_integer(json_object_get(doc, "version")) ||
        json_integer_value(json_object_get(doc, "version")) != DSTATE_VERSION)
        return err_set(e, "%s: not a baton deploy progress file of version %d", name,
                       DSTATE_VERSION);
    if (get_str(doc, "service", st->service, sizeof(st->service), name, e) < 0 ||
        get_str(doc, "release", st->release, sizeof(st->release), name, e) < 0 ||
        get_str(doc, "from", st->from, sizeof(st->from), name, e) < 0 ||
        get_str(doc, "reason", st->reason, sizeof(st->reason), name, e) < 0 ||
        get_ms(doc, "started_unix_ms", &st->started_unix_ms, name, e) < 0 ||
        get_ms(doc, "updated_unix_ms", &st->updated_unix_ms, name, e) < 0 ||
        get_enum(doc, "strategy", strategies, 2, &v[0], name, e) < 0 ||
        get_enum(doc, "phase", phase_names, DP_NPHASES, &v[1], name, e) < 0 ||
        get_enum(doc, "expand", step_names, DS_NSTEPS, &v[2], name, e) < 0 ||
        get_enum(doc, "bake", step_names, DS_NSTEPS, &v[3], name, e) < 0 ||
        get_enum(doc, "contract", step_names, DS_NSTEPS, &v[4], name, e) < 0)
        return -1;
    st->strategy = (enum df_strategy)v[0];
    st->phase = (enum dphase)v[1];
    st->expand = (enum dstep)v[2];
    st->bake = (enum dstep)v[3];
    st->contract = (enum dstep)v[4];
    if (!json_is_array(hosts) || json_array_size(hosts) == 0 ||
        json_array_size(hosts) > DF_HOSTS_MAX)
        return err_set(e, "%s: \"hosts\" must be an array of 1 to %d hosts", name, DF_HOSTS_MAX);
    st->nhosts = (int)json_array_size(hosts);
    st->hosts = calloc((size_t)st->nhosts, sizeof(*st->hosts));
    if (!st->hosts)
        return err_errno(e, ENOMEM, "%s", name);
    for (int i = 0; i < st->nhosts; i++)
        if (host_from_json(json_array_get(hosts, (size_t)i), name, &st->hosts[i], e) < 0) {
            dstate_free(st);
            return -1;
        }
    return 0;
}

int dstate_load(const char *path, struct dstate *st, int *exists, struct err *e)
{
    memset(st, 0, sizeof(*st));
    *exists = 0;
    char *buf;
    size_t n;
    if (file_read(path, "progress file", DSTATE_MAX, 0, &buf, &n, e) < 0)
        return errno == ENOENT ? 0 : -1; /* none yet: nothing to resume */
    json_error_t je;
    json_t *doc = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &je);
    free(buf);
    if (!doc)
        return err_set(e, "progress file '%s' is not JSON (line %d: %s)", path, je.line, je.text);
    int rc = dstate_from_json(doc, path, st, e);
    json_decref(doc);
    if (rc == 0)
        *exists = 1;
    return rc;
}

/* Writes all of text to fd and flushes it to disk. */
static int write_all_sync(int fd, const char *text, size_t len)
{
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        off += (size_t)w;
    }
    return fsync(fd);
}

int dstate_save(const char *path, struct dstate *st, struct err *e)
{
    st->updated_unix_ms = clock_wall_ms();
    json_t *doc = dstate_to_json(st);
    char *text = doc ? json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    char tmp[DF_PATH_MAX + 8];
    if (!text)
        return err_set(e, "cannot encode progress file '%s'", path);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int rc = -1, fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        err_errno(e, errno, "cannot write progress file '%s'", tmp);
        goto out;
    }
    size_t len = strlen(text);
    text[len] = '\n'; /* json_dumps leaves the NUL's byte: write it as the newline */
    int bad = write_all_sync(fd, text, len + 1) < 0, saved = errno;
    if (close(fd) < 0 && !bad) {
        bad = 1;
        saved = errno;
    }
    if (bad) {
        err_errno(e, saved, "cannot write progress file '%s'", tmp);
        unlink(tmp);
        goto out;
    }
    if (rename(tmp, path) < 0) {
        err_errno(e, errno, "cannot rename '%s' to '%s'", tmp, path);
        unlink(tmp);
        goto out;
    }
    char dir[DF_PATH_MAX];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    int dfd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    rc = 0;
out:
    free(text);
    return rc;
}
