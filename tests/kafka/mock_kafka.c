/*
 * mock_kafka.c - a Kafka cluster for the tests: librdkafka's mock cluster (rdkafka_mock.h) in a
 * process of its own, its brokers listening on loopback. rill and the tests' own client (kcat)
 * connect to it over TCP as they would to a real cluster.
 *
 *   rill-mock-kafka [--brokers N] [--topic NAME:PARTITIONS]...
 *
 * prints "bootstrap HOST:PORT,..." on its first line, then reads commands from stdin, one per
 * line, and answers each with "ok" or "error <why>":
 *
 *   topic NAME PARTITIONS          create a topic (replication: every broker, at most 3)
 *   down BROKER | up BROKER        take a broker (id 1..N) down or bring it back
 *   leader TOPIC PARTITION BROKER  move a partition's leader
 *   errors APIKEY ERROR COUNT      the next COUNT requests of APIKEY fail with ERROR (codes)
 *   rtt BROKER MS                  delay a broker's responses
 *   quit
 *
 * It exits at the end of stdin (its parent gone) or on quit. Limits of the mock (librdkafka
 * 2.0.2), which the tests respect: no filtering of aborted transactions for read_committed
 * consumers, no fencing of a second transactional producer, no transaction timeout, data past
 * about 5 MiB per partition silently dropped, admin calls time out.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static int create_topic(rd_kafka_mock_cluster_t *mc, int brokers, const char *name, int parts)
{
    if (parts < 1 || parts > 1000) {
        printf("error partitions must be 1..1000, not %d\n", parts);
        return -1;
    }
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, name, parts, brokers < 3 ? brokers : 3);
    if (e) {
        printf("error topic %s: %s\n", name, rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

static long num(const char *s, int *bad)
{
    char *end;
    errno = 0;
    long v = strtol(s ? s : "", &end, 10);
    if (!s || !*s || *end || errno)
        *bad = 1;
    return v;
}

/* One command line; prints its answer. 1 for quit. */
static int command(rd_kafka_mock_cluster_t *mc, int brokers, char *line)
{
    char *w[5] = {0};
    int n = 0;
    for (char *save = NULL, *t = strtok_r(line, " \t\r\n", &save); t && n < 5;
         t = strtok_r(NULL, " \t\r\n", &save))
        w[n++] = t;
    if (n == 0)
        return 0;
    int bad = 0;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (!strcmp(w[0], "quit")) {
        printf("ok\n");
        return 1;
    } else if (!strcmp(w[0], "topic") && n == 3) {
        long parts = num(w[2], &bad);
        if (!bad && create_topic(mc, brokers, w[1], (int)parts) != 0)
            return 0;
    } else if ((!strcmp(w[0], "down") || !strcmp(w[0], "up")) && n == 2) {
        long b = num(w[1], &bad);
        if (!bad)
            e = w[0][0] == 'd' ? rd_kafka_mock_broker_set_down(mc, (int32_t)b)
                               : rd_kafka_mock_broker_set_up(mc, (int32_t)b);
    } else if (!strcmp(w[0], "leader") && n == 4) {
        long p = num(w[2], &bad), b = num(w[3], &bad);
        if (!bad)
            e = rd_kafka_mock_partition_set_leader(mc, w[1], (int32_t)p, (int32_t)b);
    } else if (!strcmp(w[0], "errors") && n == 4) {
        long api = num(w[1], &bad), code = num(w[2], &bad), cnt = num(w[3], &bad);
        if (!bad && (cnt < 1 || cnt > 10000))
            bad = 1;
        if (!bad) {
            rd_kafka_resp_err_t *errs = calloc((size_t)cnt, sizeof *errs);
            for (long i = 0; i < cnt; i++)
                errs[i] = (rd_kafka_resp_err_t)code;
            rd_kafka_mock_push_request_errors_array(mc, (int16_t)api, (size_t)cnt, errs);
            free(errs);
        }
    } else if (!strcmp(w[0], "rtt") && n == 3) {
        long b = num(w[1], &bad), ms = num(w[2], &bad);
        if (!bad)
            e = rd_kafka_mock_broker_set_rtt(mc, (int32_t)b, (int)ms);
    } else {
        bad = 1;
    }
    if (bad)
        printf("error bad command (topic NAME N | down B | up B | leader T P B | "
               "errors API CODE N | rtt B MS | quit)\n");
    else if (e)
        printf("error %s\n", rd_kafka_err2str(e));
    else
        printf("ok\n");
    return 0;
}

int main(int argc, char **argv)
{
    int brokers = 3;
    for (int i = 1; i < argc; i++) { /* the broker count first: topics need it */
        if (!strcmp(argv[i], "--brokers") && i + 1 < argc) {
            int bad = 0;
            brokers = (int)num(argv[++i], &bad);
            if (bad || brokers < 1 || brokers > 16) {
                fprintf(stderr, "rill-mock-kafka: --brokers must be 1..16\n");
                return 2;
            }
        }
    }
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "rill-mock-kafka: %s\n", errstr);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) {
        fprintf(stderr, "rill-mock-kafka: cannot start the mock cluster\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        if (!strcmp(argv[i], "--brokers")) {
            i++;
            continue;
        }
        char *colon = strcmp(argv[i], "--topic") == 0 && i + 1 < argc ? strrchr(argv[i + 1], ':')
                                                                      : NULL;
        if (!colon) {
            fprintf(stderr, "usage: rill-mock-kafka [--brokers N] [--topic NAME:PARTITIONS]...\n");
            rc = 2;
            break;
        }
        *colon = '\0';
        int bad = 0;
        long parts = num(colon + 1, &bad);
        if (bad || create_topic(mc, brokers, argv[i + 1], (int)parts) != 0) {
            fprintf(stderr, "rill-mock-kafka: bad --topic %s:%s\n", argv[i + 1], colon + 1);
            rc = 2;
        }
        i++;
    }
    if (rc == 0) {
        printf("bootstrap %s\n", rd_kafka_mock_cluster_bootstraps(mc));
        char line[1024];
        while (fgets(line, sizeof line, stdin))
            if (command(mc, brokers, line))
                break;
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return rc;
}
