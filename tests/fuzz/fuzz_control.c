/* fuzz_control.c - libFuzzer target: the control-plane message decoders of the cluster layer
 * (src/cluster/control.c) on arbitrary payloads. The first byte picks the message (frame type);
 * whatever decodes must re-encode to the same bytes, and a DEPLOY that fails to decode leaves
 * nothing allocated (LSan). Links the cluster layer and those below it. With
 * RILL_FUZZ_WRITE_SEEDS=DIR it writes its seed corpus (each job message, a heartbeat) to DIR and
 * exits. */
#include "cluster/cluster.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const uint16_t types[] = {
    RILL_FT_REGISTER_TM, RILL_FT_REGISTERED, RILL_FT_DISCONNECT, RILL_FT_JAR_DATA,
    RILL_FT_DEPLOY,      RILL_FT_CANCEL,     RILL_FT_RELEASE,    RILL_FT_TRIGGER,
    RILL_FT_ABORT_STOP,  RILL_FT_COMPLETE,   RILL_FT_TASK_STATE, RILL_FT_ACK,
    RILL_FT_END_OF_DATA, RILL_FT_RELEASED,   RILL_FT_JOB_FAILED, RILL_FT_DATA_OPEN,
    RILL_FT_HEARTBEAT, /* the connection's own, also on a control connection */
    RILL_FT_METRICS,   /* last: the corpus's first bytes keep their types */
};

/* Decodes p as a kind message; what decodes must re-encode (into b) to the same bytes. */
#define DECODE_SAME(kind, p, n)                                                                    \
    do {                                                                                           \
        rill__msg_##kind m_;                                                                       \
        if (rill__msg_##kind##_dec(p, n, &m_, &err) == 0) {                                        \
            fuzz_require(rill__msg_##kind##_enc(&b, &m_) == 0);                                    \
            fuzz_same(&b, p, n);                                                                   \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint16_t type = types[data[0] % (sizeof types / sizeof types[0])];
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    rill__err err = {0};
    rill__buf b = {0};
    int rc;
    switch (type) {
    case RILL_FT_REGISTER_TM:
        DECODE_SAME(register_tm, p, n);
        break;
    case RILL_FT_REGISTERED:
        DECODE_SAME(registered, p, n);
        break;
    case RILL_FT_DISCONNECT:
        DECODE_SAME(disconnect, p, n);
        break;
    case RILL_FT_JAR_DATA: {
        rill__msg_jar_data m;
        if (rill__msg_jar_data_dec(p, n, &m, &err) == 0) {
            fuzz_require(m.data >= p && m.data + m.len <= p + n);
            fuzz_require(m.len >= 1 && m.offset + m.len <= m.total);
            fuzz_require(rill__msg_jar_data_enc(&b, &m) == 0);
            fuzz_same(&b, p, n);
        }
        break;
    }
    case RILL_FT_DEPLOY: {
        rill__msg_deploy m;
        rc = rill__msg_deploy_dec(p, n, &m, &err);
        if (rc == 0) {
            for (uint32_t i = 0; i < m.n_tasks; i++)
                fuzz_require(m.tm_of_task[i] < m.n_tms);
            fuzz_require(rill__msg_deploy_enc(&b, &m) == 0);
            fuzz_same(&b, p, n);
            rill__msg_deploy_free(&m);
        }
        fuzz_require(!m.opt_keys && !m.opt_values && !m.args && !m.tms && !m.tm_of_task);
        break;
    }
    case RILL_FT_TASK_STATE:
    case RILL_FT_JOB_FAILED: {
        rill__msg_task_state m;
        if (rill__msg_task_state_dec(type, p, n, &m, &err) == 0) {
            fuzz_require(rill__msg_task_state_enc(&b, type, &m) == 0);
            fuzz_same(&b, p, n);
        }
        break;
    }
    case RILL_FT_ACK:
        DECODE_SAME(ack, p, n);
        break;
    case RILL_FT_DATA_OPEN:
        DECODE_SAME(data_open, p, n);
        break;
    case RILL_FT_HEARTBEAT:
        fuzz_message(type, p, n);
        break;
    case RILL_FT_METRICS: { /* decodes to names and labels the exposition can carry */
        rill__prom_set *set = NULL;
        if (rill__prom_set_decode(p, n, &set, &err) == 0) {
            rill__prom_write_sets(&b, &set, 1);
            fuzz_require(memchr(b.data ? b.data : "", '\0', b.len) == NULL);
            rill__buf_free(&b);
            fuzz_require(rill__prom_set_encode(set, RILL_FRAME_CONTROL_MAX, &b) == 0);
            rill__prom_set_free(set);
        }
        break;
    }
    default: { /* the job messages */
        rill__msg_job m;
        if (rill__msg_job_dec(type, p, n, &m, &err) == 0) {
            fuzz_require(rill__msg_job_enc(&b, type, &m) == 0);
            fuzz_same(&b, p, n);
        }
        break;
    }
    }
    rill__buf_free(&b);
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = getenv("RILL_FUZZ_WRITE_SEEDS");
    if (!dir)
        return 0;
    for (size_t i = 0; i < RILL_ARRAY_LEN(types); i++) {
        rill__buf b = {0};
        rill__buf_putc(&b, (char)i);
        rill__msg_job job = {.job_id = 7, .attempt = 1, .ckpt_id = 3, .stop = 0, .task = 2};
        rill__msg_heartbeat hb = {.seq = 1, .sent_ms = 1000};
        int rc;
        if (types[i] == RILL_FT_METRICS) {
            rill__prom_set *set = rill__prom_set_new();
            const char *labels[] = {"job_name", "j", "operator_name", "op \"1\"", NULL};
            rill__prom_set_add(set, "rill_taskmanager_job_task_operator_numRecordsIn", "Rows.",
                               labels, 42);
            rill__prom_set_add(set, "rill_taskmanager_Status_Process_CPU_Time", "Ms.", NULL, 7.5);
            rc = rill__prom_set_encode(set, RILL_FRAME_CONTROL_MAX, &b);
            rill__prom_set_free(set);
        } else {
            rc = types[i] == RILL_FT_HEARTBEAT ? rill__msg_heartbeat_enc(&b, &hb)
                                               : rill__msg_job_enc(&b, types[i], &job);
        }
        char name[32];
        snprintf(name, sizeof name, "type-%04x", types[i]);
        if (rc == 0 && b.len > 1)
            fuzz_seed_file(dir, name, b.data, b.len);
        rill__buf_free(&b);
    }
    exit(0);
}
