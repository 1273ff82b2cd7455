/* The ssh transport: the OpenSSH client, one ControlMaster per destination (its socket
 * in a private 0700 directory), BatchMode (never a prompt), strict host keys unless the
 * deploy file says otherwise, a connect timeout and keep-alives so that a dead host
 * ends a command (exit 255) instead of hanging it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deploy/transport.h"

#define SSH_ARGS_MAX   48
#define SSH_PERSIST    "60" /* seconds an idle master lives on (after a crash too) */
#define SSH_DIR_MAX    48   /* socket paths must fit ADDR_UNIX_PATH_SIZE with ssh's suffixes */
#define SSH_OPENED_MAX (DF_HOSTS_MAX + 2)

struct ssh_transport {
    struct transport base;
    char dir[64];
    int nopened;
    struct df_dest opened[SSH_OPENED_MAX];
    char opened_label[SSH_OPENED_MAX][DF_NAME_MAX];
    int nforwards;
    int closing; /* -O exit commands still running */
    tr_cb close_cb;
    void *close_data;
};

/* argv storage: the strings live in `buf`. */
struct argv_buf {
    char *argv[SSH_ARGS_MAX];
    int argc;
    char buf[4096];
    size_t used;
    int overflow;
};

static void push(struct argv_buf *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void push(struct argv_buf *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(a->buf + a->used, sizeof(a->buf) - a->used, fmt, ap);
    va_end(ap);
    if (n < 0 || a->used + (size_t)n + 1 > sizeof(a->buf) || a->argc + 1 >= SSH_ARGS_MAX) {
        a->overflow = 1;
        return;
    }
    a->argv[a->argc++] = a->buf + a->used;
    a->argv[a->argc] = NULL;
    a->used += (size_t)n + 1;
}

static const char *const strict_names[] = {"yes", "accept-new", "no"};

/* ssh [common options] MODE-OPTIONS -- HOST (the command is pushed by the caller). */
static void ssh_base(struct ssh_transport *s, const struct df_dest *d, const char *mode_opts[],
                     struct argv_buf *a)
{
    const struct dfile *df = s->base.df;
    a->argc = 0;
    a->used = 0;
    a->overflow = 0;
    push(a, "ssh");
    push(a, "-o");
    push(a, "BatchMode=yes");
    push(a, "-o");
    push(a, "StrictHostKeyChecking=%s", strict_names[df->ssh.strict]);
    if (df->ssh.known_hosts[0]) {
        push(a, "-o");
        push(a, "UserKnownHostsFile=%s", df->ssh.known_hosts);
        push(a, "-o");
        push(a, "GlobalKnownHostsFile=/dev/null");
    }
    push(a, "-o");
    push(a, "ConnectTimeout=%llu", (unsigned long long)((df->ssh.connect_timeout_ms + 999) / 1000));
    push(a, "-o");
    push(a, "ServerAliveInterval=5");
    push(a, "-o");
    push(a, "ServerAliveCountMax=3");
    push(a, "-o");
    push(a, "ControlPath=%s/%%C", s->dir);
    push(a, "-o");
    push(a, "LogLevel=ERROR");
    if (df->ssh.identity[0]) {
        push(a, "-i");
        push(a, "%s", df->ssh.identity);
        push(a, "-o");
        push(a, "IdentitiesOnly=yes");
    }
    int port = d->port ? d->port : df->ssh.port;
    if (port) {
        push(a, "-p");
        push(a, "%d", port);
    }
    const char *user = d->user[0] ? d->user : df->ssh.user;
    if (*user) {
        push(a, "-l");
        push(a, "%s", user);
    }
    for (int i = 0; mode_opts[i]; i++)
        push(a, "%s", mode_opts[i]);
    push(a, "--");
    push(a, "%s", d->host);
}

static int ssh_create(const char *dir, struct transport **out, struct err *e)
{
    struct ssh_transport *s = calloc(1, sizeof(*s));
    if (!s)
        return err_errno(e, ENOMEM, "cannot create the ssh transport");
    const char *base = dir && *dir && strlen(dir) <= SSH_DIR_MAX ? dir : "/tmp";
    snprintf(s->dir, sizeof(s->dir), "%s/baton-ssh.XXXXXX", base);
    if (!mkdtemp(s->dir)) {
        int saved = errno;
        free(s);
        return err_errno(e, saved,
                         "cannot make a private directory for ssh control sockets "
                         "in '%s'",
                         base);
    }
    *out = &s->base;
    return 0;
}

static int ssh_run(struct transport *t, const struct df_dest *d, const char *label,
                   const char *command, uint64_t timeout_ms, tr_cb cb, void *data,
                   struct tr_op **op, struct err *e)
{
    struct ssh_transport *s = (struct ssh_transport *)t;
    static const char *mode[] = {"-T", "-o", "ControlMaster=no", NULL};
    struct argv_buf a;
    ssh_base(s, d, mode, &a);
    push(&a, "%s", command);
    if (a.overflow)
        return err_set(e, "%s: command too long for ssh: '%.60s...'", label, command);
    if (!timeout_ms)
        timeout_ms = t->df->ssh.command_timeout_ms;
    return tr_spawn(t, a.argv, label, command, timeout_ms, 255, cb, data, op, e);
}

/* Records an opened destination: 0 new, 1 open already, -1 no room. */
static int remember(struct ssh_transport *s, const struct df_dest *d, const char *label)
{
    for (int i = 0; i < s->nopened; i++)
        if (memcmp(&s->opened[i], d, sizeof(*d)) == 0)
            return 1;
    if (s->nopened == SSH_OPENED_MAX)
        return -1;
    s->opened[s->nopened] = *d;
    snprintf(s->opened_label[s->nopened], DF_NAME_MAX, "%s", label);
    s->nopened++;
    return 0;
}

static int ssh_open(struct transport *t, const struct df_dest *d, const char *label, tr_cb cb,
                    void *data, struct err *e)
{
    struct ssh_transport *s = (struct ssh_transport *)t;
    static const char *mode[] = {
        "-o", "ControlMaster=yes",         "-o", "ControlPersist=" SSH_PERSIST,
        "-o", "StreamLocalBindUnlink=yes", "-N", "-f",
        NULL};
    int known = remember(s, d, label);
    if (known < 0)
        return err_set(e, "%s: too many ssh destinations", label);
    if (known) /* one master per destination: check the one there is */
        return ssh_run(t, d, label, "true", 0, cb, data, NULL, e);
    struct argv_buf a;
    ssh_base(s, d, mode, &a);
    if (a.overflow)
        return err_set(e, "%s: cannot build the ssh command", label);
    uint64_t limit = t->df->ssh.connect_timeout_ms * 2 + 5000;
    return tr_spawn(t, a.argv, label, "(open connection)", limit, 255, cb, data, NULL, e);
}

static int ssh_forward(struct transport *t, const struct df_dest *d, const char *label,
                       const char *remote, char *local, size_t cap, tr_cb cb, void *data,
                       struct err *e)
{
    struct ssh_transport *s = (struct ssh_transport *)t;
    if (strchr(remote, ':'))
        return err_set(e, "%s: cannot forward socket '%s' (a ':' in the path)", label, remote);
    if ((size_t)snprintf(local, cap, "%s/fwd%d.sock", s->dir, s->nforwards++) >= cap)
        return err_set(e, "%s: forwarded socket path too long", label);
    char spec[DF_PATH_MAX + 128];
    snprintf(spec, sizeof(spec), "%s:%s", local, remote);
    const char *mode[] = {"-O", "forward", "-L", spec, NULL};
    struct argv_buf a;
    ssh_base(s, d, mode, &a);
    if (a.overflow)
        return err_set(e, "%s: cannot build the ssh command", label);
    char shown[DF_PATH_MAX + 32];
    snprintf(shown, sizeof(shown), "(forward %s)", remote);
    return tr_spawn(t, a.argv, label, shown, 10000, 255, cb, data, NULL, e);
}

static void closed_one(const struct child_result *r, int lost, void *data)
{
    (void)r;
    (void)lost;
    struct ssh_transport *s = data;
    if (--s->closing == 0 && s->close_cb)
        s->close_cb(NULL, 0, s->close_data);
}

static void ssh_close(struct transport *t, tr_cb cb, void *data)
{
    struct ssh_transport *s = (struct ssh_transport *)t;
    static const char *mode[] = {"-O", "exit", NULL};
    s->close_cb = cb;
    s->close_data = data;
    s->closing = 1; /* held until every command is started */
    for (int i = 0; i < s->nopened; i++) {
        struct argv_buf a;
        struct err e;
        ssh_base(s, &s->opened[i], mode, &a);
        s->closing++;
        if (a.overflow || tr_spawn(t, a.argv, s->opened_label[i], "(close connection)", 10000, -1,
                                   closed_one, s, NULL, &e) < 0)
            s->closing--;
    }
    s->nopened = 0;
    closed_one(NULL, 0, s);
}

static void ssh_free(struct transport *t)
{
    struct ssh_transport *s = (struct ssh_transport *)t;
    char path[128];
    for (int i = 0; i < s->nforwards; i++) {
        snprintf(path, sizeof(path), "%s/fwd%d.sock", s->dir, i);
        unlink(path);
    }
    rmdir(s->dir); /* fails while a master still lives; it goes within ControlPersist */
    free(s);
}

const struct transport_driver transport_ssh_driver = {
    .name = "ssh",
    .create = ssh_create,
    .open = ssh_open,
    .run = ssh_run,
    .forward = ssh_forward,
    .close = ssh_close,
    .free = ssh_free,
};
