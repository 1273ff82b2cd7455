/* Container commands as generations: recognising `podman run` / `docker run`, naming
 * and labelling the container per generation, expanding the port and generation in
 * its words, and the engine command that removes a container by name. */
#include "supervise/container.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/spawn.h"

#define CONTAINER_ARGS_MAX 4096

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int is_docker(char *const *argv)
{
    return strcmp(base_name(argv[0]), "docker") == 0;
}

/* The index of the `run` word, or 0 when argv is not a container command. */
static int run_index(char *const *argv)
{
    if (!argv || !argv[0])
        return 0;
    const char *engine = base_name(argv[0]);
    if (strcmp(engine, "podman") != 0 && strcmp(engine, "docker") != 0)
        return 0;
    for (int i = 1; i < CONTAINER_ARGS_MAX && argv[i]; i++)
        if (strcmp(argv[i], "run") == 0)
            return i;
    return 0;
}

/* -d, --detach, --detach=true, or a cluster of -d -i -t such as -dit. */
static int is_detach(const char *w)
{
    if (strcmp(w, "--detach") == 0 || strcmp(w, "--detach=true") == 0)
        return 1;
    if (w[0] != '-' || w[1] == '-' || !w[1] || strspn(w + 1, "dit") != strlen(w + 1))
        return 0;
    return strchr(w + 1, 'd') != NULL;
}

int container_check(char *const *argv, struct err *e)
{
    int run = run_index(argv);
    if (!run)
        return 0;
    if (!argv[run + 1])
        return err_set(e, "container command '%s run' names no image", argv[0]);
    for (int i = run + 1; argv[i]; i++) {
        if (strcmp(argv[i], "--name") == 0 || strncmp(argv[i], "--name=", 7) == 0)
            return err_set(e,
                           "container command: baton names each generation's container itself; "
                           "remove '%s'",
                           argv[i]);
        if (is_detach(argv[i]))
            return err_set(e,
                           "container command: '%s' would detach the container; a generation "
                           "runs it in the foreground",
                           argv[i]);
    }
    return 1;
}

void container_name(char *buf, size_t size, const char *instance, unsigned gen_id, int slot,
                    int nslots)
{
    if (nslots > 1)
        snprintf(buf, size, "%s-g%u-w%d", instance, gen_id, slot);
    else
        snprintf(buf, size, "%s-g%u", instance, gen_id);
}

/* The value of variable `name` (len bytes) for a worker, or NULL when it is not ours. */
static const char *var_value(const char *name, size_t len, const char *port, const char *gen)
{
    if ((len == 4 && strncmp(name, "PORT", 4) == 0) ||
        (len == 10 && strncmp(name, "BATON_PORT", 10) == 0))
        return port;
    if (len == 16 && strncmp(name, "BATON_GENERATION", 16) == 0)
        return gen;
    return NULL;
}

/* Writes word w with our variables expanded into out (size bytes); 0, or -1 when it
 * does not fit. */
static int expand(const char *w, char *out, size_t size, const char *port, const char *gen)
{
    size_t o = 0;
    for (const char *p = w; *p;) {
        const char *val = NULL;
        size_t skip = 1;
        if (p[0] == '$' && p[1] == '$') {
            val = "$";
            skip = 2;
        } else if (p[0] == '$' && p[1] == '{') {
            const char *end = strchr(p + 2, '}');
            if (end && (val = var_value(p + 2, (size_t)(end - p - 2), port, gen)))
                skip = (size_t)(end - p) + 1;
        } else if (p[0] == '$') {
            size_t n =
                strspn(p + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz0123456789");
            if ((val = var_value(p + 1, n, port, gen)))
                skip = n + 1;
        }
        size_t vlen = val ? strlen(val) : 1;
        if (o + vlen >= size)
            return -1;
        memcpy(out + o, val ? val : p, vlen);
        o += vlen;
        p += skip;
    }
    out[o] = 0;
    return 0;
}

char **container_argv(char *const *argv, const char *name, const char *instance, unsigned gen_id,
                      int port, int restart)
{
    int run = run_index(argv), n = 0;
    while (argv[n])
        n++;
    char **out = calloc((size_t)n + 10, sizeof(*out));
    char port_s[16], gen_s[16], label_i[CONTAINER_NAME_MAX + 32], label_g[48];
    if (!out || !run)
        goto fail;
    snprintf(port_s, sizeof(port_s), "%d", port);
    snprintf(gen_s, sizeof(gen_s), "%u", gen_id);
    snprintf(label_i, sizeof(label_i), "baton.instance=%s", instance);
    snprintf(label_g, sizeof(label_g), "baton.generation=%u", gen_id);
    int k = 0;
    for (int i = 0; i <= run; i++)
        if (!(out[k++] = strdup(argv[i])))
            goto fail;
    const char *ours[] = {"--name", name, "--label", label_i, "--label", label_g, "--rm", NULL};
    for (int i = 0; ours[i]; i++)
        if (!(out[k++] = strdup(ours[i])))
            goto fail;
    if (restart && !is_docker(argv) && !(out[k++] = strdup("--replace")))
        goto fail;
    for (int i = run + 1; i < n; i++) {
        size_t size = strlen(argv[i]) + 16; /* no value is longer than its reference */
        if (!(out[k] = malloc(size)) || expand(argv[i], out[k], size, port_s, gen_s) < 0)
            goto fail;
        k++;
    }
    return out;
fail:
    spawn_argv_free(out);
    return NULL;
}

int container_launch(char *const *argv, const char *instance, unsigned gen_id, int slot, int nslots,
                     int port, int restart, char ***out, struct err *e)
{
    *out = NULL;
    int rc = container_check(argv, e);
    if (rc <= 0)
        return rc;
    char name[CONTAINER_NAME_MAX];
    container_name(name, sizeof(name), instance, gen_id, slot, nslots);
    *out = container_argv(argv, name, instance, gen_id, port, restart);
    return *out ? 0 : err_set(e, "cannot start container '%s': out of memory", name);
}

char **container_rm_argv(char *const *argv, const char *name)
{
    int run = run_index(argv);
    char **out = calloc((size_t)run + 8, sizeof(*out));
    if (!out || !run)
        goto fail;
    int k = 0;
    for (int i = 0; i < run; i++)
        if (!(out[k++] = strdup(argv[i])))
            goto fail;
    /* docker rm -f kills at once; podman's waits for its stop timeout unless -t 0. */
    const char *podman[] = {"rm", "--force", "--ignore", "--time", "0", name, NULL};
    const char *docker[] = {"rm", "--force", name, NULL};
    const char *const *rm = is_docker(argv) ? docker : podman;
    for (int i = 0; rm[i]; i++)
        if (!(out[k++] = strdup(rm[i])))
            goto fail;
    return out;
fail:
    spawn_argv_free(out);
    return NULL;
}

int container_image_check(const char *image, struct err *e)
{
    static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._/:@-";
    size_t n = strlen(image);
    if (n == 0 || n > CONTAINER_IMAGE_MAX || image[0] == '-' || strspn(image, ok) != n)
        return err_set(e,
                       "invalid image '%.64s%s': expected a reference of letters, digits and "
                       "'._/:@-' (at most %d bytes, not starting with '-')",
                       image, n > 64 ? "..." : "", CONTAINER_IMAGE_MAX);
    return 0;
}

char **container_short_argv(const char *engine, int container_port, char *const *extra,
                            const char *image, struct err *e)
{
    if (container_image_check(image, e) < 0)
        return NULL;
    int n = 0;
    while (extra && extra[n])
        n++;
    char publish[48];
    snprintf(publish, sizeof(publish), "127.0.0.1:${PORT}:%d", container_port);
    char **out = calloc((size_t)n + 6, sizeof(*out));
    int k = 0;
    const char *head[] = {engine, "run", "-p", publish, NULL};
    for (int i = 0; out && head[i]; i++)
        if (!(out[k++] = strdup(head[i])))
            goto fail;
    for (int i = 0; out && i < n; i++)
        if (!(out[k++] = strdup(extra[i])))
            goto fail;
    if (out && (out[k] = strdup(image)))
        return out;
fail:
    spawn_argv_free(out);
    err_set(e, "cannot build the container command: out of memory");
    return NULL;
}
