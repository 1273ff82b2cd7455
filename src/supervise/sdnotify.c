/* sd_notify from the master to its own supervisor (see sdnotify.h): one datagram per
 * message on a socket opened once, never blocking (a supervisor that does not read
 * loses messages, the master goes on). */
#include "supervise/sdnotify.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/clock.h"
#include "core/log.h"

#define SDNOTIFY_MSG_MAX 512

static struct {
    int state; /* 0 not read yet, 1 on, -1 off (unset or malformed) */
    int fd;
    struct sockaddr_un addr;
    socklen_t addr_len;
    struct timer watchdog;
    int64_t watchdog_ms;
} sd = {.fd = -1};

int sdnotify_address(const char *value, struct sockaddr_un *un, socklen_t *len, struct err *e)
{
    if (!value || !*value)
        return 0;
    size_t n = strlen(value);
    if ((value[0] != '/' && value[0] != '@') || n < 2 || n > ADDR_UNIX_PATH_MAX)
        return err_set(e,
                       "invalid NOTIFY_SOCKET '%.120s': want an absolute path or @name "
                       "shorter than %zu bytes",
                       value, ADDR_UNIX_PATH_MAX + 1);
    return addr_unix_name(un, len, value, "NOTIFY_SOCKET", e) < 0 ? -1 : 1;
}

int64_t sdnotify_watchdog_ms(const char *usec, const char *pid, pid_t self, struct err *e)
{
    char *end;
    if (!usec || !*usec)
        return 0;
    errno = 0;
    unsigned long long us = strtoull(usec, &end, 10);
    if (*usec < '0' || *usec > '9' || *end || errno || us == 0 || us > 86400ULL * 1000000)
        return err_set(e, "invalid WATCHDOG_USEC '%.40s': want microseconds, 1 to a day", usec);
    if (pid && *pid) {
        long long p = strtoll(pid, &end, 10);
        if (*pid < '1' || *pid > '9' || *end || p <= 0 || p > INT32_MAX)
            return err_set(e, "invalid WATCHDOG_PID '%.40s'", pid);
        if ((pid_t)p != self)
            return 0; /* the watchdog is another process's */
    }
    int64_t ms = (int64_t)(us / 2000);
    return ms > 0 ? ms : 1;
}

size_t sdnotify_format(char *buf, size_t cap, const char *fields, const char *status)
{
    int n = snprintf(buf, cap, "%sSTATUS=%s", fields, status);
    size_t len = n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
    for (size_t i = strlen(fields); i < len; i++)
        if (buf[i] == '\n' || buf[i] == '\r')
            buf[i] = ' ';
    return len;
}

/* Reads the environment once; returns whether messages go anywhere. */
static int sd_on(void)
{
    struct err e;
    if (sd.state != 0)
        return sd.state > 0;
    sd.state = -1;
    int set = sdnotify_address(getenv("NOTIFY_SOCKET"), &sd.addr, &sd.addr_len, &e);
    if (set < 0)
        log_warn("systemd notification off: %s", e.msg);
    if (set <= 0)
        return 0;
    sd.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (sd.fd < 0) {
        log_warn("systemd notification off: cannot make a socket: %s", strerror(errno));
        return 0;
    }
    sd.state = 1;
    return 1;
}

static void send_text(const char *text, size_t len)
{
    if (!sd_on())
        return;
    if (sendto(sd.fd, text, len, MSG_NOSIGNAL, (struct sockaddr *)&sd.addr, sd.addr_len) < 0)
        log_debug("cannot notify '%s': %s", getenv("NOTIFY_SOCKET"), strerror(errno));
}

static void send_fields(const char *fields, const char *fmt, va_list ap)
{
    char status[256], msg[SDNOTIFY_MSG_MAX];
    if (!sd_on())
        return;
    vsnprintf(status, sizeof(status), fmt, ap);
    send_text(msg, sdnotify_format(msg, sizeof(msg), fields, status));
}

#define SEND_WITH(fields)                                                                          \
    do {                                                                                           \
        va_list ap;                                                                                \
        va_start(ap, status);                                                                      \
        send_fields(fields, status, ap);                                                           \
        va_end(ap);                                                                                \
    } while (0)

void sdnotify_ready(const char *status, ...)
{
    SEND_WITH("READY=1\n");
}

void sdnotify_status(const char *status, ...)
{
    SEND_WITH("");
}

void sdnotify_stopping(const char *status, ...)
{
    SEND_WITH("STOPPING=1\n");
}

/* systemd (since 253) wants the moment of the reload on CLOCK_MONOTONIC with it. */
void sdnotify_reloading(const char *status, ...)
{
    char fields[80];
    snprintf(fields, sizeof(fields), "RELOADING=1\nMONOTONIC_USEC=%llu\n",
             (unsigned long long)clock_now_us());
    SEND_WITH(fields);
}

void sdnotify_took_over(const char *status, ...)
{
    char fields[64];
    snprintf(fields, sizeof(fields), "MAINPID=%d\nREADY=1\n", (int)getpid());
    SEND_WITH(fields);
}

static void on_watchdog(struct loop *loop, struct timer *t)
{
    send_text("WATCHDOG=1", 10);
    timer_start(loop, t, (uint64_t)sd.watchdog_ms, on_watchdog, NULL);
}

void sdnotify_start(struct loop *loop)
{
    struct err e;
    if (!sd_on())
        return;
    sd.watchdog_ms =
        sdnotify_watchdog_ms(getenv("WATCHDOG_USEC"), getenv("WATCHDOG_PID"), getpid(), &e);
    if (sd.watchdog_ms < 0)
        log_warn("systemd watchdog off: %s", e.msg);
    if (sd.watchdog_ms > 0)
        on_watchdog(loop, &sd.watchdog);
}
