/* The relays by proxy mode (see relay.h). */
#include "proxy/relay.h"

const struct relay *relay_for_mode(enum proxy_mode mode)
{
    return mode == PROXY_HTTP ? &relay_http : &relay_tcp;
}
