/* A small HTTP/1.1 app that shows how a service runs under `baton run`: it takes its
 * sockets by the systemd convention (LISTEN_FDS), reports readiness on NOTIFY_SOCKET,
 * and drains on SIGTERM. Options make it misbehave on purpose for rollback tests.
 *
 * Without LISTEN_FDS it binds $PORT (or --listen HOST:PORT) itself, as an app behind
 * `baton proxy` would; under `baton run --mode reuseport` it binds the first address of
 * $BATON_LISTEN with SO_REUSEPORT, beside the other generations. Every answer carries `X-Version`
 * and the version as its body.
 *
 * Drain: on SIGTERM it stops accepting, answers the next request on each keep-alive
 * connection with `Connection: close` and closes it, closes connections idle for
 * more than --idle-close-ms, and exits when no connection is left.
 *
 * A bad release for deploy tests: --error-percent N answers N of every 100 requests
 * (health checks aside) with 500; --health-status CODE answers GET /health* with CODE. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_LISTEN 16
#define REQ_MAX    8192

struct conn {
    int fd;
    char buf[REQ_MAX];
    size_t len;
    long long last_ms;
    /* a streaming answer (GET /stream?ms=N[&until=PATH]): chunks every 100 ms until the
     * deadline, or until PATH exists (ms is then the hard cap) */
    long long stream_end_ms, stream_next_ms;
    char stream_until[256];
    int closing;
};

static const char *version = "v1";
static int never_ready, ignore_term, fail_at_start;
static long crash_after_ms = -1, ready_delay_ms, slow_ms, idle_close_ms = 2000;
static long error_percent, health_status; /* a bad release: some 500s, a failing /health */
static int draining;
static int nlisten;
static int listen_fds[MAX_LISTEN];
static int epfd;
static struct conn *conns[65536];
static long long served, app_requests; /* app_requests: all but GET /health */
static int max_fd;                     /* highest fd with a connection, to bound the scan */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void die(const char *what)
{
    fprintf(stderr, "httpapp[%d] %s: %s\n", (int)getpid(), what, strerror(errno));
    exit(1);
}

/* sd_notify: one datagram to $NOTIFY_SOCKET ('@' = abstract namespace). */
static void notify(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path)
        return;
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    size_t n = strlen(path);
    if (n >= sizeof(un.sun_path))
        return;
    memcpy(un.sun_path, path, n);
    if (un.sun_path[0] == '@')
        un.sun_path[0] = 0;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    if (sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&un,
               (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) < 0)
        fprintf(stderr, "httpapp[%d] cannot notify '%s': %s\n", (int)getpid(), path,
                strerror(errno));
    close(fd);
}

/* sd_listen_fds: the inherited sockets are fds 3..3+LISTEN_FDS-1 when LISTEN_PID is us. */
static int take_listen_fds(void)
{
    const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
    if (!pid || !fds || atoi(pid) != (int)getpid())
        return 0;
    int n = atoi(fds);
    if (n <= 0 || n > MAX_LISTEN)
        return 0;
    for (int i = 0; i < n; i++) {
        listen_fds[i] = 3 + i;
        fcntl(3 + i, F_SETFD, FD_CLOEXEC);
        fcntl(3 + i, F_SETFL, fcntl(3 + i, F_GETFL) | O_NONBLOCK);
    }
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    return n;
}

static int bind_own(const char *spec)
{
    char host[64] = "127.0.0.1";
    int port;
    const char *colon = strrchr(spec, ':');
    if (colon) {
        snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
        port = atoi(colon + 1);
    } else {
        port = atoi(spec);
    }
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &in.sin_addr) != 1) {
        fprintf(stderr, "httpapp: bad address '%s'\n", spec);
        exit(2);
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (getenv("BATON_LISTEN"))
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&in, sizeof(in)) < 0 || listen(fd, 1024) < 0)
        die("cannot bind");
    listen_fds[0] = fd;
    return 1;
}

static void conn_close(struct conn *c)
{
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    conns[c->fd] = NULL;
    free(c);
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) { /* small answers: wait briefly for room */
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
            continue;
        }
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Answers every complete request in c->buf. Returns -1 when the connection must close. */
static int serve(struct conn *c)
{
    for (;;) {
        char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (!end)
            return c->len >= sizeof(c->buf) ? -1 : 0;
        size_t head = (size_t)(end - c->buf) + 4;
        c->buf[head - 1] = 0;
        int want_close = strcasestr(c->buf, "\r\nconnection: close") != NULL ||
                         strstr(c->buf, "HTTP/1.0") != NULL;
        long stream_ms = 0;
        c->stream_until[0] = 0;
        if (strncmp(c->buf, "GET /stream", 11) == 0) {
            const char *q = strstr(c->buf, "ms=");
            stream_ms = q ? atol(q + 3) : 10000;
            const char *u = strstr(c->buf, "until=");
            size_t n = u ? strcspn(u + 6, "& \r\n") : 0;
            if (n >= sizeof(c->stream_until))
                return -1;
            memcpy(c->stream_until, u ? u + 6 : "", n);
            c->stream_until[n] = 0;
        }
        const char *cl = strcasestr(c->buf, "\r\ncontent-length:");
        size_t body = cl ? (size_t)atol(cl + 17) : 0;
        if (head + body > c->len)
            return 0;
        memmove(c->buf, c->buf + head + body, c->len - head - body);
        c->len -= head + body;
        if (slow_ms > 0) {
            struct timespec ts = {slow_ms / 1000, (slow_ms % 1000) * 1000000};
            nanosleep(&ts, NULL);
        }
        int close_after = want_close || draining;
        char out[512];
        int n;
        served++;
        if (stream_ms > 0) {
            n = snprintf(out, sizeof(out),
                         "HTTP/1.1 200 OK\r\nX-Version: %s\r\nTransfer-Encoding: chunked\r\n"
                         "Connection: close\r\n\r\n",
                         version);
            if (write_all(c->fd, out, (size_t)n) < 0)
                return -1;
            c->stream_end_ms = now_ms() + stream_ms;
            c->stream_next_ms = now_ms();
            c->len = 0;
            return 0;
        }
        int status = 200, health = strncmp(c->buf, "GET /health", 11) == 0;
        if (!health)
            app_requests++;
        if (health && health_status)
            status = (int)health_status;
        else if (!health && error_percent && /* spread evenly: 5 -> every 20th */
                 app_requests * error_percent / 100 != (app_requests - 1) * error_percent / 100)
            status = 500;
        n = snprintf(out, sizeof(out),
                     "HTTP/1.1 %d %s\r\nX-Version: %s\r\nContent-Type: text/plain\r\n"
                     "Content-Length: %zu\r\n%s\r\n%s\n",
                     status, status == 200 ? "OK" : "Failing On Purpose", version,
                     strlen(version) + 1, close_after ? "Connection: close\r\n" : "", version);
        if (write_all(c->fd, out, (size_t)n) < 0 || close_after)
            return -1;
        c->last_ms = now_ms();
    }
}

static void stream_tick(struct conn *c, long long now)
{
    if (now < c->stream_next_ms)
        return;
    char chunk[64];
    if (now >= c->stream_end_ms || (c->stream_until[0] && access(c->stream_until, F_OK) == 0)) {
        write_all(c->fd, "0\r\n\r\n", 5);
        conn_close(c);
        return;
    }
    int n =
        snprintf(chunk, sizeof(chunk), "%x\r\n%s\n\r\n", (unsigned)strlen(version) + 1, version);
    if (write_all(c->fd, chunk, (size_t)n) < 0) {
        conn_close(c);
        return;
    }
    c->stream_next_ms = now + 100;
}

static void start_drain(void)
{
    if (draining)
        return;
    draining = 1;
    for (int i = 0; i < nlisten; i++) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, listen_fds[i], NULL);
        close(listen_fds[i]);
    }
    /* Only now: the master takes STOPPING=1 as "no longer accepting". */
    notify("STOPPING=1");
    fprintf(stderr, "httpapp[%d] %s draining after %lld requests\n", (int)getpid(), version,
            served);
}

static void usage(void)
{
    printf("usage: httpapp [--version V] [--listen HOST:PORT] [--ready-delay MS]\n"
           "               [--never-ready] [--fail-at-start] [--crash-after MS]\n"
           "               [--ignore-term] [--slow MS] [--idle-close-ms MS]\n"
           "               [--error-percent N] [--health-status CODE]\n"
           "Sockets come from LISTEN_FDS (baton run), else $PORT or --listen.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"version", required_argument, 0, 'v'},
                                         {"listen", required_argument, 0, 'l'},
                                         {"ready-delay", required_argument, 0, 'r'},
                                         {"never-ready", no_argument, 0, 'n'},
                                         {"fail-at-start", no_argument, 0, 'f'},
                                         {"crash-after", required_argument, 0, 'c'},
                                         {"ignore-term", no_argument, 0, 'i'},
                                         {"slow", required_argument, 0, 's'},
                                         {"idle-close-ms", required_argument, 0, 'I'},
                                         {"error-percent", required_argument, 0, 'e'},
                                         {"health-status", required_argument, 0, 'H'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *listen_spec = NULL;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'v':
            version = optarg;
            break;
        case 'l':
            listen_spec = optarg;
            break;
        case 'r':
            ready_delay_ms = atol(optarg);
            break;
        case 'n':
            never_ready = 1;
            break;
        case 'f':
            fail_at_start = 1;
            break;
        case 'c':
            crash_after_ms = atol(optarg);
            break;
        case 'i':
            ignore_term = 1;
            break;
        case 's':
            slow_ms = atol(optarg);
            break;
        case 'I':
            idle_close_ms = atol(optarg);
            break;
        case 'e':
            error_percent = atol(optarg);
            break;
        case 'H':
            health_status = atol(optarg);
            break;
        case 'h':
            usage();
            return 0;
        default:
            usage();
            return 2;
        }
    }
    if (fail_at_start) {
        fprintf(stderr, "httpapp[%d] %s: failing at start as asked\n", (int)getpid(), version);
        return 3;
    }
    nlisten = take_listen_fds();
    if (nlisten == 0) {
        const char *port = getenv("PORT"), *shared = getenv("BATON_LISTEN");
        char first[128];
        if (listen_spec)
            nlisten = bind_own(listen_spec);
        else if (shared && sscanf(shared, "%127s", first) == 1)
            nlisten = bind_own(first);
        else if (port)
            nlisten = bind_own(port);
        else {
            fprintf(stderr, "httpapp: no LISTEN_FDS, $PORT or --listen\n");
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (sfd < 0 || epfd < 0)
        die("cannot set up");
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = sfd};
    epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev);
    for (int i = 0; i < nlisten; i++) {
        ev.data.fd = listen_fds[i];
        epoll_ctl(epfd, EPOLL_CTL_ADD, listen_fds[i], &ev);
    }
    long long start = now_ms();
    int ready_sent = 0;
    for (;;) {
        long long now = now_ms();
        if (!ready_sent && !never_ready && now - start >= ready_delay_ms) {
            notify("READY=1");
            ready_sent = 1;
        }
        if (crash_after_ms >= 0 && now - start >= crash_after_ms) {
            fprintf(stderr, "httpapp[%d] %s: crashing as asked\n", (int)getpid(), version);
            abort();
        }
        int left = 0;
        for (int fd = 0; fd <= max_fd; fd++) {
            struct conn *c = conns[fd];
            if (!c)
                continue;
            if (c->stream_end_ms)
                stream_tick(c, now);
            else if (draining && c->len == 0 && now - c->last_ms >= idle_close_ms)
                conn_close(c);
            if (conns[fd])
                left++;
        }
        if (draining && left == 0) {
            fprintf(stderr, "httpapp[%d] %s drained, exiting (%lld requests)\n", (int)getpid(),
                    version, served);
            return 0;
        }
        struct epoll_event evs[64];
        int n = epoll_wait(epfd, evs, 64, 20);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == sfd) {
                struct signalfd_siginfo si;
                while (read(sfd, &si, sizeof(si)) == sizeof(si))
                    if (!ignore_term)
                        start_drain();
                continue;
            }
            int is_listen = 0;
            for (int k = 0; k < nlisten; k++)
                if (fd == listen_fds[k])
                    is_listen = 1;
            if (is_listen) {
                for (;;) {
                    int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (cfd < 0)
                        break;
                    if (cfd >= 65536) {
                        close(cfd);
                        continue;
                    }
                    int one = 1;
                    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    struct conn *c = calloc(1, sizeof(*c));
                    if (!c) {
                        close(cfd);
                        continue;
                    }
                    c->fd = cfd;
                    c->last_ms = now_ms();
                    conns[cfd] = c;
                    if (cfd > max_fd)
                        max_fd = cfd;
                    struct epoll_event cev = {.events = EPOLLIN, .data.fd = cfd};
                    epoll_ctl(epfd, EPOLL_CTL_ADD, cfd, &cev);
                }
                continue;
            }
            struct conn *c = conns[fd];
            if (!c)
                continue;
            ssize_t r = read(fd, c->buf + c->len, sizeof(c->buf) - c->len);
            if (r <= 0) {
                if (r < 0 && (errno == EAGAIN || errno == EINTR))
                    continue;
                conn_close(c);
                continue;
            }
            c->len += (size_t)r;
            c->last_ms = now_ms();
            if (!c->stream_end_ms && serve(c) < 0)
                conn_close(c);
        }
    }
}
