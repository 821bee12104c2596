/*
 * control.h - cluster layer: the control protocol's messages (docs/protocol.md section 7), which
 * a TaskManager and its JobManager exchange after the handshake: registration, deployment and
 * the job's life, each with its encoder and its decoder (control.c). cluster.h includes it.
 */
#ifndef RILL_CLUSTER_CONTROL_H
#define RILL_CLUSTER_CONTROL_H

#include "base/net.h"
#include "runtime/runtime.h"

/* ---- control protocol (docs/protocol.md section 7): the messages a TaskManager and its
 * JobManager exchange after the handshake. Frame types 0x01xx; HEARTBEAT is the connection's
 * own (base/net.h). -------------------------------------------------------------------------- */

enum {
    RILL_FT_REGISTER_TM = 0x0101, /* TaskManager -> JobManager: first frame after WELCOME */
    RILL_FT_REGISTERED = 0x0102,  /* JobManager -> TaskManager: the registration is accepted */
    RILL_FT_DISCONNECT = 0x0103,  /* either way: why the sender closes the connection */
};

#define RILL_TM_ID_MAX    64   /* bytes of a TaskManager id: [A-Za-z0-9._-], 1..64 */
#define RILL_HOST_MAX     255  /* bytes of a host name or numeric address */
#define RILL_TM_SLOTS_MAX 1024 /* slots one TaskManager may offer */

typedef enum rill__disconnect {
    RILL_DISCONNECT_PROTOCOL = 1,  /* a malformed, oversized or unexpected frame */
    RILL_DISCONNECT_SHUTDOWN = 2,  /* the sender is going away */
    RILL_DISCONNECT_HEARTBEAT = 3, /* no heartbeat within the timeout */
    RILL_DISCONNECT_REPLACED = 4,  /* the same TaskManager id registered on a newer connection */
    RILL_DISCONNECT_REJECTED = 5,  /* the registration is refused (its text says why) */
} rill__disconnect;
const char *rill__disconnect_name(int reason); /* "protocol", ..., "unknown" */

typedef struct rill__msg_register_tm {
    char tm_id[RILL_TM_ID_MAX + 1];    /* chosen by the TaskManager, kept across reconnects */
    uint32_t slots;                    /* 1..RILL_TM_SLOTS_MAX */
    char data_host[RILL_HOST_MAX + 1]; /* where its data port is reached (not empty) */
    uint16_t data_port;                /* 1..65535 */
} rill__msg_register_tm;

typedef struct rill__msg_registered {
    char tm_id[RILL_TM_ID_MAX + 1]; /* the id it is registered under */
    uint64_t registration;          /* >= 1: this JobManager's number for the registration */
} rill__msg_registered;

typedef struct rill__msg_disconnect {
    uint16_t reason; /* a rill__disconnect */
    char text[RILL_REFUSE_TEXT_MAX + 1];
} rill__msg_disconnect;

/* ---- deployment and the job's life over the control connection (docs/protocol.md 7.4) ----
 * Every message about a job carries its id and the attempt (0 for the first run, +1 per
 * restart): a message of an older attempt is stale and ignored by its receiver. */
enum {
    RILL_FT_JAR_DATA = 0x0104,   /* JobManager -> TaskManager: a piece of a job's shared object */
    RILL_FT_DEPLOY = 0x0105,     /* JobManager -> TaskManager: run these tasks of a job */
    RILL_FT_CANCEL = 0x0106,     /* JobManager -> TaskManager: stop the job's tasks */
    RILL_FT_RELEASE = 0x0107,    /* JobManager -> TaskManager: the attempt is over, free it */
    RILL_FT_TRIGGER = 0x0108,    /* JobManager -> TaskManager: sources emit checkpoint's barrier */
    RILL_FT_ABORT_STOP = 0x0109, /* JobManager -> TaskManager: a stop is withdrawn */
    RILL_FT_COMPLETE = 0x010A,   /* JobManager -> TaskManager: a checkpoint has completed */
    RILL_FT_TASK_STATE = 0x0110, /* TaskManager -> JobManager: a task's state changed */
    RILL_FT_ACK = 0x0111,        /* TaskManager -> JobManager: a task's snapshot is durable */
    RILL_FT_END_OF_DATA = 0x0112, /* TaskManager -> JobManager: a source waits for the final
                                   * checkpoint */
    RILL_FT_RELEASED = 0x0113,   /* TaskManager -> JobManager: the attempt is freed */
    RILL_FT_JOB_FAILED = 0x0114, /* TaskManager -> JobManager: the attempt failed here, not in
                                  * one task (deployment, a data connection) */
    RILL_FT_METRICS = 0x0115,    /* TaskManager -> JobManager: its metrics, with each heartbeat
                                  * (a rill__prom_set, prometheus.c) */
};

#define RILL_JAR_ID_MAX      64        /* bytes of a stored job object's name: [0-9a-f]{32}.so */
#define RILL_JAR_CHUNK_MAX   (512u << 10) /* bytes of one JAR_DATA piece */
#define RILL_JAR_SIZE_MAX    (256u << 20) /* bytes of a job's shared object */
#define RILL_JOB_NAME_MAX    255
#define RILL_DEPLOY_OPTS_MAX 64        /* options of a job (rill run's flags as key/value) */
#define RILL_OPT_KEY_MAX     64
#define RILL_OPT_VALUE_MAX   4096
#define RILL_DEPLOY_ARGS_MAX 256       /* arguments after `--` */
#define RILL_ARG_MAX         4096
#define RILL_DEPLOY_TASKS_MAX 65536
#define RILL_TASK_MSG_MAX    1024      /* bytes of a task's error message on the wire */
#define RILL_CKPT_FILE_MAX   255

typedef struct rill__msg_jar_data {
    char jar_id[RILL_JAR_ID_MAX + 1]; /* the name the JobManager stored it under */
    uint64_t total;                   /* bytes of the whole object, 1..RILL_JAR_SIZE_MAX */
    uint64_t offset;                  /* of this piece; pieces come in order, without gaps */
    uint8_t sha256[RILL_SHA256_LEN];  /* of the whole object: checked after the last piece */
    const uint8_t *data;              /* decoded: borrowed from the payload */
    uint32_t len;                     /* 1..RILL_JAR_CHUNK_MAX, offset + len <= total */
} rill__msg_jar_data;

/* A TaskManager taking part in a deployment: where its data port is. */
typedef struct rill__deploy_tm {
    char tm_id[RILL_TM_ID_MAX + 1];
    char data_host[RILL_HOST_MAX + 1];
    uint16_t data_port;
} rill__deploy_tm;

typedef enum rill__restore_kind {
    RILL_RESTORE_NONE = 0,       /* from the beginning */
    RILL_RESTORE_CHECKPOINT = 1, /* checkpoint restore_id of the job's checkpoint directory */
    RILL_RESTORE_SAVEPOINT = 2,  /* the savepoint the job's options name (from-savepoint) */
} rill__restore_kind;

/* DEPLOY: every TaskManager of the attempt gets the whole placement, and runs the tasks placed
 * on its own id. It builds the job's graph itself: it loads the object, sets the options and
 * calls rill_job with the arguments, as the JobManager did (rill_job must build the same graph
 * every time). Decoded arrays are malloc'd: rill__msg_deploy_free. */
typedef struct rill__msg_deploy {
    uint64_t job_id; /* >= 1 */
    uint32_t attempt;
    char jar_id[RILL_JAR_ID_MAX + 1];
    uint8_t jar_sha256[RILL_SHA256_LEN];
    char job_name[RILL_JOB_NAME_MAX + 1];
    uint32_t n_opts; /* <= RILL_DEPLOY_OPTS_MAX */
    char **opt_keys, **opt_values;
    uint32_t n_args; /* <= RILL_DEPLOY_ARGS_MAX; argv[0] is the object's path on each side */
    char **args;
    uint8_t restore_kind; /* a rill__restore_kind */
    uint64_t restore_id;  /* the checkpoint, for RILL_RESTORE_CHECKPOINT */
    uint32_t n_tms;       /* 1..RILL_TM_SLOTS_MAX */
    rill__deploy_tm *tms;
    uint32_t n_tasks;     /* 1..RILL_DEPLOY_TASKS_MAX: every task of the job's graph */
    uint16_t *tm_of_task; /* per global task index: its TaskManager, an index into tms */
} rill__msg_deploy;

/* CANCEL, RELEASE, RELEASED: the job and attempt only. TRIGGER, ABORT_STOP, COMPLETE: also the
 * checkpoint (and TRIGGER's stop mode). END_OF_DATA: also the task. */
typedef struct rill__msg_job {
    uint64_t job_id; /* >= 1 */
    uint32_t attempt;
    uint64_t ckpt_id; /* TRIGGER, ABORT_STOP, COMPLETE: >= 1 */
    uint8_t stop;     /* TRIGGER: a rill__stop_mode */
    uint8_t savepoint; /* TRIGGER: 0 or 1, a savepoint (canonical snapshots) */
    uint32_t task;    /* END_OF_DATA: < RILL_DEPLOY_TASKS_MAX */
} rill__msg_job;

typedef struct rill__msg_task_state {
    uint64_t job_id;
    uint32_t attempt;
    uint32_t task;
    uint8_t state; /* a rill__task_state, RUNNING..CANCELED */
    int32_t rc;    /* JOB_FAILED: < 0 */
    char msg[RILL_TASK_MSG_MAX + 1];
} rill__msg_task_state; /* also JOB_FAILED (task and state unused: 0) */

typedef struct rill__msg_ack {
    uint64_t job_id;
    uint32_t attempt;
    uint32_t task;
    uint64_t ckpt_id; /* >= 1 */
    int32_t rc;       /* 0, or the failure (< 0) */
    uint64_t bytes;
    uint64_t full_bytes; /* >= bytes */
    int64_t align_ms; /* >= 0 */
    uint8_t has_state; /* 0 or 1: the task has keyed state, its size below */
    rill__state_usage state; /* each >= 0 */
    char file[RILL_CKPT_FILE_MAX + 1];
    char reason[RILL_TASK_MSG_MAX + 1];
} rill__msg_ack;

/* The first frame on a data connection after its handshake (role data), from the TaskManager
 * that connected: the channels of this job attempt between from_tm and to_tm go over it. The
 * TaskManager whose id sorts lower connects to the other. */
enum { RILL_FT_DATA_OPEN = 0x0204 };
typedef struct rill__msg_data_open {
    uint64_t job_id; /* >= 1 */
    uint32_t attempt;
    char from_tm[RILL_TM_ID_MAX + 1], to_tm[RILL_TM_ID_MAX + 1];
} rill__msg_data_open;
int rill__msg_data_open_enc(rill__buf *b, const rill__msg_data_open *m);
int rill__msg_data_open_dec(const void *p, size_t n, rill__msg_data_open *m, rill__err *err);

int rill__msg_jar_data_enc(rill__buf *b, const rill__msg_jar_data *m);
int rill__msg_jar_data_dec(const void *p, size_t n, rill__msg_jar_data *m, rill__err *err);
int rill__msg_deploy_enc(rill__buf *b, const rill__msg_deploy *m);
/* On failure nothing stays allocated. */
int rill__msg_deploy_dec(const void *p, size_t n, rill__msg_deploy *m, rill__err *err);
void rill__msg_deploy_free(rill__msg_deploy *m); /* the decoded arrays; m itself is the caller's */
/* type: which of the job messages (CANCEL, RELEASE, RELEASED, TRIGGER, ABORT_STOP, COMPLETE,
 * END_OF_DATA): it decides the fields. */
int rill__msg_job_enc(rill__buf *b, uint16_t type, const rill__msg_job *m);
int rill__msg_job_dec(uint16_t type, const void *p, size_t n, rill__msg_job *m, rill__err *err);
/* type: TASK_STATE or JOB_FAILED. */
int rill__msg_task_state_enc(rill__buf *b, uint16_t type, const rill__msg_task_state *m);
int rill__msg_task_state_dec(uint16_t type, const void *p, size_t n, rill__msg_task_state *m,
                             rill__err *err);
int rill__msg_ack_enc(rill__buf *b, const rill__msg_ack *m);
int rill__msg_ack_dec(const void *p, size_t n, rill__msg_ack *m, rill__err *err);
/* Is s a name the JobManager generates for a stored job object ([0-9a-f]{32}.so)? */
bool rill__jar_id_ok(const char *s);

/* Is id a valid TaskManager id (1..RILL_TM_ID_MAX bytes of [A-Za-z0-9._-])? */
bool rill__tm_id_ok(const char *id);
/* Encoders append to b: 0 or RILL_ELIMIT. Decoders: 0, or RILL_EPROTO / RILL_ELIMIT with the
 * field and offset in *err (a value out of its range is RILL_EPROTO; trailing bytes too). */
int rill__msg_register_tm_enc(rill__buf *b, const rill__msg_register_tm *m);
int rill__msg_register_tm_dec(const void *p, size_t n, rill__msg_register_tm *m, rill__err *err);
int rill__msg_registered_enc(rill__buf *b, const rill__msg_registered *m);
int rill__msg_registered_dec(const void *p, size_t n, rill__msg_registered *m, rill__err *err);
int rill__msg_disconnect_enc(rill__buf *b, const rill__msg_disconnect *m);
int rill__msg_disconnect_dec(const void *p, size_t n, rill__msg_disconnect *m, rill__err *err);

#endif /* RILL_CLUSTER_CONTROL_H */
