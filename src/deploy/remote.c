/* Remote commands: templates expanded, words quoted for the host's shell. */
#include "deploy/remote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "deploy/transport.h"

/* Appends " 'word'" to out. */
static int append_quoted(char *out, size_t cap, const char *word, struct err *e)
{
    size_t n = strlen(out);
    if (n + 2 >= cap)
        return err_set(e, "command too long");
    out[n++] = ' ';
    out[n] = 0;
    if (shell_quote(word, out + n, cap - n) < 0)
        return err_set(e, "command too long");
    return 0;
}

/* "'BATON' VERB --json --name 'NAME'" */
static int baton_verb(const struct dfile *df, const char *verb, char *out, size_t cap,
                      struct err *e)
{
    if (shell_quote(df->app.baton, out, cap) < 0)
        return err_set(e, "baton path too long");
    size_t n = strlen(out);
    if ((size_t)snprintf(out + n, cap - n, " %s --json --name", verb) >= cap - n)
        return err_set(e, "command too long");
    return append_quoted(out, cap, df->app.name, e);
}

/* The in-place command of `release` as words (caller frees each and the array). */
static int inplace_words(const struct dfile *df, const struct df_host *h, const char *release,
                         char ***words, struct err *e)
{
    char cmd[DF_CMD_MAX + 512];
    if (dfile_expand(df->app.command, release, h, cmd, sizeof(cmd), e) < 0)
        return -1;
    int n = split_words(cmd, words, e);
    if (n == 0) {
        free(*words);
        return err_set(e, "the in-place command is empty");
    }
    return n;
}

static void free_words(char **w)
{
    for (char **p = w; p && *p; p++)
        free(*p);
    free(w);
}

/* Wraps the remove-upgrade-add command in `out` in a lock on the host, so that a
 * command left running by a deploy that was killed ends before the next deploy probes
 * or upgrades that host:
 * flock -o -w 600 '/var/tmp/baton-deploy-SERVICE-HOST.hostlock' sh -c 'CMD' */
static int host_locked(const struct dfile *df, const struct df_host *h, char *out, size_t cap,
                       struct err *e)
{
    char cmd[REMOTE_CMD_MAX], lock[512];
    if (!out[0])
        return 0;
    snprintf(cmd, sizeof(cmd), "%s", out);
    if ((size_t)snprintf(lock, sizeof(lock), "/var/tmp/baton-deploy-%s-%s.hostlock", df->service,
                         h->name) >= sizeof(lock) ||
        (size_t)snprintf(out, cap, "flock -o -w %d", REMOTE_LOCK_WAIT_S) >= cap ||
        append_quoted(out, cap, lock, e) < 0 || strlen(out) + 6 >= cap)
        return err_set(e, "command for '%s' too long", h->name);
    strcat(out, " sh -c");
    return append_quoted(out, cap, cmd, e);
}

int remote_upgrade(const struct dfile *df, const struct df_host *h, const char *release, char *out,
                   size_t cap, struct err *e)
{
    if (df->app.strategy == DF_REMOVE_UPGRADE_ADD)
        return dfile_expand(df->app.upgrade, release, h, out, cap, e) < 0
                   ? -1
                   : host_locked(df, h, out, cap, e);
    char **w;
    if (inplace_words(df, h, release, &w, e) < 0)
        return -1;
    int rc = baton_verb(df, "upgrade", out, cap, e);
    if (rc == 0 && strlen(out) + 4 >= cap)
        rc = err_set(e, "command too long");
    if (rc == 0)
        strcat(out, " --");
    for (char **p = w; rc == 0 && *p; p++)
        rc = append_quoted(out, cap, *p, e);
    free_words(w);
    return rc;
}

int remote_revert(const struct dfile *df, const struct df_host *h, const char *from, char *out,
                  size_t cap, struct err *e)
{
    if (df->app.strategy == DF_IN_PLACE)
        return baton_verb(df, "rollback", out, cap, e);
    if (!from || !*from)
        return err_set(e,
                       "cannot revert '%s': the release before this deploy is not known "
                       "(give --from RELEASE)",
                       h->name);
    if (dfile_expand(df->app.revert[0] ? df->app.revert : df->app.upgrade, from, h, out, cap, e) <
        0)
        return -1;
    return host_locked(df, h, out, cap, e);
}

int remote_probe(const struct dfile *df, const struct df_host *h, const char *release, char *out,
                 size_t cap, struct err *e)
{
    /* In-place: the host's master may still run an upgrade that a killed deploy asked
     * for; its status is read once that has ended, as the lock does below. */
    if (df->app.strategy == DF_IN_PLACE) {
        char verb[64];
        snprintf(verb, sizeof(verb), "status --wait-idle %ds", REMOTE_LOCK_WAIT_S);
        return baton_verb(df, verb, out, cap, e);
    }
    if (!df->app.probe[0]) {
        out[0] = 0;
        return 0;
    }
    if (dfile_expand(df->app.probe, release, h, out, cap, e) < 0)
        return -1;
    return host_locked(df, h, out, cap, e);
}

/* The command array of the current generation in `baton status --json`, or NULL. */
static json_t *current_command(json_t *status)
{
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(status, "generations"), i, g)
    {
        if (json_is_true(json_object_get(g, "current")))
            return json_object_get(g, "command");
    }
    return NULL;
}

int remote_runs(const struct dfile *df, const struct df_host *h, const char *release,
                const char *output, struct err *e)
{
    if (df->app.strategy == DF_REMOVE_UPGRADE_ADD) {
        size_t n = strcspn(output, "\r\n");
        return n == strlen(release) && strncmp(output, release, n) == 0;
    }
    json_error_t je;
    json_t *st = json_loads(output, JSON_DISABLE_EOF_CHECK, &je);
    json_t *cmd = current_command(st);
    char **w = NULL;
    int rc = -1, n;
    if (!json_is_array(cmd)) {
        err_set(e, "'baton status --json' on '%s' shows no current generation", h->name);
        goto out;
    }
    if ((n = inplace_words(df, h, release, &w, e)) < 0)
        goto out;
    rc = (size_t)n == json_array_size(cmd);
    for (int i = 0; rc == 1 && i < n; i++) {
        const char *s = json_string_value(json_array_get(cmd, (size_t)i));
        rc = s && strcmp(s, w[i]) == 0;
    }
out:
    free_words(w);
    json_decref(st);
    return rc;
}
