/* The state document's shared readers and its file: strict typed fields, capped
 * commands, atomic writes. The parts of the document belong to their objects. */
#include "supervise/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/spawn.h"

int state_get_ints(json_t *obj, const struct state_int *f, size_t n, const char *what,
                   struct err *e)
{
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object_get(obj, f[i].key);
        if (!json_is_integer(v))
            return err_set(e, "malformed state: %s has no integer \"%s\"", what, f[i].key);
        long long x = json_integer_value(v);
        if (x < f[i].lo || x > f[i].hi)
            return err_set(e, "malformed state: %s \"%s\" = %lld is out of range", what, f[i].key,
                           x);
        *f[i].out = x;
    }
    return 0;
}

int state_get_argv(json_t *v, char ***out, const char *what, struct err *e)
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
            spawn_argv_free(argv);
            return err_set(e, "malformed state: %s command word %zu is not a string", what, i);
        }
        argv[i] = strdup(json_string_value(a));
        if (!argv[i]) {
            spawn_argv_free(argv);
            return err_errno(e, ENOMEM, "cannot read state");
        }
    }
    *out = argv;
    return 0;
}

json_t *state_argv_json(char *const *argv)
{
    json_t *a = json_array();
    for (size_t i = 0; argv && argv[i]; i++)
        json_array_append_new(a, json_string(argv[i]));
    return a;
}

int state_get_str(json_t *obj, const char *key, char *dst, size_t cap, const char *what,
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

json_t *state_listens_json(const struct state_listen *ls, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n && i < STATE_MAX_LISTEN; i++)
        json_array_append_new(a,
                              json_pack("{s:s,s:s,s:i,s:i}", "name", ls[i].name, "addr", ls[i].addr,
                                        "fd", ls[i].fd, "worker_fd", ls[i].worker_fd));
    return a;
}

int state_listens_from_json(json_t *a, struct state_listen *ls, int *n, struct err *e)
{
    if (!json_is_array(a) || json_array_size(a) > STATE_MAX_LISTEN)
        return err_set(e, "malformed state: \"listen\" must be an array of at most %d",
                       STATE_MAX_LISTEN);
    for (*n = 0; *n < (int)json_array_size(a); (*n)++) {
        json_t *jl = json_array_get(a, (size_t)*n);
        long long fd, wfd;
        struct state_int f[] = {{"fd", -1, 1 << 20, &fd},
                                {"worker_fd", 3, 3 + STATE_MAX_LISTEN, &wfd}};
        struct state_listen *l = &ls[*n];
        if (!json_is_object(jl))
            return err_set(e, "malformed state: a listen entry is not an object");
        if (state_get_str(jl, "name", l->name, sizeof(l->name), "listen", e) < 0 ||
            state_get_str(jl, "addr", l->addr, sizeof(l->addr), "listen", e) < 0 ||
            state_get_ints(jl, f, 2, "listen", e) < 0)
            return -1;
        l->fd = (int)fd;
        l->worker_fd = (int)wfd;
    }
    return 0;
}

json_t *state_new(void)
{
    return json_pack("{s:i}", "format", 1);
}

int state_load(const char *text, size_t len, json_t **root, struct err *e)
{
    if (len > STATE_MAX_BYTES)
        return err_set(e, "state of %zu bytes is longer than %d", len, STATE_MAX_BYTES);
    json_error_t je;
    json_t *r = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!r)
        return err_set(e, "malformed state: %s at line %d", je.text, je.line);
    long long format;
    struct state_int f[] = {{"format", 1, 1, &format}};
    if (!json_is_object(r)) {
        json_decref(r);
        return err_set(e, "malformed state: not a JSON object");
    }
    if (state_get_ints(r, f, 1, "state", e) < 0) {
        json_decref(r);
        return -1;
    }
    *root = r;
    return 0;
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

int state_read_fd(int fd, char **text, size_t *len, struct err *e)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    int rc = -1;
    for (;;) {
        if (!buf) {
            err_errno(e, ENOMEM, "cannot read state");
            goto out;
        }
        if (n == cap) {
            if (cap >= STATE_MAX_BYTES) {
                err_set(e, "state is longer than %d bytes", STATE_MAX_BYTES);
                goto out;
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
            err_errno(e, errno, "cannot read state");
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *text = buf;
    *len = n;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    close(fd);
    return rc;
}

int state_read_file(const char *path, char **text, size_t *len, struct err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_errno(e, errno, "cannot open state file '%s'", path);
    if (state_read_fd(fd, text, len, e) < 0)
        return err_wrap(e, "'%s'", path);
    return 0;
}
