/* test_prometheus.c - the Prometheus text exposition (cluster/prometheus.c): escaping, one HELP
 * and TYPE per family across merged sets, the METRICS frame's codec, GET /metrics routing. */
#include "cluster/cluster.h"
#include "test.h"

static void check_has(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        rill_test_fail(__FILE__, __LINE__, "expected %s in:\n%s", needle, text);
}

static int count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

TEST(prom_escapes_labels_and_formats_values)
{
    rill__prom_set *a = rill__prom_set_new(), *b = rill__prom_set_new();
    const char *l1[] = {"job", "say \"hi\"\\\nbye", "subtask", "0", NULL};
    const char *l2[] = {"job", "j", "subtask", "1", NULL};
    rill__prom_set_add(a, "rill_taskmanager_x", "An x.", l1, 42);
    rill__prom_set_add(a, "rill_taskmanager_y", "A y.", NULL, 0.25);
    rill__prom_set_add(b, "rill_taskmanager_x", "An x.", l2, -9223372036854775807.0 - 1);
    rill__prom_set_add(b, "rill_taskmanager_z", "A z.", NULL, 1.0 / 0.0);
    rill__prom_set *sets[] = {a, NULL, b};
    rill__buf out = {0};
    rill__prom_write_sets(&out, sets, 3);
    const char *t = rill__buf_cstr(&out);
    check_has(t, "# HELP rill_taskmanager_x An x.\n# TYPE rill_taskmanager_x gauge\n"
                 "rill_taskmanager_x{job=\"say \\\"hi\\\"\\\\\\nbye\",subtask=\"0\"} 42\n"
                 "rill_taskmanager_x{job=\"j\",subtask=\"1\"} -9.2233720368547758e+18\n");
    check_has(t, "rill_taskmanager_y 0.25\n");
    check_has(t, "rill_taskmanager_z +Inf\n");
    CHECK_EQ(count(t, "# TYPE rill_taskmanager_x gauge"), 1); /* merged: one family */
    CHECK_EQ(count(t, "# TYPE"), 3);
    rill__buf_free(&out);
    rill__prom_set_free(a);
    rill__prom_set_free(b);
}

TEST(prom_set_codec_round_trip_and_refusals)
{
    rill__prom_set *a = rill__prom_set_new();
    const char *l[] = {"job", "j\n", "tm_id", "tm-1", NULL};
    rill__prom_set_add(a, "rill_taskmanager_x", "An x.", l, 7.5);
    rill__prom_set_add(a, "rill_taskmanager_x", "An x.", NULL, 8);
    rill__buf enc = {0};
    CHECK_RC(rill__prom_set_encode(a, 1 << 20, &enc));
    rill__prom_set *back = NULL;
    rill__err err = {0};
    CHECK_RC(rill__prom_set_decode(enc.data, enc.len, &back, &err));
    rill__buf t1 = {0}, t2 = {0};
    rill__prom_write_sets(&t1, &a, 1);
    rill__prom_write_sets(&t2, &back, 1);
    CHECK_STR(rill__buf_cstr(&t1), rill__buf_cstr(&t2));
    rill__prom_set_free(back);
    /* every truncation is refused cleanly */
    for (size_t n = 0; n < enc.len; n++) {
        back = NULL;
        memset(&err, 0, sizeof err);
        CHECK(rill__prom_set_decode(enc.data, n, &back, &err) < 0);
        CHECK(back == NULL);
    }
    /* a family that is not a TaskManager's, or a bad name, is refused */
    rill__prom_set *bad = rill__prom_set_new();
    rill__prom_set_add(bad, "rill_jobmanager_job_uptime", "clash", NULL, 1);
    rill__buf e2 = {0};
    CHECK_RC(rill__prom_set_encode(bad, 1 << 20, &e2));
    CHECK(rill__prom_set_decode(e2.data, e2.len, &back, &err) < 0);
    rill__prom_set_free(bad);
    bad = rill__prom_set_new();
    rill__prom_set_add(bad, "rill_taskmanager_x y", "space", NULL, 1);
    rill__buf_free(&e2);
    CHECK_RC(rill__prom_set_encode(bad, 1 << 20, &e2));
    CHECK(rill__prom_set_decode(e2.data, e2.len, &back, &err) < 0);
    rill__prom_set_free(bad);
    /* a size cap leaves samples out and says so in the counts */
    rill__buf e3 = {0};
    CHECK_RC(rill__prom_set_encode(a, enc.len - 9, &e3)); /* room for the first sample only */
    CHECK_RC(rill__prom_set_decode(e3.data, e3.len, &back, &err));
    rill__buf t3 = {0};
    rill__prom_write_sets(&t3, &back, 1);
    CHECK_EQ(count(rill__buf_cstr(&t3), "rill_taskmanager_x{"), 1);
    CHECK_EQ(count(rill__buf_cstr(&t3), "rill_taskmanager_x 8"), 0);
    rill__prom_set_free(back);
    rill__buf_free(&e3);
    rill__buf_free(&t3);
    rill__buf_free(&e2);
    rill__buf_free(&t1);
    rill__buf_free(&t2);
    rill__buf_free(&enc);
    rill__prom_set_free(a);
}

TEST(prom_rest_get_metrics)
{
    rill__jobmanager *jm = rill__jm_new();
    unsigned status = 0;
    rill__buf out = {0};
    rill__rest_handle(jm, "GET", "/metrics", NULL, NULL, 0, &status, &out);
    CHECK_EQ(status, 200);
    const char *t = rill__buf_cstr(&out);
    check_has(t, "# TYPE rill_jobmanager_numRegisteredTaskManagers gauge\n"
                 "rill_jobmanager_numRegisteredTaskManagers 0\n");
    check_has(t, "# TYPE rill_taskmanager_job_task_operator_numRecordsIn gauge\n");
    check_has(t, "rill_jobmanager_Status_Process_Memory_RSS ");
    rill__buf_free(&out);
    rill__rest_handle(jm, "POST", "/metrics", NULL, NULL, 0, &status, &out);
    CHECK_EQ(status, 405);
    rill__buf_free(&out);
    rill__jm_free(jm);
}

TEST(prom_taskmanager_listener)
{
    rill__prom_server *s = NULL;
    rill__err err = {0};
    CHECK_RC(rill__prom_server_start(NULL, 0, &s, &err));
    CHECK(rill__prom_server_port(s) > 0);
    rill__prom_server_stop(s);
    CHECK(rill__prom_server_start("0.0.0.0", 0, &s, &err) < 0); /* no secret: loopback only */
    CHECK(s == NULL);
    rill__prom_server_stop(NULL);
}
