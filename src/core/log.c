/* One log line per call, as text or as a JSON object, written with a single write(2) so
 * lines from the master and its children do not interleave mid-line. */
#include "core/log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"

#define LOG_LINE_MAX 2048

static enum log_level least_level = LOG_INFO;
static enum log_format line_format = LOG_TEXT;
static char role_name[32] = "baton";

static const char *const level_names[] = {"debug", "info", "warn", "error", "ALERT"};
static const char *const format_names[] = {"text", "json"};

void log_setup(enum log_level least, const char *role)
{
    least_level = least;
    if (role)
        snprintf(role_name, sizeof(role_name), "%s", role);
}

int log_level_parse(const char *name, enum log_level *out)
{
    for (int i = LOG_DEBUG; i <= LOG_ERROR; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

void log_set_format(enum log_format format)
{
    line_format = format;
}

enum log_format log_get_format(void)
{
    return line_format;
}

const char *log_format_name(enum log_format format)
{
    return format_names[format == LOG_JSON];
}

int log_format_opt(void *opts, const char *arg, struct err *e)
{
    (void)opts;
    for (int i = LOG_TEXT; i <= LOG_JSON; i++) {
        if (strcmp(arg, format_names[i]) == 0) {
            line_format = (enum log_format)i;
            return 0;
        }
    }
    return err_set(e, "invalid --log-format '%s': expected text or json", arg);
}

/* The length of the valid UTF-8 sequence at s (n bytes left), or 0 if it is not one
 * (overlong forms, surrogates and code points past U+10FFFF are not). */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
    size_t len = s[0] < 0xc2 ? 0 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : s[0] < 0xf5 ? 4 : 0;
    if (len == 0 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
        return 0;
    return len;
}

/* Appends s to buf[*at..cap) as the inside of a JSON string; stops before a piece that
 * would not fit whole. */
static void json_escape(char *buf, size_t cap, size_t *at, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    while (n > 0) {
        char piece[8];
        size_t len = 1, used = 1;
        if (*p == '"' || *p == '\\') {
            len = 2, piece[0] = '\\', piece[1] = (char)*p;
        } else if (*p < 0x20 || *p == 0x7f) {
            len = (size_t)snprintf(piece, sizeof(piece), "\\u%04x", *p);
        } else if (*p < 0x80) {
            piece[0] = (char)*p;
        } else if ((used = utf8_sequence(p, n)) > 0) {
            memcpy(piece, p, used);
            len = used;
        } else {
            len = 3, used = 1;
            memcpy(piece, "\xef\xbf\xbd", 3); /* U+FFFD for a byte that is not UTF-8 */
        }
        if (*at + len >= cap)
            return;
        memcpy(buf + *at, piece, len);
        *at += len;
        p += used;
        n -= used;
    }
}

static size_t format_json(char *buf, size_t cap, const char *time, const char *role, int pid,
                          enum log_level level, const char *event, unsigned generation,
                          const char *msg)
{
    size_t at = 0;
    char gen[16] = "null";
    if (generation > 0)
        snprintf(gen, sizeof(gen), "%u", generation);
    at = (size_t)snprintf(buf, cap, "{\"time\":\"%s\",\"level\":\"%s\",\"role\":\"", time,
                          level_names[level]);
    json_escape(buf, cap - 1, &at, role);
    at += (size_t)snprintf(buf + at, cap - at, "\",\"pid\":%d,\"generation\":%s,\"event\":\"", pid,
                           gen);
    json_escape(buf, cap - 1, &at, event);
    at += (size_t)snprintf(buf + at, cap - at, "\",\"msg\":\"");
    json_escape(buf, cap - 4, &at, msg); /* room for the closing "}\n */
    memcpy(buf + at, "\"}\n", 3);
    return at + 3;
}

size_t log_format_line(char *buf, size_t cap, enum log_format format, int64_t unix_ms,
                       const char *role, int pid, enum log_level level, const char *event,
                       unsigned generation, const char *msg)
{
    char time[CLOCK_UTC_TEXT_MAX];
    clock_utc_text(unix_ms, time, sizeof(time));
    if (format == LOG_JSON)
        return format_json(buf, cap, time, role, pid, level, event, generation, msg);
    int n = snprintf(buf, cap - 1, "%s %s[%d] %s: %s", time, role, pid, level_names[level], msg);
    size_t len = n < 0 ? 0 : (size_t)n;
    if (len > cap - 2)
        len = cap - 2;
    buf[len++] = '\n';
    return len;
}

static void log_line(enum log_level level, const char *event, unsigned generation, const char *fmt,
                     va_list ap)
{
    char msg[1024], line[LOG_LINE_MAX];
    int64_t now = clock_wall_ms();
    if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
        msg[0] = 0;
    size_t len = log_format_line(line, sizeof(line), line_format, now, role_name, (int)getpid(),
                                 level, event, generation, msg);
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (level < least_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_line(level, "message", 0, fmt, ap);
    va_end(ap);
}

void log_event(enum log_level level, const char *event, unsigned generation, const char *fmt, ...)
{
    if (level < least_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_line(level, event, generation, fmt, ap);
    va_end(ap);
}
