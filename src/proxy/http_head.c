/* Rewriting of an HTTP head the parser has already accepted: dropping the hop-by-hop
 * Connection header and adding lines (X-Forwarded-For, Connection: close). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "proxy/conn.h"

long http_head_rewrite(const char *in, size_t len, int drop_connection, const char *extra,
                       char *out, size_t cap)
{
    /* the head ends with an empty line: CRLF CRLF (or LF LF from lenient peers) */
    size_t body_end = len;
    if (len >= 4 && memcmp(in + len - 4, "\r\n\r\n", 4) == 0)
        body_end = len - 2;
    else if (len >= 2 && memcmp(in + len - 2, "\n\n", 2) == 0)
        body_end = len - 1;
    else
        return -1;
    size_t o = 0, i = 0;
    int first = 1, skipping = 0;
    while (i < body_end) {
        const char *nl = memchr(in + i, '\n', body_end - i);
        size_t line_end = nl ? (size_t)(nl - in) + 1 : body_end;
        size_t n = line_end - i;
        int skip = 0;
        if (!first && (in[i] == ' ' || in[i] == '\t'))
            skip = skipping; /* a folded line belongs to the header before it */
        else if (!first && drop_connection && n >= 11 &&
                 strncasecmp(in + i, "connection:", 11) == 0)
            skip = 1;
        skipping = skip;
        if (!skip) {
            if (o + n > cap)
                return -1;
            memcpy(out + o, in + i, n);
            o += n;
        }
        first = 0;
        i = line_end;
    }
    size_t ne = extra ? strlen(extra) : 0;
    if (o + ne + 2 > cap)
        return -1;
    memcpy(out + o, extra ? extra : "", ne);
    o += ne;
    memcpy(out + o, "\r\n", 2);
    o += 2;
    return (long)o;
}
