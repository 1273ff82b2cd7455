/* What the balancer drivers share: the endpoints, the merged server table, and a call
 * that fans one operation out to every endpoint and joins the replies. */
#include "deploy/balancer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sockreq.h"

struct bal_call {
    struct balancer *b;
    bal_parse_fn parse;
    bal_done_cb done;
    bal_stats_cb stats_done;
    void *data;
    int pending; /* replies awaited, plus one until bal_call_end */
    int rc;
    char error[ERR_MSG_MAX];
    struct bal_stats st;
    struct timer soon; /* to report a call that sent nothing from the loop */
};

struct bal_req {
    struct bal_call *c;
    int endpoint, kind;
};

static const char *const admin_names[] = {"ready", "drain", "maint"};

const char *bal_admin_name(enum bal_admin st)
{
    return (unsigned)st < 3 ? admin_names[st] : "unknown";
}

void bal_stats_free(struct bal_stats *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

const struct bal_server *bal_stats_find(const struct bal_stats *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->v[i].name, name) == 0)
            return &s->v[i];
    return NULL;
}

struct bal_server *bal_stats_get(struct bal_stats *s, const char *name)
{
    struct bal_server *found = (struct bal_server *)bal_stats_find(s, name);
    if (found)
        return found;
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 16;
        struct bal_server *v = realloc(s->v, (size_t)cap * sizeof(*v));
        if (!v)
            return NULL;
        s->v = v;
        s->cap = cap;
    }
    struct bal_server *sv = &s->v[s->n++];
    memset(sv, 0, sizeof(*sv));
    snprintf(sv->name, sizeof(sv->name), "%s", name);
    return sv;
}

const struct balancer_driver *balancer_driver_for(const struct dfile *df)
{
    return df->balancer.type == DF_HAPROXY ? &balancer_haproxy_driver
                                           : &balancer_baton_proxy_driver;
}

int balancer_new(struct loop *loop, const struct dfile *df, const char *const *paths,
                 struct balancer **out, struct err *e)
{
    struct balancer *b = calloc(1, sizeof(*b));
    if (!b)
        return err_errno(e, ENOMEM, "cannot create the balancer");
    b->drv = balancer_driver_for(df);
    b->loop = loop;
    b->df = df;
    for (int i = 0; i < df->balancer.nsockets; i++) {
        const struct df_socket *k = &df->balancer.sockets[i];
        char spec[DF_PATH_MAX + 8];
        if (k->is_unix)
            snprintf(spec, sizeof(spec), "unix:%s", paths[i]);
        else
            snprintf(spec, sizeof(spec), "%s", paths[i] + 4); /* "tcp:" off */
        if (addr_parse(spec, 0, &b->endpoints[i], e) < 0) {
            free(b);
            return err_wrap(e, "balancer socket '%s'", k->text);
        }
        snprintf(b->shown[i], sizeof(b->shown[i]), "%s", k->text);
    }
    b->nendpoints = df->balancer.nsockets;
    *out = b;
    return 0;
}

void balancer_free(struct balancer *b)
{
    free(b);
}

/* --- calls ---------------------------------------------------------------------- */

/* Keeps the worst outcome (unreachable < refused < ok) and its first message. */
static void call_note(struct bal_call *c, int rc, const char *endpoint, const char *msg)
{
    if (rc < c->rc) {
        c->rc = rc;
        snprintf(c->error, sizeof(c->error), "%s: %s", endpoint, msg);
    }
}

static void call_finish(struct bal_call *c)
{
    c->b->pending--;
    if (c->done)
        c->done(c->rc, c->rc ? c->error : NULL, c->data);
    else
        c->stats_done(c->rc, &c->st, c->rc ? c->error : NULL, c->data);
    bal_stats_free(&c->st);
    free(c);
}

static void call_release(struct bal_call *c)
{
    if (--c->pending == 0)
        call_finish(c);
}

static void on_reply(int ok, const char *reply, size_t len, const char *error, void *data)
{
    struct bal_req *r = data;
    struct bal_call *c = r->c;
    const char *shown = c->b->shown[r->endpoint];
    if (!ok) {
        call_note(c, BAL_UNREACHABLE, shown, error);
    } else {
        struct err e;
        if (c->parse(c, r->kind, reply, len, &c->st, &e) < 0)
            call_note(c, BAL_REFUSED, shown, e.msg);
    }
    free(r);
    call_release(c);
}

struct bal_call *bal_call_new(struct balancer *b, bal_parse_fn parse, bal_done_cb done,
                              bal_stats_cb stats_done, void *data)
{
    struct bal_call *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->b = b;
    c->parse = parse;
    c->done = done;
    c->stats_done = stats_done;
    c->data = data;
    c->pending = 1;
    b->pending++;
    return c;
}

struct balancer *bal_call_balancer(struct bal_call *c)
{
    return c->b;
}

void bal_call_send(struct bal_call *c, int endpoint, const char *request, int line, int kind)
{
    struct bal_req *r = calloc(1, sizeof(*r));
    struct err e;
    if (!r) {
        call_note(c, BAL_UNREACHABLE, c->b->shown[endpoint], "out of memory");
        return;
    }
    r->c = c;
    r->endpoint = endpoint;
    r->kind = kind;
    c->pending++;
    if (sockreq_start(c->b->loop, &c->b->endpoints[endpoint], request, line,
                      c->b->df->balancer.timeout_ms, BAL_REPLY_MAX, on_reply, r, NULL, &e) < 0) {
        call_note(c, BAL_UNREACHABLE, c->b->shown[endpoint], e.msg);
        c->pending--;
        free(r);
    }
}

static void on_soon(struct loop *loop, struct timer *t)
{
    (void)loop;
    call_release(t->data);
}

void bal_call_end(struct bal_call *c)
{
    if (c->pending > 1) {
        c->pending--;
        return;
    }
    timer_start(c->b->loop, &c->soon, 0, on_soon, c);
}

int bal_set_by_describe(struct balancer *b, bal_parse_fn parse, int line, int kind,
                        const char *server, enum bal_admin st, bal_done_cb cb, void *data,
                        struct err *e)
{
    struct bal_call *c = bal_call_new(b, parse, cb, NULL, data);
    if (!c)
        return err_set(e, "out of memory");
    char req[512];
    b->drv->describe(b, server, st, req, sizeof(req) - 1);
    strcat(req, "\n");
    for (int i = 0; i < b->nendpoints; i++)
        bal_call_send(c, i, req, line, kind);
    bal_call_end(c);
    return 0;
}
