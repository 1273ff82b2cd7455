/* Client side of the control verbs: one request to a running master. */
#include "core/ctl.h"
#include "supervise/run.h"

int run_ctl(const char *control, const char *cmd, json_t *extra, json_t **reply, struct err *e)
{
    json_t *req = extra ? extra : json_object();
    json_object_set_new(req, "cmd", json_string(cmd));
    int rc = ctl_call(control, req, reply, 0, e);
    json_decref(req);
    return rc;
}
