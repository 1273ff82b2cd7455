/* The master's control commands: upgrade, rollback, status, stop, reexec. Each request
 * is validated field by field; a bad one gets a clear error and changes nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "supervise/master.h"
#include "supervise/state.h"

static json_t *argv_to_json(char *const *argv)
{
    json_t *a = json_array();
    for (size_t i = 0; argv && argv[i]; i++)
        json_array_append_new(a, json_string(argv[i]));
    return a;
}

json_t *master_status(struct master *m)
{
    uint64_t now = loop_now_ms(m->loop);
    json_t *gens = json_array();
    for (struct gen *g = m->gens; g; g = g->next) {
        json_t *ws = json_array();
        for (int i = 0; i < g->nslots; i++) {
            struct worker *w = g->slots[i].w;
            if (!w)
                continue;
            json_t *jw =
                json_pack("{s:i,s:i,s:b,s:b,s:I}", "pid", (int)w->pid, "slot", i, "ready", w->ready,
                          "stopping", w->stopping, "age_ms", (json_int_t)(now - w->started_ms));
            if (m->o->mode == RUN_PROXY)
                json_object_set_new(jw, "port", json_integer(g->slots[i].port));
            json_array_append_new(ws, jw);
        }
        json_t *jg =
            json_pack("{s:i,s:s,s:o,s:I,s:I,s:i,s:i,s:b,s:b,s:o}", "id", (int)g->id, "state",
                      gen_state_name(g->state), "command", argv_to_json(g->argv), "age_ms",
                      (json_int_t)(now - g->started_ms), "started_unix_ms",
                      (json_int_t)g->started_unix_ms, "restarts", (int)g->restarts, "live", g->live,
                      "current", g == m->current, "orphan", g->orphan, "workers", ws);
        if (g->reason[0])
            json_object_set_new(jg, "reason", json_string(g->reason));
        if (m->o->mode == RUN_PROXY) {
            json_t *ps = json_array();
            for (int i = 0; i < g->nslots; i++)
                json_array_append_new(ps, json_integer(g->slots[i].port));
            json_object_set_new(jg, "ports", ps);
        }
        json_array_append_new(gens, jg);
    }
    json_t *ls = json_array();
    for (int i = 0; i < m->nlisten; i++)
        json_array_append_new(
            ls, json_pack("{s:s,s:s}", "name", m->o->listen[i].name, "addr", m->o->listen[i].text));
    int queued = 0;
    for (struct op *op = m->queue; op; op = op->next)
        queued++;
    static const char *const kinds[] = {"start", "upgrade", "rollback", "reexec"};
    json_t *st = json_pack(
        "{s:i,s:s,s:I,s:i,s:s,s:o,s:o,s:i,s:i,s:b}", "pid", (int)getpid(), "name", m->o->name,
        "started_unix_ms", (json_int_t)m->started_unix_ms, "reexecs", (int)m->reexecs, "binary",
        m->self_exe, "listen", ls, "generations", gens, "current_generation",
        m->current ? (int)m->current->id : 0, "queued", queued, "stopping", m->stopping);
    json_object_set_new(st, "operation", m->op ? json_string(kinds[m->op->kind]) : json_null());
    json_object_set_new(st, "mode", json_string(m->o->mode == RUN_PROXY ? "proxy" : "handoff"));
    if (m->o->mode == RUN_PROXY)
        json_object_set_new(st, "proxy", pxw_status(m));
    if (m->last_reexec_error[0])
        json_object_set_new(st, "last_reexec_error", json_string(m->last_reexec_error));
    return st;
}

/* The optional "command" of upgrade: a non-empty array of strings. */
static int read_command(struct ctl_req *req, json_t *msg, char ***out)
{
    *out = NULL;
    json_t *c = json_object_get(msg, "command");
    if (!c || json_is_null(c))
        return 0;
    if (!json_is_array(c) || json_array_size(c) == 0 || json_array_size(c) > STATE_MAX_ARGS) {
        ctl_reply_error(req,
                        "malformed control request: \"command\" must be an array of 1..%d "
                        "strings",
                        STATE_MAX_ARGS);
        return -1;
    }
    size_t n = json_array_size(c);
    char **argv = calloc(n + 1, sizeof(*argv));
    if (!argv) {
        ctl_reply_error(req, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_array_get(c, i);
        if (!json_is_string(a) || json_string_length(a) == 0 ||
            json_string_length(a) > STATE_MAX_ARG ||
            strlen(json_string_value(a)) != json_string_length(a)) {
            argv_free(argv);
            ctl_reply_error(req,
                            "malformed control request: \"command\" word %zu must be a "
                            "non-empty string without NUL bytes",
                            i);
            return -1;
        }
        argv[i] = strdup(json_string_value(a));
    }
    *out = argv;
    return 0;
}

void control_handle(struct ctl_req *req, const char *cmd, json_t *msg, void *data)
{
    struct master *m = data;
    if (strcmp(cmd, "status") == 0) {
        json_t *st = master_status(m);
        ctl_reply_ok(req, st);
        return;
    }
    if (strcmp(cmd, "stop") == 0) {
        log_info("control: stop requested");
        master_stop(m, req);
        return;
    }
    if (m->stopping) {
        ctl_reply_error(req, "baton is stopping");
        return;
    }
    if (strcmp(cmd, "upgrade") == 0) {
        char **argv;
        if (read_command(req, msg, &argv) < 0)
            return;
        log_info("control: upgrade requested%s%s", argv ? " to " : "", argv ? argv[0] : "");
        op_enqueue(m, OP_UPGRADE, argv, req, NULL);
        return;
    }
    if (strcmp(cmd, "rollback") == 0) {
        log_info("control: rollback requested");
        op_enqueue(m, OP_ROLLBACK, NULL, req, NULL);
        return;
    }
    if (strcmp(cmd, "reexec") == 0) {
        json_t *b = json_object_get(msg, "binary");
        const char *binary = m->self_exe;
        if (b && !json_is_null(b)) {
            if (!json_is_string(b) || json_string_length(b) == 0 ||
                json_string_length(b) >= PATH_MAX ||
                strlen(json_string_value(b)) != json_string_length(b)) {
                ctl_reply_error(req, "malformed control request: \"binary\" must be a path");
                return;
            }
            binary = json_string_value(b);
        }
        log_info("control: reexec requested (%s)", binary);
        op_enqueue(m, OP_REEXEC, NULL, req, binary);
        return;
    }
    ctl_reply_error(req,
                    "unknown command '%.64s'; expected upgrade, rollback, status, stop or "
                    "reexec",
                    cmd);
}
