/* One request to a running proxy over its control socket (core/ctl.h). */
#include "proxy/client.h"

#include <stdio.h>

#include "core/addr.h"
#include "core/ctl.h"

int proxy_control_path(const char *name, const char *control, char *buf, size_t size, struct err *e)
{
    if (control && *control) {
        if ((size_t)snprintf(buf, size, "%s", control) >= size)
            return err_set(e, "control socket path '%s' is too long", control);
        return 0;
    }
    return ctl_default_path(name && *name ? name : PROXY_DEFAULT_NAME, buf, size, e);
}

int proxy_client_call(const char *name, const char *control, json_t *req, json_t **reply,
                      struct err *e)
{
    char path[ADDR_UNIX_PATH_SIZE];
    if (proxy_control_path(name, control, path, sizeof(path), e) < 0)
        return -1;
    json_t *r = NULL;
    if (ctl_call(path, req, &r, 10000, e) < 0)
        return -1;
    if (ctl_reply_check(r, e) < 0) {
        json_decref(r);
        return -1;
    }
    *reply = r;
    return 0;
}
