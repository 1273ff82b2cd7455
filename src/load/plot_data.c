/* The data of a plot: a `baton load --json` report and the events of a JSON-lines log,
 * read strictly (every field checked for type and range; a bad line is named). */
#include "load/plot_data.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void plot_data_free(struct plot_data *d)
{
    free(d->buckets);
    free(d->events);
    memset(d, 0, sizeof(*d));
}

/* An integer member of o in [0, max] into *out. */
static int get_count(json_t *o, const char *key, long long max, long long *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
        return -1;
    *out = json_integer_value(v);
    return 0;
}

/* The index of version `name` in d, added when new; -1 past PLOT_MAX_VERSIONS. */
static int version_index(struct plot_data *d, const char *name)
{
    for (int i = 0; i < d->nversions; i++)
        if (strcmp(d->versions[i], name) == 0)
            return i;
    if (d->nversions == PLOT_MAX_VERSIONS || strlen(name) >= sizeof(d->versions[0]))
        return -1;
    snprintf(d->versions[d->nversions], sizeof(d->versions[0]), "%s", name);
    return d->nversions++;
}

static int read_latency(json_t *o, struct plot_bucket *b, size_t i, struct err *e)
{
    json_t *p50 = json_object_get(o, "p50_ms"), *p99 = json_object_get(o, "p99_ms");
    if (!p50 || !p99)
        return err_set(e,
                       "timeline[%zu] has no 'p50_ms' and 'p99_ms' (a report of an older "
                       "baton load?)",
                       i);
    if (json_is_null(p50) && json_is_null(p99))
        return 0;
    if (!json_is_number(p50) || !json_is_number(p99) || json_number_value(p50) < 0 ||
        json_number_value(p50) > json_number_value(p99) || json_number_value(p99) > 1e9)
        return err_set(e,
                       "timeline[%zu]: 'p50_ms' and 'p99_ms' must be numbers with "
                       "0 <= p50 <= p99, or both null",
                       i);
    b->has_latency = 1;
    b->p50_ms = json_number_value(p50);
    b->p99_ms = json_number_value(p99);
    return 0;
}

static int read_bucket(struct plot_data *d, json_t *o, size_t i, struct err *e)
{
    struct plot_bucket *b = &d->buckets[i];
    long long t, requests, failures, sum = 0;
    if (!json_is_object(o) || get_count(o, "t_ms", 1LL << 40, &t) < 0 ||
        t != (long long)i * d->bucket_ms)
        return err_set(e, "timeline[%zu] needs 't_ms' = %lld", i, (long long)i * d->bucket_ms);
    if (get_count(o, "requests", UINT32_MAX, &requests) < 0 ||
        get_count(o, "failures", requests, &failures) < 0)
        return err_set(e, "timeline[%zu] needs counts 'requests' and 'failures' <= requests", i);
    b->requests = (uint32_t)requests;
    b->failures = (uint32_t)failures;
    json_t *versions = json_object_get(o, "versions"), *n;
    const char *name;
    if (!json_is_object(versions))
        return err_set(e, "timeline[%zu] needs an object 'versions'", i);
    json_object_foreach(versions, name, n)
    {
        int k = version_index(d, name);
        if (k < 0)
            return err_set(e,
                           "timeline[%zu]: version '%.40s' is one too many (at most %d, "
                           "names under 32 bytes)",
                           i, name, PLOT_MAX_VERSIONS);
        if (!json_is_integer(n) || json_integer_value(n) < 0 || json_integer_value(n) > requests)
            return err_set(e, "timeline[%zu]: versions['%.40s'] must be a count", i, name);
        b->versions[k] = (uint32_t)json_integer_value(n);
        sum += json_integer_value(n);
    }
    if (sum != requests - failures)
        return err_set(e,
                       "timeline[%zu]: versions add up to %lld, but %lld requests were "
                       "answered",
                       i, sum, requests - failures);
    return read_latency(o, b, i, e);
}

int plot_data_from_report(struct plot_data *d, const char *text, size_t len, struct err *e)
{
    memset(d, 0, sizeof(*d));
    d->bucket_ms = 100;
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je), *timeline;
    long long start, requests, failed;
    int rc = -1;
    if (!root) {
        err_set(e, "not JSON: %s (line %d)", je.text, je.line);
        goto out;
    }
    timeline = json_object_get(root, "timeline");
    if (!json_is_object(root) || get_count(root, "start_unix_ms", 1LL << 50, &start) < 0 ||
        get_count(root, "requests", 1LL << 50, &requests) < 0 ||
        get_count(root, "failed", requests, &failed) < 0 || !json_is_array(timeline)) {
        err_set(e, "not a report of 'baton load --json': it needs 'start_unix_ms', "
                   "'requests', 'failed' and 'timeline'");
        goto out;
    }
    d->start_unix_ms = start;
    d->requests = (uint64_t)requests;
    d->failed = (uint64_t)failed;
    d->nbuckets = json_array_size(timeline);
    if (d->nbuckets == 0 || d->nbuckets > PLOT_MAX_BUCKETS) {
        err_set(e, "the timeline has %zu buckets (1 to %d can be drawn)", d->nbuckets,
                PLOT_MAX_BUCKETS);
        goto out;
    }
    d->buckets = calloc(d->nbuckets, sizeof(*d->buckets));
    if (!d->buckets) {
        err_set(e, "out of memory for %zu buckets", d->nbuckets);
        goto out;
    }
    for (size_t i = 0; i < d->nbuckets; i++)
        if (read_bucket(d, json_array_get(timeline, i), i, e) < 0)
            goto out;
    rc = 0;
out:
    json_decref(root);
    return rc;
}

int plot_parse_time(const char *s, int64_t *unix_ms)
{
    /* Digits where the shape has a 'd', the rest as written: no sign, no space. */
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    size_t n = strlen(s);
    if (n != sizeof(shape) - 1 && n != 20)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char want = n == 20 && i == 19 ? 'Z' : shape[i];
        if (want == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != want)
            return -1;
    }
    struct tm tm = {0};
    int ms = 0;
    sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
           &tm.tm_min, &tm.tm_sec);
    if (n > 20)
        ms = (s[20] - '0') * 100 + (s[21] - '0') * 10 + (s[22] - '0');
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60 || tm.tm_year < 1970)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    *unix_ms = (int64_t)t * 1000 + ms;
    return 0;
}

static int is_drawn(const char *event)
{
    static const char *const drawn[] = {
        "upgrade-requested", "rollback-requested", "switched", "failed", "exited", "reexec"};
    for (size_t i = 0; i < sizeof(drawn) / sizeof(drawn[0]); i++)
        if (strcmp(event, drawn[i]) == 0)
            return 1;
    return 0;
}

/* Reads one line of the events file into d (when drawn and in the run's time). */
static int read_event(struct plot_data *d, const char *line, size_t len, struct err *e)
{
    json_error_t je;
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    json_t *gen = json_object_get(o, "generation");
    const char *time = json_string_value(json_object_get(o, "time"));
    const char *event = json_string_value(json_object_get(o, "event"));
    int64_t at;
    int rc = -1;
    if (!json_is_object(o) || !time || !event) {
        err_set(e, "not a JSON object with strings 'time' and 'event'");
    } else if (plot_parse_time(time, &at) < 0) {
        err_set(e, "invalid time '%.40s' (want 2026-12-02T01:36:46.999Z)", time);
    } else if (gen && !json_is_null(gen) &&
               (!json_is_integer(gen) || json_integer_value(gen) < 1 ||
                json_integer_value(gen) > UINT32_MAX)) {
        err_set(e, "'generation' must be a number from 1, or null");
    } else {
        rc = 0;
        double t_s = (double)(at - d->start_unix_ms) / 1000.0;
        double end_s = (double)(d->nbuckets * d->bucket_ms) / 1000.0;
        if (is_drawn(event) && t_s >= 0 && t_s <= end_s && d->nevents < PLOT_MAX_EVENTS) {
            struct plot_event *ev = &d->events[d->nevents++];
            ev->t_s = t_s;
            snprintf(ev->name, sizeof(ev->name), "%s", event);
            ev->generation = json_is_integer(gen) ? (unsigned)json_integer_value(gen) : 0;
        }
    }
    json_decref(o);
    return rc;
}

int plot_data_add_events(struct plot_data *d, const char *text, size_t len, const char *name,
                         struct err *e)
{
    if (!d->events && !(d->events = calloc(PLOT_MAX_EVENTS, sizeof(*d->events))))
        return err_set(e, "out of memory for events");
    size_t at = 0, lineno = 0;
    while (at < len) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
        lineno++;
        if (!nl)
            return err_set(e, "events '%s' line %zu: the last line has no newline (cut?)", name,
                           lineno);
        if (n == 0 || text[at] != '{')
            d->skipped_lines++;
        else if (read_event(d, text + at, n, e) < 0)
            return err_wrap(e, "events '%s' line %zu", name, lineno);
        at += n + 1;
    }
    return 0;
}

int plot_read_file(const char *path, char **text, size_t *len, struct err *e)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    int rc = -1;
    if (!f) {
        free(buf);
        return err_errno(e, errno, "cannot open '%s'", path);
    }
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap || cap >= PLOT_MAX_INPUT)
            break;
        char *grown = realloc(buf, cap * 2);
        if (!grown)
            free(buf);
        buf = grown;
        cap *= 2;
    }
    if (!buf)
        err_set(e, "cannot read '%s': out of memory", path);
    else if (ferror(f))
        err_errno(e, errno, "cannot read '%s'", path);
    else if (n == cap)
        err_set(e, "cannot read '%s': larger than %d MB", path, PLOT_MAX_INPUT >> 20);
    else
        rc = 0;
    if (f != stdin)
        fclose(f);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *text = buf;
    *len = n;
    return 0;
}
