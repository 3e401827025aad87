// SPDX-License-Identifier: Apache-2.0
// Starting the capture: pipes over descriptors 1 and 2, and two processes made by fork.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "capture.h"
#include "runlog_console.h"

// A process made without running the program's fork handlers (glibc 2.34 and later).
static pid_t fork_bare(void) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    return _Fork();
#else
    return fork();
#endif
}

// Descriptor `fd` open (on /dev/null when it was not), so that new descriptors do not take its number.
static int occupy(int fd) {
    if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF) return 0;
    int n = open("/dev/null", O_RDWR);
    if (n < 0) return errno;
    if (n != fd) {
        int ok = dup2(n, fd);
        close(n);
        if (ok < 0) return errno;
    }
    return 0;
}

static void close_all(const int *fds, int n) {
    for (int i = 0; i < n; i++) {
        if (fds[i] >= 0) close(fds[i]);
    }
}

// The capture process: makes the writer and reads the pipes. Never returns.
static void capture_main(uint8_t *base, size_t payload_cap, size_t zstd_workspace, int out_read, int err_read, int log_fd,
                         int level, unsigned delay_ms) {
    rlc_signals();
    setsid();  // a Ctrl-C or a hang-up of the terminal is not for it
    prctl(PR_SET_NAME, "runlog-console", 0, 0, 0);
    const int keep[] = {1, 2, out_read, err_read, log_fd};
    rlc_close_except(keep, 5);  // the write ends, the run's log, its lock: nothing of the program's stays open here
    struct rlc_arena a;
    rlc_arena_carve(&a, base, payload_cap, zstd_workspace);
    int link[2];
    if (pipe(link) != 0) {
        close(log_fd);
        rlc_reader_main(&a, out_read, err_read, -1, -1);  // passes output on, records nothing
    }
    fcntl(link[1], F_SETPIPE_SZ, RLC_PIPE_BYTES);
    pid_t writer = fork_bare();
    if (writer == 0) {
        prctl(PR_SET_NAME, "runlog-consolew", 0, 0, 0);
        const int writer_keep[] = {link[0], log_fd};
        rlc_close_except(writer_keep, 2);
        rlc_writer_main(&a, link[0], log_fd, level, delay_ms);
    }
    close(link[0]);
    close(log_fd);
    if (writer < 0) {
        close(link[1]);
        link[1] = -1;
    } else {
        fcntl(link[1], F_SETFL, fcntl(link[1], F_GETFL) | O_NONBLOCK);
    }
    rlc_reader_main(&a, out_read, err_read, link[1], writer);
}

int runlog_console_start(int log_fd, int level, unsigned write_delay_ms, struct runlog_console_started *started) {
    int e = occupy(1);
    if (e == 0) e = occupy(2);
    if (e != 0) return e;
    size_t payload_cap, zstd_workspace;
    size_t size = rlc_arena_size(level, &payload_cap, &zstd_workspace);
    void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return errno;
    int fds[6] = {-1, -1, -1, -1, -1, -1};  // out pipe, err pipe, saved 1, saved 2
    if (pipe2(fds, O_CLOEXEC) != 0 || pipe2(fds + 2, O_CLOEXEC) != 0 || (fds[4] = fcntl(1, F_DUPFD_CLOEXEC, 3)) < 0 ||
        (fds[5] = fcntl(2, F_DUPFD_CLOEXEC, 3)) < 0) {
        e = errno;
        close_all(fds, 6);
        munmap(base, size);
        return e;
    }
    fcntl(fds[1], F_SETPIPE_SZ, RLC_PIPE_BYTES);  // room for a burst while the capture process waits for a core
    fcntl(fds[3], F_SETPIPE_SZ, RLC_PIPE_BYTES);
    pid_t pid = fork_bare();
    if (pid == 0) capture_main(base, payload_cap, zstd_workspace, fds[0], fds[2], log_fd, level, write_delay_ms);
    if (pid < 0) {
        e = errno;
        close_all(fds, 6);
        munmap(base, size);
        return e;
    }
    munmap(base, size);
    close(fds[0]);
    close(fds[2]);
    dup2(fds[1], 1);
    dup2(fds[3], 2);
    close(fds[1]);
    close(fds[3]);
    started->pid = pid;
    started->saved_out = fds[4];
    started->saved_err = fds[5];
    return 0;
}
