// SPDX-License-Identifier: Apache-2.0
// Clocks, writes, signals and descriptors for the capture and writer processes.
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "capture.h"

volatile sig_atomic_t rlc_terminating = 0;

int64_t rlc_monotonic_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int64_t rlc_wall_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

void rlc_sleep_ns(int64_t ns) {
    if (ns <= 0) return;
    struct timespec t = {(time_t)(ns / 1000000000LL), (long)(ns % 1000000000LL)};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
}

int rlc_write_all(int fd, const uint8_t *data, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n > 0) {
            data += n;
            len -= (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {  // a descriptor someone made non-blocking
            struct pollfd p = {fd, POLLOUT, 0};
            poll(&p, 1, 100);
        } else {
            return -1;
        }
    }
    return 0;
}

static void on_sigterm(int sig) {
    (void)sig;
    rlc_terminating = 1;
}

void rlc_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_DFL;  // no handler of the program runs here
    for (int s = 1; s < NSIG; s++) {
        if (s != SIGKILL && s != SIGSTOP) sigaction(s, &sa, NULL);
    }
    sa.sa_handler = SIG_IGN;
    const int ignored[] = {SIGINT, SIGHUP, SIGPIPE, SIGTTOU, SIGTTIN};
    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++) sigaction(ignored[i], &sa, NULL);
    sa.sa_handler = on_sigterm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

static void close_between(unsigned lo, unsigned hi) {
    if (lo > hi) return;
#ifdef SYS_close_range
    if (syscall(SYS_close_range, lo, hi, 0) == 0) return;
#endif
    struct rlimit r;
    unsigned limit = 1u << 16;
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur != RLIM_INFINITY && r.rlim_cur < (1u << 20)) limit = (unsigned)r.rlim_cur;
    for (unsigned fd = lo; fd <= hi && fd < limit; fd++) close((int)fd);
}

void rlc_close_except(const int *keep, int n) {
    int sorted[8];
    int m = 0;
    for (int i = 0; i < n && m < 8; i++) {
        if (keep[i] < 0) continue;
        int j = m++;
        while (j > 0 && sorted[j - 1] > keep[i]) {
            sorted[j] = sorted[j - 1];
            j--;
        }
        sorted[j] = keep[i];
    }
    unsigned from = 0;
    for (int i = 0; i < m; i++) {
        if ((unsigned)sorted[i] > from) close_between(from, (unsigned)sorted[i] - 1);
        from = (unsigned)sorted[i] + 1;
    }
    close_between(from, ~0u);
}

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

size_t rlc_arena_size(int level, size_t *payload_cap, size_t *zstd_workspace) {
    *payload_cap = ZSTD_compressBound(RLC_FRAME_CONTENT);
    *zstd_workspace = 0;
    if (level > 0) {
        size_t any = ZSTD_estimateCCtxSize(level);
        size_t sized = ZSTD_estimateCCtxSize_usingCParams(ZSTD_getCParams(level, RLC_FRAME_CONTENT, 0));
        *zstd_workspace = align64(any > sized ? any : sized);
    }
    return align64(RLC_READ_MAX) + align64(3 * RLC_READ_MAX + 16) + 2 * align64(RLC_PENDING_CAP) + align64(RLC_TEXT_MAX) +
           align64(RLC_OUTBOX_CAP) + align64(RLC_INBOX_CAP) + align64(RLC_FRAME_CONTENT) + align64(*payload_cap) +
           *zstd_workspace;
}

void rlc_arena_carve(struct rlc_arena *a, uint8_t *base, size_t payload_cap, size_t zstd_workspace) {
    uint8_t *p = base;
#define TAKE(field, n) (a->field = p, p += align64(n))
    TAKE(read_buffer, RLC_READ_MAX);
    TAKE(valid_buffer, 3 * RLC_READ_MAX + 16);
    TAKE(pending[0], RLC_PENDING_CAP);
    TAKE(pending[1], RLC_PENDING_CAP);
    TAKE(held, RLC_TEXT_MAX);
    TAKE(outbox, RLC_OUTBOX_CAP);
    TAKE(inbox, RLC_INBOX_CAP);
    TAKE(content, RLC_FRAME_CONTENT);
    TAKE(payload, payload_cap);
#undef TAKE
    a->payload_cap = payload_cap;
    a->zstd_workspace = zstd_workspace ? p : NULL;
    a->zstd_workspace_size = zstd_workspace;
}
