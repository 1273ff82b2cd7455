/* The Prometheus text exposition writer: one buffer, appended to, capped; a failure
 * marks the whole text incomplete instead of writing a half sample. */
#include "obs/expo.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hist_observe(struct hist *h, const double *bounds, int nbounds, double v)
{
    int i = 0;
    while (i < nbounds && i < HIST_MAX_BUCKETS && v > bounds[i])
        i++;
    h->counts[i]++;
    h->count++;
    h->sum += v;
}

void expo_init(struct expo *x)
{
    *x = (struct expo){0};
}

void expo_free(struct expo *x)
{
    free(x->buf);
    *x = (struct expo){0};
}

static void grow(struct expo *x, size_t more)
{
    if (x->failed)
        return;
    size_t need = x->len + more + 1;
    if (need > EXPO_MAX_BYTES) {
        x->failed = 1;
        return;
    }
    if (need <= x->cap)
        return;
    size_t cap = x->cap ? x->cap : 4096;
    while (cap < need)
        cap *= 2;
    char *b = realloc(x->buf, cap);
    if (!b) {
        x->failed = 1;
        return;
    }
    x->buf = b;
    x->cap = cap;
}

void expo_append(struct expo *x, const char *s, size_t n)
{
    grow(x, n);
    if (x->failed)
        return;
    memcpy(x->buf + x->len, s, n);
    x->len += n;
    x->buf[x->len] = 0;
}

static void puts_(struct expo *x, const char *s)
{
    expo_append(x, s, strlen(s));
}

/* A label value or HELP text: backslash and newline escaped (and the double quote in
 * label values). */
static void put_escaped(struct expo *x, const char *s, int quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            expo_append(x, "\\\\", 2);
        else if (*s == '\n')
            expo_append(x, "\\n", 2);
        else if (*s == '"' && quote)
            expo_append(x, "\\\"", 2);
        else
            expo_append(x, s, 1);
    }
}

static void put_number(struct expo *x, double v)
{
    char num[40];
    if (isnan(v))
        snprintf(num, sizeof(num), "NaN");
    else if (isinf(v))
        snprintf(num, sizeof(num), v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 9007199254740992.0)
        snprintf(num, sizeof(num), "%.0f", v);
    else
        snprintf(num, sizeof(num), "%.9g", v);
    puts_(x, num);
}

void expo_family(struct expo *x, const char *name, const char *type, const char *help)
{
    puts_(x, "# HELP ");
    puts_(x, name);
    expo_append(x, " ", 1);
    put_escaped(x, help, 0);
    puts_(x, "\n# TYPE ");
    puts_(x, name);
    expo_append(x, " ", 1);
    puts_(x, type);
    expo_append(x, "\n", 1);
}

/* name{labels[,le="..."]} */
static void put_series(struct expo *x, const char *name, const char *suffix,
                       const char *const *labels, const char *le)
{
    puts_(x, name);
    puts_(x, suffix);
    if ((!labels || !labels[0]) && !le)
        return;
    expo_append(x, "{", 1);
    int n = 0;
    for (int i = 0; labels && labels[i] && labels[i + 1]; i += 2, n++) {
        if (n)
            expo_append(x, ",", 1);
        puts_(x, labels[i]);
        puts_(x, "=\"");
        put_escaped(x, labels[i + 1], 1);
        expo_append(x, "\"", 1);
    }
    if (le) {
        puts_(x, n ? ",le=\"" : "le=\"");
        puts_(x, le);
        expo_append(x, "\"", 1);
    }
    expo_append(x, "}", 1);
}

void expo_sample(struct expo *x, const char *name, const char *const *labels, double value)
{
    put_series(x, name, "", labels, NULL);
    expo_append(x, " ", 1);
    put_number(x, value);
    expo_append(x, "\n", 1);
}

void expo_hist(struct expo *x, const char *name, const char *const *labels, const double *bounds,
               int nbounds, const struct hist *h)
{
    uint64_t cum = 0;
    char le[40];
    if (nbounds > HIST_MAX_BUCKETS)
        nbounds = HIST_MAX_BUCKETS;
    for (int i = 0; i <= nbounds; i++) {
        cum += h->counts[i];
        if (i < nbounds)
            snprintf(le, sizeof(le), "%.9g", bounds[i]);
        else
            snprintf(le, sizeof(le), "+Inf");
        put_series(x, name, "_bucket", labels, le);
        expo_append(x, " ", 1);
        put_number(x, (double)cum);
        expo_append(x, "\n", 1);
    }
    put_series(x, name, "_sum", labels, NULL);
    expo_append(x, " ", 1);
    put_number(x, h->sum);
    expo_append(x, "\n", 1);
    put_series(x, name, "_count", labels, NULL);
    expo_append(x, " ", 1);
    put_number(x, (double)h->count);
    expo_append(x, "\n", 1);
}
