/* Master state to and from JSON. The parser trusts nothing: a state file may be stale,
 * truncated or written by another version, so every field is type- and range-checked. */
#include "supervise/state.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char **argv_dup(char *const *argv)
{
    size_t n = 0;
    while (argv && argv[n])
        n++;
    char **out = calloc(n + 1, sizeof(*out));
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        out[i] = strdup(argv[i]);
        if (!out[i]) {
            argv_free(out);
            return NULL;
        }
    }
    return out;
}

void argv_free(char **argv)
{
    if (!argv)
        return;
    for (char **p = argv; *p; p++)
        free(*p);
    free(argv);
}

static json_t *argv_json(char *const *argv)
{
    json_t *a = json_array();
    for (size_t i = 0; argv && argv[i]; i++)
        json_array_append_new(a, json_string(argv[i]));
    return a;
}

char *state_dump(const struct run_state *s)
{
    json_t *root = json_object();
    json_object_set_new(root, "format", json_integer(1));
    json_object_set_new(root, "master_pid", json_integer(s->master_pid));
    json_object_set_new(root, "notify_fd", json_integer(s->notify_fd));
    json_object_set_new(root, "control_fd", json_integer(s->control_fd));
    json_object_set_new(root, "next_gen", json_integer(s->next_gen));
    json_object_set_new(root, "current_gen", json_integer(s->current_gen));
    json_object_set_new(root, "reexecs", json_integer(s->reexecs));
    json_object_set_new(root, "started_unix_ms", json_integer(s->started_unix_ms));
    if (s->prev_argv)
        json_object_set_new(root, "prev_command", argv_json(s->prev_argv));
    json_t *ls = json_array();
    for (int i = 0; i < s->nlisten; i++) {
        const struct state_listen *l = &s->listen[i];
        json_array_append_new(ls, json_pack("{s:s,s:s,s:i,s:i}", "name", l->name, "addr", l->addr,
                                            "fd", l->fd, "worker_fd", l->worker_fd));
    }
    json_object_set_new(root, "listen", ls);
    json_t *gs = json_array();
    for (int i = 0; i < s->ngens; i++) {
        const struct state_gen *g = &s->gens[i];
        json_t *ws = json_array();
        for (int k = 0; k < g->nworkers; k++) {
            const struct state_worker *w = &g->workers[k];
            json_array_append_new(ws,
                                  json_pack("{s:i,s:I,s:i,s:b,s:b}", "pid", (int)w->pid,
                                            "start_time", (json_int_t)w->start_time, "slot",
                                            w->slot, "ready", w->ready, "stopping", w->stopping));
        }
        json_array_append_new(
            gs, json_pack("{s:i,s:i,s:b,s:o,s:I,s:I,s:i,s:i,s:o}", "id", (int)g->id, "state",
                          g->state, "orphan", g->orphan, "command", argv_json(g->argv),
                          "started_unix_ms", (json_int_t)g->started_unix_ms,
                          "drain_deadline_unix_ms", (json_int_t)g->drain_deadline_unix_ms,
                          "restarts", (int)g->restarts, "slots", g->nslots, "workers", ws));
        if (g->ports) {
            json_t *ps = json_array();
            for (int k = 0; k < g->nslots; k++)
                json_array_append_new(ps, json_integer(g->ports[k]));
            json_object_set_new(json_array_get(gs, json_array_size(gs) - 1), "ports", ps);
        }
    }
    json_object_set_new(root, "generations", gs);
    if (s->proxy_mode)
        json_object_set_new(root, "proxy",
                            json_pack("{s:i,s:I,s:i,s:b}", "pid", (int)s->proxy_pid, "start_time",
                                      (json_int_t)s->proxy_start_time, "restarts",
                                      (int)s->proxy_restarts, "ready", s->proxy_ready));
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

void state_free(struct run_state *s)
{
    argv_free(s->prev_argv);
    s->prev_argv = NULL;
    for (int i = 0; i < s->ngens; i++) {
        argv_free(s->gens[i].argv);
        free(s->gens[i].workers);
        free(s->gens[i].ports);
        s->gens[i].argv = NULL;
        s->gens[i].workers = NULL;
        s->gens[i].ports = NULL;
    }
    s->ngens = 0;
}

/* An integer field in [lo, hi]. */
static int get_int(json_t *obj, const char *key, long long lo, long long hi, long long *out,
                   const char *what, struct err *e)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v))
        return err_set(e, "malformed state: %s has no integer \"%s\"", what, key);
    long long x = json_integer_value(v);
    if (x < lo || x > hi)
        return err_set(e, "malformed state: %s \"%s\" = %lld is out of range", what, key, x);
    *out = x;
    return 0;
}

static int get_argv(json_t *v, char ***out, const char *what, struct err *e)
{
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > STATE_MAX_ARGS)
        return err_set(e, "malformed state: %s command must be 1..%d strings", what,
                       STATE_MAX_ARGS);
    size_t n = json_array_size(v);
    char **argv = calloc(n + 1, sizeof(*argv));
    if (!argv)
        return err_errno(e, ENOMEM, "cannot read state");
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_array_get(v, i);
        if (!json_is_string(a) || json_string_length(a) > STATE_MAX_ARG ||
            strlen(json_string_value(a)) != json_string_length(a)) {
            argv_free(argv);
            return err_set(e, "malformed state: %s command word %zu is not a string", what, i);
        }
        argv[i] = strdup(json_string_value(a));
        if (!argv[i]) {
            argv_free(argv);
            return err_errno(e, ENOMEM, "cannot read state");
        }
    }
    *out = argv;
    return 0;
}

static int copy_str(json_t *obj, const char *key, char *dst, size_t cap, const char *what,
                    struct err *e)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v) || json_string_length(v) >= cap ||
        strlen(json_string_value(v)) != json_string_length(v))
        return err_set(e, "malformed state: %s \"%s\" must be a string under %zu bytes", what, key,
                       cap);
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int parse_gen(json_t *jg, struct state_gen *g, struct err *e)
{
    long long x;
    if (!json_is_object(jg))
        return err_set(e, "malformed state: a generation is not an object");
    if (get_int(jg, "id", 1, 1000000000, &x, "generation", e) < 0)
        return -1;
    g->id = (unsigned)x;
    if (get_int(jg, "state", 0, 5, &x, "generation", e) < 0)
        return -1;
    g->state = (int)x;
    g->orphan = json_is_true(json_object_get(jg, "orphan"));
    if (get_int(jg, "started_unix_ms", 0, INT64_MAX, &x, "generation", e) < 0)
        return -1;
    g->started_unix_ms = x;
    if (get_int(jg, "drain_deadline_unix_ms", 0, INT64_MAX, &x, "generation", e) < 0)
        return -1;
    g->drain_deadline_unix_ms = x;
    if (get_int(jg, "restarts", 0, 1000000000, &x, "generation", e) < 0)
        return -1;
    g->restarts = (unsigned)x;
    if (get_int(jg, "slots", 0, STATE_MAX_WORKERS, &x, "generation", e) < 0)
        return -1;
    g->nslots = (int)x;
    if (get_argv(json_object_get(jg, "command"), &g->argv, "generation", e) < 0)
        return -1;
    json_t *ws = json_object_get(jg, "workers");
    if (!json_is_array(ws) || json_array_size(ws) > STATE_MAX_WORKERS)
        return err_set(e, "malformed state: generation %u workers must be an array of at most %d",
                       g->id, STATE_MAX_WORKERS);
    size_t n = json_array_size(ws);
    g->workers = calloc(n ? n : 1, sizeof(*g->workers));
    if (!g->workers)
        return err_errno(e, ENOMEM, "cannot read state");
    for (size_t i = 0; i < n; i++) {
        json_t *jw = json_array_get(ws, i);
        struct state_worker *w = &g->workers[i];
        if (!json_is_object(jw))
            return err_set(e, "malformed state: a worker is not an object");
        if (get_int(jw, "pid", 1, 4194304, &x, "worker", e) < 0)
            return -1;
        w->pid = (pid_t)x;
        if (get_int(jw, "start_time", 0, INT64_MAX, &x, "worker", e) < 0)
            return -1;
        w->start_time = (uint64_t)x;
        if (get_int(jw, "slot", 0, g->nslots > 0 ? g->nslots - 1 : 0, &x, "worker", e) < 0)
            return -1;
        w->slot = (int)x;
        w->ready = json_is_true(json_object_get(jw, "ready"));
        w->stopping = json_is_true(json_object_get(jw, "stopping"));
        g->nworkers++;
    }
    json_t *ps = json_object_get(jg, "ports");
    if (!ps)
        return 0;
    if (!json_is_array(ps) || json_array_size(ps) != (size_t)g->nslots)
        return err_set(e, "malformed state: generation %u ports must be an array of %d", g->id,
                       g->nslots);
    g->ports = calloc((size_t)(g->nslots ? g->nslots : 1), sizeof(*g->ports));
    if (!g->ports)
        return err_errno(e, ENOMEM, "cannot read state");
    for (size_t i = 0; i < json_array_size(ps); i++) {
        json_t *p = json_array_get(ps, i);
        if (!json_is_integer(p) || json_integer_value(p) < 0 || json_integer_value(p) > 65535)
            return err_set(e, "malformed state: generation %u port %zu is not in 0..65535", g->id,
                           i);
        g->ports[i] = (int)json_integer_value(p);
    }
    return 0;
}

int state_parse(const char *buf, size_t len, struct run_state *s, struct err *e)
{
    memset(s, 0, sizeof(*s));
    s->notify_fd = s->control_fd = -1;
    if (len > STATE_MAX_BYTES)
        return err_set(e, "state of %zu bytes is longer than %d", len, STATE_MAX_BYTES);
    json_error_t je;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return err_set(e, "malformed state: %s at line %d", je.text, je.line);
    int rc = -1;
    long long x;
    if (!json_is_object(root)) {
        err_set(e, "malformed state: not a JSON object");
        goto out;
    }
    if (get_int(root, "format", 1, 1, &x, "state", e) < 0 ||
        get_int(root, "master_pid", 1, 4194304, &x, "state", e) < 0)
        goto out;
    s->master_pid = (pid_t)x;
    if (get_int(root, "notify_fd", -1, 1 << 20, &x, "state", e) < 0)
        goto out;
    s->notify_fd = (int)x;
    if (get_int(root, "control_fd", -1, 1 << 20, &x, "state", e) < 0)
        goto out;
    s->control_fd = (int)x;
    if (get_int(root, "next_gen", 1, 1000000000, &x, "state", e) < 0)
        goto out;
    s->next_gen = (unsigned)x;
    if (get_int(root, "current_gen", 0, 1000000000, &x, "state", e) < 0)
        goto out;
    s->current_gen = (unsigned)x;
    if (get_int(root, "reexecs", 0, 1000000000, &x, "state", e) < 0)
        goto out;
    s->reexecs = (unsigned)x;
    if (get_int(root, "started_unix_ms", 0, INT64_MAX, &x, "state", e) < 0)
        goto out;
    s->started_unix_ms = x;
    json_t *prev = json_object_get(root, "prev_command");
    if (prev && get_argv(prev, &s->prev_argv, "previous", e) < 0)
        goto out;
    json_t *ls = json_object_get(root, "listen");
    if (!json_is_array(ls) || json_array_size(ls) > STATE_MAX_LISTEN) {
        err_set(e, "malformed state: \"listen\" must be an array of at most %d", STATE_MAX_LISTEN);
        goto out;
    }
    for (size_t i = 0; i < json_array_size(ls); i++) {
        json_t *jl = json_array_get(ls, i);
        struct state_listen *l = &s->listen[i];
        if (!json_is_object(jl)) {
            err_set(e, "malformed state: a listen entry is not an object");
            goto out;
        }
        if (copy_str(jl, "name", l->name, sizeof(l->name), "listen", e) < 0 ||
            copy_str(jl, "addr", l->addr, sizeof(l->addr), "listen", e) < 0 ||
            get_int(jl, "fd", -1, 1 << 20, &x, "listen", e) < 0)
            goto out;
        l->fd = (int)x;
        if (get_int(jl, "worker_fd", 3, 3 + STATE_MAX_LISTEN, &x, "listen", e) < 0)
            goto out;
        l->worker_fd = (int)x;
        s->nlisten++;
    }
    json_t *gs = json_object_get(root, "generations");
    if (!json_is_array(gs) || json_array_size(gs) > STATE_MAX_GENS) {
        err_set(e, "malformed state: \"generations\" must be an array of at most %d",
                STATE_MAX_GENS);
        goto out;
    }
    for (size_t i = 0; i < json_array_size(gs); i++) {
        s->ngens++;
        if (parse_gen(json_array_get(gs, i), &s->gens[i], e) < 0)
            goto out;
    }
    json_t *px = json_object_get(root, "proxy");
    if (px) {
        if (!json_is_object(px)) {
            err_set(e, "malformed state: \"proxy\" is not an object");
            goto out;
        }
        s->proxy_mode = 1;
        if (get_int(px, "pid", 0, 4194304, &x, "proxy", e) < 0)
            goto out;
        s->proxy_pid = (pid_t)x;
        if (get_int(px, "start_time", 0, INT64_MAX, &x, "proxy", e) < 0)
            goto out;
        s->proxy_start_time = (uint64_t)x;
        if (get_int(px, "restarts", 0, 1000000000, &x, "proxy", e) < 0)
            goto out;
        s->proxy_restarts = (unsigned)x;
        s->proxy_ready = json_is_true(json_object_get(px, "ready"));
    }
    rc = 0;
out:
    json_decref(root);
    if (rc < 0)
        state_free(s);
    return rc;
}

int state_write_file(const char *path, const char *text, struct err *e)
{
    char tmp[4200];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return err_set(e, "state file path '%s' is too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_errno(e, errno, "cannot write state file '%s'", tmp);
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int saved = errno;
            close(fd);
            unlink(tmp);
            return err_errno(e, saved, "cannot write state file '%s'", tmp);
        }
        off += (size_t)w;
    }
    close(fd);
    if (rename(tmp, path) < 0) {
        int saved = errno;
        unlink(tmp);
        return err_errno(e, saved, "cannot rename state file to '%s'", path);
    }
    return 0;
}

int state_read_file(const char *path, char **text, size_t *len, struct err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_errno(e, errno, "cannot open state file '%s'", path);
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            close(fd);
            return err_errno(e, ENOMEM, "cannot read state file '%s'", path);
        }
        if (n == cap) {
            if (cap >= STATE_MAX_BYTES) {
                free(buf);
                close(fd);
                return err_set(e, "state file '%s' is longer than %d bytes", path, STATE_MAX_BYTES);
            }
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb)
                free(buf);
            buf = nb;
            continue;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int saved = errno;
            free(buf);
            close(fd);
            return err_errno(e, saved, "cannot read state file '%s'", path);
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    *text = buf;
    *len = n;
    return 0;
}

/* Reads /proc/PID/stat and returns a pointer just after the command name (field 2),
 * which may hold spaces and ')'; NULL when the process is gone. */
static char *read_stat(pid_t pid, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n <= 0)
        return NULL;
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    return p ? p + 1 : NULL;
}

pid_t proc_parent(pid_t pid)
{
    char buf[1024];
    char *p = read_stat(pid, buf, sizeof(buf));
    char state;
    int ppid;
    if (!p || sscanf(p, " %c %d", &state, &ppid) != 2 || ppid < 0)
        return 0;
    return (pid_t)ppid;
}

uint64_t proc_start_time(pid_t pid)
{
    char buf[1024];
    char *p = read_stat(pid, buf, sizeof(buf));
    if (!p)
        return 0;
    /* Fields from 3 on; the start time is field 22, so skip 19 more fields. A zombie
     * still has a start time, but its state (field 3) is 'Z': report it as gone. */
    char *save = NULL;
    char *tok = strtok_r(p, " ", &save);
    if (!tok || tok[0] == 'Z' || tok[0] == 'X')
        return 0;
    for (int field = 4; field <= 22; field++) {
        tok = strtok_r(NULL, " ", &save);
        if (!tok)
            return 0;
    }
    return strtoull(tok, NULL, 10);
}
