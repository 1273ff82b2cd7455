/* Finds the line of a value inside JSON text, so that the chain loader can name the
 * line of a semantic error (a gap, an unknown step) that jansson cannot locate. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lazy/lazy_int.h"

struct jscan {
    const char *p, *end;
    int line;
};

static void skip_ws(struct jscan *s)
{
    while (s->p < s->end && isspace((unsigned char)*s->p)) {
        if (*s->p == '\n')
            s->line++;
        s->p++;
    }
}

/* At an opening quote: moves past the closing one; returns -1 at the end of text. */
static int skip_string(struct jscan *s)
{
    s->p++;
    while (s->p < s->end) {
        char c = *s->p++;
        if (c == '\\') {
            if (s->p < s->end)
                s->p++;
        } else if (c == '"') {
            return 0;
        } else if (c == '\n') {
            s->line++;
        }
    }
    return -1;
}

/* Skips one value of any kind without recursion (depth counted over brackets). */
static int skip_value(struct jscan *s)
{
    skip_ws(s);
    if (s->p >= s->end)
        return -1;
    if (*s->p == '"')
        return skip_string(s);
    if (*s->p == '{' || *s->p == '[') {
        long depth = 0;
        while (s->p < s->end) {
            char c = *s->p;
            if (c == '"') {
                if (skip_string(s) < 0)
                    return -1;
                continue;
            }
            if (c == '{' || c == '[')
                depth++;
            else if (c == '}' || c == ']')
                depth--;
            else if (c == '\n')
                s->line++;
            s->p++;
            if (depth == 0)
                return 0;
        }
        return -1;
    }
    while (s->p < s->end && !strchr(",]} \t\r\n", *s->p))
        s->p++;
    return 0;
}

/* Skips the value at the cursor and the comma after it: -1 when no member follows. */
static int skip_member(struct jscan *s)
{
    if (skip_value(s) < 0)
        return -1;
    skip_ws(s);
    if (s->p >= s->end || *s->p != ',')
        return -1;
    s->p++;
    return 0;
}

/* Moves to the start of the element `seg` of the array or object at the cursor. */
static int enter(struct jscan *s, const char *seg, size_t seglen)
{
    skip_ws(s);
    if (s->p >= s->end)
        return -1;
    if (*s->p == '[') {
        char *endp;
        char num[24];
        if (seglen == 0 || seglen >= sizeof(num))
            return -1;
        memcpy(num, seg, seglen);
        num[seglen] = 0;
        long want = strtol(num, &endp, 10);
        if (*endp || want < 0)
            return -1;
        s->p++;
        for (long i = 0;; i++) {
            skip_ws(s);
            if (s->p >= s->end || *s->p == ']')
                return -1;
            if (i == want)
                return 0;
            if (skip_member(s) < 0)
                return -1;
        }
    }
    if (*s->p != '{')
        return -1;
    s->p++;
    for (;;) {
        skip_ws(s);
        if (s->p >= s->end || *s->p != '"')
            return -1;
        const char *key = s->p + 1;
        if (skip_string(s) < 0)
            return -1;
        size_t keylen = (size_t)(s->p - 1 - key);
        skip_ws(s);
        if (s->p >= s->end || *s->p != ':')
            return -1;
        s->p++;
        if (keylen == seglen && memcmp(key, seg, seglen) == 0) {
            skip_ws(s);
            return 0;
        }
        if (skip_member(s) < 0)
            return -1;
    }
}

int lazy_json_line(const char *text, size_t len, const char *path)
{
    struct jscan s = {text, text + len, 1};
    const char *seg = path;
    while (*seg) {
        const char *slash = strchr(seg, '/');
        size_t seglen = slash ? (size_t)(slash - seg) : strlen(seg);
        if (enter(&s, seg, seglen) < 0)
            return 0;
        seg += seglen;
        if (*seg == '/')
            seg++;
    }
    skip_ws(&s);
    return s.line;
}
