/* Client side of the proxy's runtime API, for the CLI verbs (`baton backend`,
 * `baton switch`): resolves --name/--control to a socket path and sends one request. */
#ifndef BATON_PROXY_CLIENT_H
#define BATON_PROXY_CLIENT_H

#include <jansson.h>

#include "core/err.h"

#define PROXY_DEFAULT_NAME "proxy"

/* The control socket path: `control` if given, else the default path of `name`
 * (PROXY_DEFAULT_NAME when NULL). */
int proxy_control_path(const char *name, const char *control, char *buf, size_t size,
                       struct err *e);

/* Sends `req` (not stolen) and checks the reply; on success *reply holds it (new
 * reference), on failure e holds the proxy's error text. */
int proxy_client_call(const char *name, const char *control, json_t *req, json_t **reply,
                      struct err *e);

#endif
