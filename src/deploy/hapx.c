/* HAProxy runtime API replies. `show stat` is CSV with a "# " header naming every
 * column (the set grows between versions, so nothing is read by position); fields may
 * be double-quoted. `show servers conn` is a space-separated table with its own header. */
#include "deploy/hapx.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/opt.h"

#define HAPX_COLS_MAX 256
#define HAPX_LINE_MAX 8192

/* Splits a CSV line in place into fields; returns the count or -1 when malformed. */
static int csv_split(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        if (n == max)
            return -1;
        if (*p == '"') {
            char *w = ++p;
            f[n++] = w;
            for (;; p++) {
                if (!*p)
                    return -1;
                if (*p == '"' && p[1] == '"')
                    *w++ = *p++;
                else if (*p == '"')
                    break;
                else
                    *w++ = *p;
            }
            *w = 0;
            p++;
            if (*p != ',' && *p)
                return -1;
        } else {
            f[n++] = p;
            p += strcspn(p, ",");
        }
        if (!*p)
            return n;
        *p++ = 0;
    }
}

/* A counter: empty is 0, otherwise decimal digits only. */
static int counter(const char *s, long long *out)
{
    if (!*s) {
        *out = 0;
        return 0;
    }
    return opt_parse_digits(s, out);
}

/* Copies the next line of [*p, end) into buf; returns 0 at the end, -1 if too long. */
static int next_line(const char **p, const char *end, char *buf, size_t cap)
{
    if (*p >= end)
        return 0;
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
    if (n >= cap)
        return -1;
    memcpy(buf, *p, n);
    buf[n] = 0;
    if (n && buf[n - 1] == '\r')
        buf[n - 1] = 0;
    *p += n + (nl != NULL);
    return 1;
}

/* The first non-empty line of a reply, for an error message. */
static void first_line(const char *reply, size_t len, char *out, size_t cap)
{
    while (len > 0 && (*reply == '\n' || *reply == '\r')) {
        reply++;
        len--;
    }
    const char *nl = memchr(reply, '\n', len);
    size_t n = nl ? (size_t)(nl - reply) : len;
    for (size_t i = 0; i < n; i++)
        if (!reply[i] || (unsigned char)reply[i] < ' ')
            n = i;
    snprintf(out, cap, "%.*s", (int)(n > 120 ? 120 : n), reply);
}

enum col {
    C_PX,
    C_SV,
    C_QCUR,
    C_SCUR,
    C_ECON,
    C_ERESP,
    C_STATUS,
    C_1XX,
    C_2XX,
    C_3XX,
    C_4XX,
    C_5XX,
    C_OTHER,
    C_QTIME,
    C_RTIME,
    C_USED,
    C_NCOLS
};
static const char *const col_names[C_NCOLS] = {
    "pxname",     "svname",   "qcur",     "scur",         "econ",     "eresp",
    "status",     "hrsp_1xx", "hrsp_2xx", "hrsp_3xx",     "hrsp_4xx", "hrsp_5xx",
    "hrsp_other", "qtime",    "rtime",    "used_conn_cur"};
/* columns every HAProxy since 1.5 has; the others count as 0 when missing */
static const int col_required[C_NCOLS] = {1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0};

static int stat_header(char *line, int *idx, int *ncols, struct err *e)
{
    char *f[HAPX_COLS_MAX];
    int n = csv_split(line + 2, f, HAPX_COLS_MAX);
    if (n < 0)
        return err_set(e, "malformed 'show stat' header");
    for (int c = 0; c < C_NCOLS; c++) {
        idx[c] = -1;
        for (int i = 0; i < n; i++)
            if (strcmp(f[i], col_names[c]) == 0)
                idx[c] = i;
        if (idx[c] < 0 && col_required[c])
            return err_set(e, "'show stat' has no column '%s'", col_names[c]);
    }
    *ncols = n;
    return 0;
}

/* One server row of `show stat` into st. */
static int stat_row(char **f, const int *idx, struct bal_stats *st, struct err *e)
{
    long long v[C_NCOLS] = {0};
    for (int c = 0; c < C_NCOLS; c++)
        if (c != C_PX && c != C_SV && c != C_STATUS && idx[c] >= 0 && counter(f[idx[c]], &v[c]) < 0)
            return err_set(e, "'show stat': server '%.60s': %s is not a number: '%.40s'",
                           f[idx[C_SV]], col_names[c], f[idx[c]]);
    struct bal_server *s = bal_stats_get(st, f[idx[C_SV]]);
    if (!s)
        return err_set(e, "out of memory");
    const char *status = f[idx[C_STATUS]];
    int drained = strncmp(status, "DRAIN", 5) == 0 || strncmp(status, "MAINT", 5) == 0;
    int up = !drained && (strncmp(status, "UP", 2) == 0 || strcmp(status, "no check") == 0);
    if (!s->found++)
        snprintf(s->status, sizeof(s->status), "%s", status);
    s->up += up;
    s->drained += drained;
    s->cur += v[C_QCUR] + v[C_SCUR];
    s->responses += v[C_1XX] + v[C_2XX] + v[C_3XX] + v[C_4XX] + v[C_5XX] + v[C_OTHER];
    s->resp_5xx += v[C_5XX];
    s->conn_errors += v[C_ECON] + v[C_ERESP];
    if (v[C_RTIME] > s->rtime_ms)
        s->rtime_ms = v[C_RTIME];
    if (v[C_QTIME] > s->qtime_ms)
        s->qtime_ms = v[C_QTIME];
    return 0;
}

int hapx_parse_stat(const char *reply, size_t len, const char *backend, struct bal_stats *st,
                    struct err *e)
{
    const char *p = reply, *end = reply + len;
    char *line = malloc(HAPX_LINE_MAX);
    char *f[HAPX_COLS_MAX];
    int idx[C_NCOLS], ncols = 0, rows = 0, rc = -1, got;
    if (!line)
        return err_set(e, "out of memory");
    got = next_line(&p, end, line, HAPX_LINE_MAX);
    if (got <= 0 || strncmp(line, "# ", 2) != 0) {
        char first[128];
        first_line(reply, len, first, sizeof(first));
        err_set(e, "'show stat %s' answered '%s'", backend, first);
        goto out;
    }
    if (stat_header(line, idx, &ncols, e) < 0)
        goto out;
    while ((got = next_line(&p, end, line, HAPX_LINE_MAX)) > 0) {
        if (!line[0])
            continue;
        int n = csv_split(line, f, HAPX_COLS_MAX);
        if (n != ncols) {
            err_set(e, "'show stat': a row of %d fields under a header of %d", n, ncols);
            goto out;
        }
        if (strcmp(f[idx[C_PX]], backend) != 0 || strcmp(f[idx[C_SV]], "BACKEND") == 0 ||
            strcmp(f[idx[C_SV]], "FRONTEND") == 0)
            continue;
        if (stat_row(f, idx, st, e) < 0)
            goto out;
        rows++;
    }
    if (got < 0) {
        err_set(e, "'show stat': a line longer than %d bytes", HAPX_LINE_MAX);
        goto out;
    }
    rc = rows;
out:
    free(line);
    return rc < 0 ? -1 : 0;
}

int hapx_parse_servers_conn(const char *reply, size_t len, const char *backend,
                            struct bal_stats *st, struct err *e)
{
    const char *p = reply, *end = reply + len;
    char line[HAPX_LINE_MAX];
    if (next_line(&p, end, line, sizeof(line)) <= 0 || strncmp(line, "# bkname/svname", 15) != 0) {
        char first[128];
        first_line(reply, len, first, sizeof(first));
        return err_set(e, "'show servers conn %s' answered '%s'", backend, first);
    }
    int used = -1, ncols = 0;
    char *save = NULL;
    for (char *w = strtok_r(line + 2, " ", &save); w; w = strtok_r(NULL, " ", &save), ncols++)
        if (strcmp(w, "used_cur") == 0)
            used = ncols;
    if (used < 0)
        return err_set(e, "'show servers conn' has no column 'used_cur'");
    int got;
    while ((got = next_line(&p, end, line, sizeof(line))) > 0) {
        if (!line[0])
            continue;
        char *cols[HAPX_COLS_MAX] = {NULL};
        int n = 0;
        save = NULL;
        for (char *w = strtok_r(line, " ", &save); w && n < HAPX_COLS_MAX;
             w = strtok_r(NULL, " ", &save))
            cols[n++] = w;
        char *slash = n > 0 ? strchr(cols[0], '/') : NULL;
        long long v;
        if (n <= used || !slash || counter(cols[used], &v) < 0)
            return err_set(e, "'show servers conn': malformed row '%.80s'", n ? cols[0] : "");
        *slash = 0;
        if (strcmp(cols[0], backend) != 0)
            continue;
        struct bal_server *s = bal_stats_get(st, slash + 1);
        if (!s)
            return err_set(e, "out of memory");
        s->cur += v;
    }
    if (got < 0)
        return err_set(e, "'show servers conn': a line longer than %d bytes", HAPX_LINE_MAX);
    return 0;
}

int hapx_parse_set_reply(const char *reply, size_t len, struct err *e)
{
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)reply[i])) {
            char first[128];
            first_line(reply + i, len - i, first, sizeof(first));
            return err_set(e, "%s", first);
        }
    return 0;
}
