/* The proxy engine's default configuration (config.h). */
#include "proxy/config.h"

#include <string.h>

void proxy_config_defaults(struct proxy_config *c)
{
    memset(c, 0, sizeof(*c));
    c->mode = PROXY_TCP;
    c->relay = RELAY_AUTO;
    c->health = HEALTH_CONNECT;
    c->health_interval_ms = 1000;
    c->health_fall = 2;
    c->health_rise = 1;
    c->max_conns = 10000;
    c->connect_timeout_ms = 2000;
    c->idle_timeout_ms = 60000;
    c->header_timeout_ms = 10000;
    c->buffer_bytes = 16384;
    c->header_max_bytes = 8192;
    c->retries = 3;
    c->xff = 1;
}
