/*
 * crash.c - base layer: a fatal signal (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) raised while a
 * task thread runs a user function is reported on one line naming the job, the operator, its
 * subtask and the signal, and the process exits with RILL_EXIT_USER_CRASH. Any other fatal
 * signal keeps its default outcome (a core dump), or the handler that was there before.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base.h"

_Thread_local const rill__user_site *rill__in_user;
static _Thread_local const char *thread_job; /* the job of this task thread */

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
#define N_FATAL ((int)(sizeof fatal_signals / sizeof fatal_signals[0]))
static struct sigaction old_actions[N_FATAL];
static pthread_once_t install_once = PTHREAD_ONCE_INIT;

/* ---- async-signal-safe formatting: only write(2) and plain loops from here to on_fatal ---- */

typedef struct line {
    char buf[1024];
    size_t n;
} line;

static void put_s(line *l, const char *s)
{
    for (; s && *s && l->n < sizeof l->buf - 1; s++)
        l->buf[l->n++] = *s;
}

static void put_u(line *l, unsigned long long v, unsigned base)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v && n < (int)sizeof tmp);
    while (n > 0 && l->n < sizeof l->buf - 1)
        l->buf[l->n++] = tmp[--n];
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV:
        return "SIGSEGV (invalid memory access)";
    case SIGBUS:
        return "SIGBUS (bus error)";
    case SIGFPE:
        return "SIGFPE (arithmetic error)";
    case SIGILL:
        return "SIGILL (illegal instruction)";
    case SIGABRT:
        return "SIGABRT (abort)";
    default:
        return "a fatal signal";
    }
}

static int slot_of(int sig)
{
    for (int i = 0; i < N_FATAL; i++)
        if (fatal_signals[i] == sig)
            return i;
    return -1;
}

static void on_fatal(int sig, siginfo_t *si, void *uc)
{
    const rill__user_site *site = rill__in_user;
    /* the thread's own doing: a fault, or abort()/raise() on this thread; a signal another
     * process sent (kill -SEGV) is not the user function's, whatever the thread was running */
    bool own = si && (si->si_code > 0 || (si->si_code == SI_TKILL && si->si_pid == getpid()));
    if (site && own) {
        line l = {.n = 0};
        put_s(&l, "rill: job '");
        put_s(&l, thread_job ? thread_job : "?");
        put_s(&l, "': operator '");
        put_s(&l, site->uid);
        put_s(&l, "' (subtask ");
        put_u(&l, (unsigned long long)site->subtask + 1, 10);
        put_s(&l, "/");
        put_u(&l, (unsigned long long)site->parallelism, 10);
        put_s(&l, ") crashed in a user function: ");
        put_s(&l, signal_name(sig));
        if ((sig == SIGSEGV || sig == SIGBUS) && si && si->si_code > 0) {
            put_s(&l, " at address 0x");
            put_u(&l, (unsigned long long)(uintptr_t)si->si_addr, 16);
        }
        put_s(&l, "; the process cannot go on safely and exits with status ");
        put_u(&l, RILL_EXIT_USER_CRASH, 10);
        put_s(&l, "\n");
        ssize_t unused = write(STDERR_FILENO, l.buf, l.n);
        (void)unused;
        _exit(RILL_EXIT_USER_CRASH);
    }
    /* Not in a user function: the outcome the process would have had without us. A fault
     * (si_code > 0) happens again when the handler returns, now under the old disposition,
     * so a core dump shows where it happened; a signal that was sent (abort, kill) is sent
     * again. */
    int slot = slot_of(sig);
    if (slot >= 0)
        sigaction(sig, &old_actions[slot], NULL);
    else
        signal(sig, SIG_DFL);
    if (!si || si->si_code <= 0)
        raise(sig);
    (void)uc;
}

static void install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fatal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < N_FATAL; i++)
        sigaction(fatal_signals[i], &sa, &old_actions[i]);
}

/* The alternate stack must hold the handler's frame and its line buffer even after a stack
 * overflow used up the thread's own stack. */
#define ALT_STACK_SIZE (64 * 1024)

void rill__crash_thread_begin(const char *job, rill__crash_thread *ct)
{
    pthread_once(&install_once, install);
    memset(ct, 0, sizeof *ct);
    thread_job = job;
    size_t size = ALT_STACK_SIZE > (size_t)SIGSTKSZ ? ALT_STACK_SIZE : (size_t)SIGSTKSZ;
    ct->stack = rill__xmalloc(size);
    stack_t ss = {.ss_sp = ct->stack, .ss_size = size, .ss_flags = 0};
    if (sigaltstack(&ss, &ct->old_stack) != 0) {
        free(ct->stack);
        ct->stack = NULL;
    }
}

void rill__crash_thread_end(rill__crash_thread *ct)
{
    thread_job = NULL;
    rill__in_user = NULL;
    if (!ct->stack)
        return;
    sigaltstack(&ct->old_stack, NULL);
    free(ct->stack);
    ct->stack = NULL;
}
