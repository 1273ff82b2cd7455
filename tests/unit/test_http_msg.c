/* Unit tests of the http mode's phase tables and body re-framing: every transition of
 * the exchange table (src/proxy/http_exchange.c) and of both sides' message tables
 * (src/proxy/http_msg.c), and the re-framing from llhttp's callbacks, fed in every split
 * and into a small output buffer. */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "proxy/http_int.h"
#include "proxy/http_head.h"

struct step {
    enum msg_phase from;
    enum msg_event ev;
    int to; /* -1: invalid */
};

/* the transitions of the diagram, side by side; every pair not listed is invalid */
static const struct step request_steps[] = {
    {MP_HEAD, ME_HEAD, MP_BODY},  {MP_HEAD, ME_RESET, MP_HEAD},    {MP_BODY, ME_LAST, MP_TRAILERS},
    {MP_BODY, ME_DONE, MP_DONE},  {MP_TRAILERS, ME_DONE, MP_DONE}, {MP_DONE, ME_TUNNEL, MP_TUNNEL},
    {MP_DONE, ME_RESET, MP_HEAD},
};
static const struct step response_steps[] = {
    {MP_HEAD, ME_HEAD, MP_BODY},  {MP_HEAD, ME_INTERIM, MP_HEAD},  {MP_HEAD, ME_TUNNEL, MP_TUNNEL},
    {MP_HEAD, ME_RESET, MP_HEAD}, {MP_BODY, ME_SPLICE, MP_SPLICE}, {MP_BODY, ME_LAST, MP_TRAILERS},
    {MP_BODY, ME_DONE, MP_DONE},  {MP_SPLICE, ME_DONE, MP_DONE},   {MP_TRAILERS, ME_DONE, MP_DONE},
    {MP_DONE, ME_RESET, MP_HEAD},
};

static int expected(const struct step *steps, size_t n, int phase, int ev)
{
    for (size_t i = 0; i < n; i++)
        if ((int)steps[i].from == phase && (int)steps[i].ev == ev)
            return steps[i].to;
    return -1;
}

static void every_transition(void **state)
{
    for (int side = 0; side < SIDE_N; side++) {
        const struct step *steps = side == SIDE_REQUEST ? request_steps : response_steps;
        size_t n = side == SIDE_REQUEST ? sizeof(request_steps) / sizeof(request_steps[0])
                                        : sizeof(response_steps) / sizeof(response_steps[0]);
        for (int phase = 0; phase < MP_N; phase++)
            for (int ev = 0; ev < ME_N; ev++) {
                int want = expected(steps, n, phase, ev);
                int got = msg_next((enum msg_side)side, (enum msg_phase)phase, (enum msg_event)ev);
                if (got != want)
                    fail_msg("side %d phase %s event %d: got %d, want %d", side,
                             msg_phase_name((enum msg_phase)phase), ev, got, want);
                /* msg_event applies the same table and refuses the invalid pairs */
                struct msg m = {.side = (enum msg_side)side, .phase = (enum msg_phase)phase};
                int rc = msg_event(&m, (enum msg_event)ev);
                assert_int_equal(rc, want < 0 ? -1 : 0);
                assert_int_equal(m.phase, want < 0 ? phase : want);
            }
    }
}

/* the exchange table (http_exchange.c): the transitions of its diagram */
static const struct {
    enum hphase from;
    enum hevent ev;
    enum hphase to;
} exchange_steps[] = {
    {HP_HEAD, EV_ROUTE, HP_CONNECT},      {HP_HEAD, EV_KEEPALIVE, HP_HEAD},
    {HP_HEAD, EV_CLOSE, HP_ENDING},       {HP_HEAD, EV_ERROR, HP_CLOSING},
    {HP_CONNECT, EV_ROUTE, HP_CONNECT},   {HP_CONNECT, EV_BACKEND, HP_EXCHANGE},
    {HP_CONNECT, EV_CLOSE, HP_ENDING},    {HP_CONNECT, EV_ERROR, HP_CLOSING},
    {HP_EXCHANGE, EV_ROUTE, HP_CONNECT},  {HP_EXCHANGE, EV_KEEPALIVE, HP_HEAD},
    {HP_EXCHANGE, EV_UPGRADE, HP_TUNNEL}, {HP_EXCHANGE, EV_CLOSE, HP_ENDING},
    {HP_EXCHANGE, EV_ERROR, HP_CLOSING},  {HP_TUNNEL, EV_CLOSE, HP_ENDING},
    {HP_TUNNEL, EV_ERROR, HP_ENDING},     {HP_ENDING, EV_CLOSE, HP_ENDING},
    {HP_ENDING, EV_ERROR, HP_ENDING},     {HP_CLOSING, EV_CLOSE, HP_CLOSING},
    {HP_CLOSING, EV_ERROR, HP_CLOSING},   {HP_CLOSING, EV_ANSWERED, HP_LINGER},
    {HP_LINGER, EV_CLOSE, HP_LINGER},     {HP_LINGER, EV_ERROR, HP_LINGER},
};

static void exchange_every_transition(void **state)
{
    for (int phase = 0; phase < HP_N; phase++)
        for (int ev = 0; ev < EV_N; ev++) {
            int want = -1;
            for (size_t i = 0; i < sizeof(exchange_steps) / sizeof(exchange_steps[0]); i++)
                if ((int)exchange_steps[i].from == phase && (int)exchange_steps[i].ev == ev)
                    want = (int)exchange_steps[i].to;
            int got = http_next((enum hphase)phase, (enum hevent)ev);
            if (got != want)
                fail_msg("phase %s event %d: got %d, want %d", http_phase_name((enum hphase)phase),
                         ev, got, want);
            /* http_set_phase ends the exchange on a bad pair */
            struct http_state h = {.phase = (enum hphase)phase};
            http_set_phase(&h, (enum hevent)ev);
            assert_int_equal(h.phase, want < 0 ? HP_ENDING : want);
        }
}

static char out_mem[4096], copy_mem[4096];

static void buf_on(struct buf *b, char *mem, size_t cap)
{
    memset(b, 0, sizeof(*b));
    b->data = mem; /* memory of its own: no proxy free list needed */
    b->cap = cap;
}

/* Drives one request through the side as the proxy does, feeding at most `step` bytes
 * at a time and taking the output away whenever it is full. */
static void run_request(const char *in, size_t step, size_t cap, char *got, size_t *got_len)
{
    struct buf out, copy;
    buf_on(&out, out_mem, cap);
    buf_on(&copy, copy_mem, sizeof(copy_mem));
    struct msg m;
    msg_init(&m, SIDE_REQUEST, &out, &copy);
    size_t len = strlen(in), off = 0, head = 0, arrived = 0;
    *got_len = 0;
    const char *why = NULL;
    for (int guard = 0; m.phase != MP_DONE && guard < 100000; guard++) {
        arrived = arrived + step < len ? arrived + step : len; /* like a client's reads */
        long n;
        if (m.phase == MP_HEAD) {
            n = msg_feed(&m, in + off + head, arrived - off - head, &why);
            assert_true(n >= 0);
            head += (size_t)n;
            if (llhttp_get_errno(&m.parser) != HPE_PAUSED)
                continue;
            struct http_head h;
            assert_int_equal(http_head_check(HEAD_REQUEST, in + off, head, &h), 0);
            off += head;
            assert_int_equal(msg_event(&m, ME_HEAD), 0);
            msg_resume(&m);
            assert_true(msg_feed(&m, NULL, 0, &why) == 0);
            continue;
        }
        n = m.phase == MP_BODY ? msg_feed(&m, in + off, arrived - off, &why)
                               : msg_trailers(&m, in + off, arrived - off, 1024);
        assert_true(n >= 0);
        assert_true(out.len <= cap);
        off += (size_t)n;
        if (n == 0 || out.len + 64 > cap) { /* the backend takes what is there */
            memcpy(got + *got_len, out.data + out.off, out.len - out.off);
            *got_len += out.len - out.off;
            out.off = out.len = 0;
        }
    }
    memcpy(got + *got_len, out.data + out.off, out.len - out.off);
    *got_len += out.len - out.off;
    assert_int_equal(m.phase, MP_DONE);
    assert_int_equal(off, len);
    assert_memory_equal(copy.data, got, *got_len); /* the resend copy is the body too */
}

static void rechunks_in_every_split(void **state)
{
    const char *in = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5;ext=\"q\"\r\nhello\r\n0003\r\nabc\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n"
                     "0\r\nX-T: y\r\n\r\n";
    const char *want = "5\r\nhello\r\n3\r\nabc\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n";
    char got[1024];
    size_t n;
    for (size_t step = 1; step <= strlen(in); step++) {
        run_request(in, step, 4096, got, &n);
        assert_int_equal(n, strlen(want));
        assert_memory_equal(got, want, n);
    }
    run_request(in, 7, 40, got, &n); /* a tiny output: the reserve keeps it in bounds */
    assert_memory_equal(got, want, n);
}

static void content_length_body_as_is(void **state)
{
    const char *in = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world";
    char got[64];
    size_t n;
    for (size_t step = 1; step < 20; step++) {
        run_request(in, step, 4096, got, &n);
        assert_int_equal(n, 11);
        assert_memory_equal(got, "hello world", 11);
    }
}

static void refuses_bad_chunks(void **state)
{
    const char *bad[] = {"5 junk\r\nhello\r\n0\r\n\r\n", "5\rhello\r\n0\r\n\r\n",
                         "5\r\nhelloXX0\r\n\r\n",        "5;a\nb\r\nhello\r\n0\r\n\r\n",
                         "5\r\nhello\r\n0\r\n\n",        "5\r\nhello\r\n0\r\nX: y\n\r\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct buf out;
        buf_on(&out, out_mem, sizeof(out_mem));
        struct msg m;
        msg_init(&m, SIDE_REQUEST, &out, NULL);
        char in[256];
        snprintf(in, sizeof(in),
                 "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n%s", bad[i]);
        const char *why = NULL;
        long n = msg_feed(&m, in, strlen(in), &why);
        assert_int_equal(llhttp_get_errno(&m.parser), HPE_PAUSED);
        msg_event(&m, ME_HEAD);
        msg_resume(&m);
        size_t off = (size_t)n;
        long r = msg_feed(&m, in + off, strlen(in) - off, &why);
        if (r >= 0 && m.phase == MP_TRAILERS)
            r = msg_trailers(&m, in + off + (size_t)r, strlen(in) - off - (size_t)r, 1024);
        if (r >= 0 && m.phase == MP_DONE)
            fail_msg("chunked body %zu accepted: %s", i, bad[i]);
    }
}

int main(void)
{
    log_setup((enum log_level)(LOG_ALERT + 1), "test"); /* the invalid pairs are logged */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_transition),        cmocka_unit_test(exchange_every_transition),
        cmocka_unit_test(rechunks_in_every_split), cmocka_unit_test(content_length_body_as_is),
        cmocka_unit_test(refuses_bad_chunks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
