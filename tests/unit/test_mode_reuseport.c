/* Unit tests of --mode reuseport's parts that stand alone: finding a process's
 * listening SO_REUSEPORT sockets by address (supervise/mode_reuseport_socks.c, against
 * real sockets of this process), and, when the test may load BPF (root), the programs
 * of supervise/mode_reuseport_kern.c steering a real reuseport group. */
#include "unit.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/addr.h"
#include "supervise/mode_reuseport_kern.h"
#include "supervise/mode_reuseport_socks.h"

/* A TCP socket on 127.0.0.1:port (0: any), listening when asked, SO_REUSEPORT when asked. */
static int sock(int port, int reuse, int listening, int *bound)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in in = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(in);
    assert_true(fd >= 0);
    if (reuse)
        assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&in, sizeof(in)), 0);
    if (listening)
        assert_int_equal(listen(fd, 16), 0);
    getsockname(fd, (struct sockaddr *)&in, &len);
    if (bound)
        *bound = ntohs(in.sin_port);
    return fd;
}

static void finds_shared_listeners_by_address(void **state)
{
    int port, other;
    int a = sock(0, 1, 1, &port);
    int b = sock(port, 1, 1, NULL);
    int dup_a = dup(a);                /* the same socket twice: found once */
    int plain = sock(0, 0, 1, &other); /* no SO_REUSEPORT */
    int unlistened = sock(port, 1, 0, NULL);
    char spec[64];
    struct addr want;
    struct err e;
    snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
    assert_int_equal(addr_parse(spec, 0, &want, &e), 0);
    int fds[RPS_MAX];
    int n = rps_find(getpid(), &want, fds, RPS_MAX, &e);
    assert_int_equal(n, 2);
    rps_close(fds, n);
    assert_int_equal(fds[0], -1);
    snprintf(spec, sizeof(spec), "127.0.0.1:%d", other);
    assert_int_equal(addr_parse(spec, 0, &want, &e), 0);
    assert_int_equal(rps_find(getpid(), &want, fds, RPS_MAX, &e), 0);
    assert_refused(rps_find(0x3fffffff, &want, fds, RPS_MAX, &e), e.msg,
                   "cannot look at the sockets of worker");
    close(a);
    close(b);
    close(dup_a);
    close(plain);
    close(unlistened);
}

static void compares_addresses(void **state)
{
    struct addr x, y;
    struct err e;
    assert_int_equal(addr_parse("127.0.0.1:8080", 0, &x, &e), 0);
    assert_int_equal(addr_parse("localhost:8080", 0, &y, &e), 0);
    assert_true(rps_same_addr(&x, &y));
    assert_int_equal(addr_parse("127.0.0.1:8081", 0, &y, &e), 0);
    assert_false(rps_same_addr(&x, &y));
    assert_int_equal(addr_parse("[::1]:8080", 0, &y, &e), 0);
    assert_false(rps_same_addr(&x, &y));
    assert_true(rps_same_addr(&y, &y));
}

/* Which of a and b accepts a new connection to port. */
static int accepted_by(int port, int a, int b)
{
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in in = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(c, (struct sockaddr *)&in, sizeof(in)), 0);
    int who = -1;
    for (int i = 0; i < 2 && who < 0; i++) {
        int fd = i ? b : a;
        int got = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (got >= 0) {
            close(got);
            who = fd;
        }
    }
    close(c);
    return who;
}

static void steers_a_group_with_bpf(void **state)
{
    struct rpk *k;
    struct err e;
    if (rpk_open(&k, &e) < 0) {
        print_message("steering not tested: %s\n", e.msg);
        skip();
    }
    int port;
    int a = sock(0, 1, 1, &port);
    int b = sock(port, 1, 1, NULL);
    fcntl(a, F_SETFL, O_NONBLOCK);
    fcntl(b, F_SETFL, O_NONBLOCK);
    assert_int_equal(rpk_attach(k, a, &e), 0);
    assert_int_equal(rpk_serve(k, 0, port, &b, 1, &e), 0);
    for (int i = 0; i < 20; i++)
        assert_int_equal(accepted_by(port, a, b), b);
    assert_int_equal(rpk_serve(k, 0, port, &a, 1, &e), 0);
    for (int i = 0; i < 20; i++)
        assert_int_equal(accepted_by(port, a, b), a);
    int probe;
    close(sock(0, 0, 0, &probe)); /* a port nothing listens on */
    assert_int_equal(rpk_probe_add(k, probe, b, &e), 0);
    assert_int_equal(accepted_by(probe, a, b), b);
    rpk_probe_del(k, probe);
    int both[2] = {a, b}, swapped[2] = {b, a};
    assert_int_equal(rpk_serve(k, 0, port, both, 2, &e), 0);
    assert_int_equal(rpk_serve(k, 0, port, swapped, 2, &e), 0); /* each one moves slot */
    assert_int_equal(rpk_serve(k, 0, port, &b, 1, &e), 0);
    assert_int_equal(accepted_by(port, a, b), b);
    rpk_free(k);
    close(a);
    close(b);
}

UNIT_MAIN("mode_reuseport", NULL, NULL, cmocka_unit_test(finds_shared_listeners_by_address),
          cmocka_unit_test(compares_addresses), cmocka_unit_test(steers_a_group_with_bpf))
