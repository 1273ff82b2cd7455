/* Unit tests of HAProxy reply parsing (deploy/hapx.c), on replies captured from
 * HAProxy 2.6: `show stat`, `show servers conn`, `set server`, and broken ones. */
#include "unit.h"

#include <string.h>

#include "deploy/hapx.h"

/* Captured from HAProxy 2.6.12 (`show stat app 4 -1`): s1 drained after 40 requests of
 * which 4 answered 500, s2 without health checks, s3 down. */
static const char stat_reply[] =
    "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,"
    "wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttl"
    "e,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_"
    "1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_to"
    "t,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,"
    "ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_ris"
    "e,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_"
    "rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache"
    "_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_"
    "conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,a"
    "gg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_"
    "rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors"
    ",h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,"
    "h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,h1_open_connection"
    "s,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spli"
    "ced_bytes_in,h1_spliced_bytes_out,\n"
    "app,s1,0,0,0,1,,40,3280,3464,,0,,0,0,0,0,DRAIN,1,1,0,2,0,0,0,,1,3,1,,40,,2,0,,4,L7OK,200"
    ",14,0,36,0,0,4,0,,,,40,0,0,,,,,5,,,0,1,15,19,,,,Layer7 check passed,,2,3,4,,,,127.0.0.1:"
    "18181,,http,,,,,,,,0,40,0,,,1,,0,1,316,316,0,1,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n"
    "app,s2,0,0,0,1,,40,3280,3400,,0,,0,0,0,0,no check,1,1,0,,,22,,,1,3,2,,40,,2,0,,4,,,,0,40"
    ",0,0,0,0,,,,40,0,0,,,,,5,,,0,1,3,9,,,,,,,,,,,,127.0.0.1:18182,,http,,,,,,,,0,40,0,,,1,,0"
    ",1,27,83,0,1,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n"
    "app,s3,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN,1,1,0,1,1,22,22,,1,3,3,,0,,2,0,,0,L4CON,,0,0,0,0,"
    "0,0,0,,,,0,0,0,,,,,-1,Connection refused,,0,0,0,0,,,,Layer4 connection problem,,2,3,0,,,"
    ",127.0.0.1:18183,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,"
    ",,,,,\n"
    "\n";

static const char conn_reply[] =
    "# bkname/svname bkid/svid addr port - purge_delay used_cur used_max need_est unsafe_nb "
    "safe_nb idle_lim idle_cur idle_per_thr[2]\n"
    "app/s1 3/1 127.0.0.1 18081 - 5000 2 1 1 0 0 -1 0 0 0\n"
    "app/s2 3/2 127.0.0.1 18082 - 5000 0 0 0 0 0 -1 0 0 0\n"
    "other/s1 4/1 127.0.0.1 18083 - 5000 7 0 0 0 0 -1 0 0 0\n\n";

static void show_stat(void **state)
{
    struct bal_stats st = {0};
    struct err e = {{0}};
    if (hapx_parse_stat(stat_reply, strlen(stat_reply), "app", &st, &e) < 0)
        fail_msg("%s", e.msg);
    assert_int_equal(st.n, 3);
    const struct bal_server *s1 = bal_stats_find(&st, "s1");
    assert_non_null(s1);
    assert_int_equal(s1->found, 1);
    assert_int_equal(s1->up, 0);
    assert_int_equal(s1->drained, 1);
    assert_int_equal(s1->cur, 0);
    assert_int_equal(s1->responses, 40);
    assert_int_equal(s1->resp_5xx, 4);
    assert_int_equal(s1->conn_errors, 0);
    assert_int_equal(s1->rtime_ms, 15);
    assert_string_equal(s1->status, "DRAIN");
    const struct bal_server *s2 = bal_stats_find(&st, "s2");
    assert_int_equal(s2->up, 1); /* "no check" counts as up */
    assert_int_equal(s2->drained, 0);
    assert_int_equal(s2->responses, 40);
    const struct bal_server *s3 = bal_stats_find(&st, "s3");
    assert_int_equal(s3->up, 0);
    assert_string_equal(s3->status, "DOWN");
    /* a second endpoint (an HA pair) adds up */
    assert_int_equal(hapx_parse_stat(stat_reply, strlen(stat_reply), "app", &st, &e), 0);
    s1 = bal_stats_find(&st, "s1");
    assert_int_equal(s1->found, 2);
    assert_int_equal(s1->drained, 2);
    assert_int_equal(s1->responses, 80);
    assert_int_equal(s1->resp_5xx, 8);
    bal_stats_free(&st);
    /* another backend's servers are not read */
    assert_int_equal(hapx_parse_stat(stat_reply, strlen(stat_reply), "other", &st, &e), 0);
    assert_int_equal(st.n, 0);
    bal_stats_free(&st);
}

static void servers_conn(void **state)
{
    struct bal_stats st = {0};
    struct err e = {{0}};
    assert_int_equal(hapx_parse_servers_conn(conn_reply, strlen(conn_reply), "app", &st, &e), 0);
    assert_int_equal(st.n, 2);
    assert_int_equal(bal_stats_find(&st, "s1")->cur, 2);
    assert_int_equal(bal_stats_find(&st, "s2")->cur, 0);
    assert_null(bal_stats_find(&st, "other"));
    bal_stats_free(&st);
}

static void expect_stat_error(const char *reply, const char *want)
{
    struct bal_stats st = {0};
    struct err e = {{0}};
    assert_int_equal(hapx_parse_stat(reply, strlen(reply), "app", &st, &e), -1);
    if (strcmp(e.msg, want) != 0)
        fail_msg("got '%s', want '%s'", e.msg, want);
    bal_stats_free(&st);
}

static void broken_replies(void **state)
{
    expect_stat_error("\nNo such proxy.\n\n", "'show stat app' answered 'No such proxy.'");
    expect_stat_error("No such proxy.\n\n", "'show stat app' answered 'No such proxy.'");
    expect_stat_error("", "'show stat app' answered ''");
    expect_stat_error("Permission denied\n", "'show stat app' answered 'Permission denied'");
    expect_stat_error("# pxname,svname,status\napp,s1,UP\n", "'show stat' has no column 'qcur'");
    expect_stat_error("# pxname,svname,qcur,scur,econ,eresp,status,hrsp_5xx\napp,s1,0,0,0,0,UP\n",
                      "'show stat': a row of 7 fields under a header of 8");
    expect_stat_error("# pxname,svname,qcur,scur,econ,eresp,status,hrsp_5xx\n"
                      "app,s1,0,-3,0,0,UP,0\n",
                      "'show stat': server 's1': scur is not a number: '-3'");
    expect_stat_error("# pxname,svname,qcur,scur,econ,eresp,status,hrsp_5xx\n"
                      "app,s1,0,1x,0,0,UP,0\n",
                      "'show stat': server 's1': scur is not a number: '1x'");
    expect_stat_error("# pxname,svname,qcur,scur,econ,eresp,status,hrsp_5xx\n"
                      "app,\"s1,0,0,0,0,UP,0\n",
                      "'show stat': a row of -1 fields under a header of 8");
    struct bal_stats st = {0};
    struct err e = {{0}};
    static const char bad_conn[] = "# bkname/svname used_cur\napp/s1\n";
    assert_int_equal(hapx_parse_servers_conn(bad_conn, strlen(bad_conn), "app", &st, &e), -1);
    assert_string_equal(e.msg, "'show servers conn': malformed row 'app/s1'");
    static const char unknown[] = "Can't find backend.\n";
    assert_int_equal(hapx_parse_servers_conn(unknown, strlen(unknown), "app", &st, &e), -1);
    assert_string_equal(e.msg, "'show servers conn app' answered 'Can't find backend.'");
    bal_stats_free(&st);
}

static void set_server_replies(void **state)
{
    struct err e = {{0}};
    assert_int_equal(hapx_parse_set_reply("\n", 1, &e), 0);
    assert_int_equal(hapx_parse_set_reply("", 0, &e), 0);
    assert_int_equal(hapx_parse_set_reply("No such server.\n\n", 17, &e), -1);
    assert_string_equal(e.msg, "No such server.");
    assert_int_equal(hapx_parse_set_reply("\nNo such backend.\n", 18, &e), -1);
    assert_string_equal(e.msg, "No such backend.");
}

UNIT_MAIN("deploy_haproxy", NULL, NULL, cmocka_unit_test(show_stat), cmocka_unit_test(servers_conn),
          cmocka_unit_test(broken_replies), cmocka_unit_test(set_server_replies))
