// SPDX-License-Identifier: Apache-2.0
// An LD_PRELOAD shim that makes one file-system call fail, for fault-injection
// tests (tools/faultinject/README.md). Only calls on paths under $FAULT_ROOT
// count, and only in the first process that loads the shim (a child it
// starts inherits the variables but stays passive). The environment says
// which call fails and how:
//
//   FAULT_ROOT=/abs/dir   calls on files under this directory are counted
//   FAULT_CALL=write      open, write, fsync, rename, link, unlink, truncate or mkdir
//                         (write: write, pwrite, writev, pwritev; fsync: fsync, fdatasync)
//   FAULT_N=3             the 3rd such call fails (0: only count)
//   FAULT_ERR=EIO         EIO, ENOSPC, EINTR, or SHORT (the write writes half its bytes)
//   FAULT_LOG=/abs/file   receives "count CALL N" lines at exit, and
//                         "injected CALL N ERR PATH" when the fault is made
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum call { C_OPEN, C_WRITE, C_FSYNC, C_RENAME, C_LINK, C_UNLINK, C_TRUNCATE, C_MKDIR, C_COUNT };
static const char *const names[C_COUNT] = {"open", "write", "fsync", "rename", "link", "unlink", "truncate", "mkdir"};

static char root[4096];
static size_t root_len;
static int active;
static int target = -1;
static long target_n;
static int fault_errno;
static int fault_short;
static char log_path[4096];
static long counts[C_COUNT];

static void log_line(const char *line) {
    if (!log_path[0]) return;
    int fd = (int)syscall(SYS_openat, AT_FDCWD, log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return;
    (void)syscall(SYS_write, fd, line, strlen(line));
    (void)syscall(SYS_close, fd);
}

__attribute__((constructor)) static void setup(void) {
    const char *r = getenv("FAULT_ROOT");
    if (!r || !*r || strlen(r) >= sizeof root) return;
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    const char *owner = getenv("FAULT_OWNER");
    if (owner && strcmp(owner, pid) != 0) return;  // a child of the process under test
    setenv("FAULT_OWNER", pid, 1);
    strcpy(root, r);
    root_len = strlen(root);
    while (root_len > 1 && root[root_len - 1] == '/') root[--root_len] = 0;
    const char *c = getenv("FAULT_CALL");
    for (int i = 0; c && i < C_COUNT; i++)
        if (strcmp(c, names[i]) == 0) target = i;
    const char *n = getenv("FAULT_N");
    target_n = n ? atol(n) : 0;
    const char *e = getenv("FAULT_ERR");
    if (e && strcmp(e, "EIO") == 0) fault_errno = EIO;
    else if (e && strcmp(e, "ENOSPC") == 0) fault_errno = ENOSPC;
    else if (e && strcmp(e, "EINTR") == 0) fault_errno = EINTR;
    else if (e && strcmp(e, "SHORT") == 0) fault_short = 1;
    const char *l = getenv("FAULT_LOG");
    if (l && strlen(l) < sizeof log_path) strcpy(log_path, l);
    active = 1;
}

__attribute__((destructor)) static void report(void) {
    if (!active) return;
    for (int i = 0; i < C_COUNT; i++) {
        char line[128];
        snprintf(line, sizeof line, "count %s %ld\n", names[i], __atomic_load_n(&counts[i], __ATOMIC_SEQ_CST));
        log_line(line);
    }
}

static int under_root(const char *path) {
    return strncmp(path, root, root_len) == 0 && (path[root_len] == '/' || path[root_len] == 0);
}

static int path_under(int dirfd, const char *path) {
    if (!active || !path) return 0;
    if (path[0] == '/') return under_root(path);
    char base[4096], full[8192];
    if (dirfd == AT_FDCWD) {
        if (!getcwd(base, sizeof base)) return 0;
    } else {
        char link[64];
        snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
        ssize_t n = readlink(link, base, sizeof base - 1);
        if (n < 0) return 0;
        base[n] = 0;
    }
    snprintf(full, sizeof full, "%s/%s", base, path);
    return under_root(full);
}

static int fd_under(int fd, char *out, size_t size) {
    if (!active) return 0;
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, out, size - 1);
    if (n < 0) return 0;
    out[n] = 0;
    return under_root(out);
}

/// Counts a call on a path under the root; returns 1 when this is the call to fail.
static int strike(enum call c, const char *path) {
    long n = __atomic_add_fetch(&counts[c], 1, __ATOMIC_SEQ_CST);
    if ((int)c != target || n != target_n) return 0;
    char line[4300];
    snprintf(line, sizeof line, "injected %s %ld %s %s\n", names[c], n, getenv("FAULT_ERR"), path ? path : "");
    log_line(line);
    return 1;
}

#define REAL(name, type) static type real_##name; if (!real_##name) real_##name = (type)dlsym(RTLD_NEXT, #name)

// --- open -------------------------------------------------------------------

static int open_common(int dirfd, const char *path, int flags, mode_t mode, const char *which) {
    if (path_under(dirfd, path) && strike(C_OPEN, path) && !fault_short) {
        errno = fault_errno;
        return -1;
    }
    typedef int (*openat_t)(int, const char *, int, ...);
    REAL(openat, openat_t);
    (void)which;
    return real_openat(dirfd, path, flags, mode);
}

static mode_t mode_of(int flags, va_list ap) {
    return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...) {
    va_list ap; va_start(ap, flags); mode_t m = mode_of(flags, ap); va_end(ap);
    return open_common(AT_FDCWD, path, flags, m, "open");
}
int open64(const char *path, int flags, ...) {
    va_list ap; va_start(ap, flags); mode_t m = mode_of(flags, ap); va_end(ap);
    return open_common(AT_FDCWD, path, flags, m, "open64");
}
int openat(int dirfd, const char *path, int flags, ...) {
    va_list ap; va_start(ap, flags); mode_t m = mode_of(flags, ap); va_end(ap);
    return open_common(dirfd, path, flags, m, "openat");
}
int openat64(int dirfd, const char *path, int flags, ...) {
    va_list ap; va_start(ap, flags); mode_t m = mode_of(flags, ap); va_end(ap);
    return open_common(dirfd, path, flags, m, "openat64");
}
int __open_2(const char *path, int flags) { return open_common(AT_FDCWD, path, flags, 0, "__open_2"); }
int __open64_2(const char *path, int flags) { return open_common(AT_FDCWD, path, flags, 0, "__open64_2"); }
int __openat_2(int dirfd, const char *path, int flags) { return open_common(dirfd, path, flags, 0, "__openat_2"); }
int __openat64_2(int dirfd, const char *path, int flags) { return open_common(dirfd, path, flags, 0, "__openat64_2"); }
int creat(const char *path, mode_t mode) { return open_common(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode, "creat"); }
int creat64(const char *path, mode_t mode) { return open_common(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode, "creat64"); }

// --- write ------------------------------------------------------------------

/// For a write of `count` bytes on fd: -2 to go ahead unchanged, -1 to fail
/// (errno set), or the smaller count to write instead.
static ssize_t write_fault(int fd, size_t count) {
    char path[4096];
    if (!fd_under(fd, path, sizeof path) || !strike(C_WRITE, path)) return -2;
    if (fault_short) return count > 1 ? (ssize_t)(count / 2) : -2;
    errno = fault_errno;
    return -1;
}

ssize_t write(int fd, const void *buf, size_t count) {
    typedef ssize_t (*write_t)(int, const void *, size_t);
    REAL(write, write_t);
    ssize_t f = write_fault(fd, count);
    if (f == -1) return -1;
    return real_write(fd, buf, f >= 0 ? (size_t)f : count);
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset) {
    typedef ssize_t (*pwrite_t)(int, const void *, size_t, off_t);
    REAL(pwrite, pwrite_t);
    ssize_t f = write_fault(fd, count);
    if (f == -1) return -1;
    return real_pwrite(fd, buf, f >= 0 ? (size_t)f : count, offset);
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off_t offset) {
    typedef ssize_t (*pwrite_t)(int, const void *, size_t, off_t);
    REAL(pwrite64, pwrite_t);
    ssize_t f = write_fault(fd, count);
    if (f == -1) return -1;
    return real_pwrite64(fd, buf, f >= 0 ? (size_t)f : count, offset);
}

static int shorten(const struct iovec *iov, int n, size_t keep, struct iovec *out) {
    int k = 0;
    for (int i = 0; i < n && keep > 0; i++) {
        out[k] = iov[i];
        if (out[k].iov_len > keep) out[k].iov_len = keep;
        keep -= out[k].iov_len;
        k++;
    }
    return k;
}

static size_t total(const struct iovec *iov, int n) {
    size_t t = 0;
    for (int i = 0; i < n; i++) t += iov[i].iov_len;
    return t;
}

ssize_t writev(int fd, const struct iovec *iov, int n) {
    typedef ssize_t (*writev_t)(int, const struct iovec *, int);
    REAL(writev, writev_t);
    ssize_t f = write_fault(fd, total(iov, n));
    if (f == -1) return -1;
    if (f < 0 || n > 1024) return real_writev(fd, iov, n);
    struct iovec cut[1024];
    return real_writev(fd, cut, shorten(iov, n, (size_t)f, cut));
}

ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t offset) {
    typedef ssize_t (*pwritev_t)(int, const struct iovec *, int, off_t);
    REAL(pwritev, pwritev_t);
    ssize_t f = write_fault(fd, total(iov, n));
    if (f == -1) return -1;
    if (f < 0 || n > 1024) return real_pwritev(fd, iov, n, offset);
    struct iovec cut[1024];
    return real_pwritev(fd, cut, shorten(iov, n, (size_t)f, cut), offset);
}

// --- the rest ---------------------------------------------------------------

static int fd_call(int fd, enum call c) {
    char path[4096];
    if (fd_under(fd, path, sizeof path) && strike(c, path) && !fault_short) {
        errno = fault_errno;
        return 1;
    }
    return 0;
}

static int path_call(int dirfd, const char *path, enum call c) {
    if (path_under(dirfd, path) && strike(c, path) && !fault_short) {
        errno = fault_errno;
        return 1;
    }
    return 0;
}

int fsync(int fd) {
    typedef int (*f_t)(int);
    REAL(fsync, f_t);
    return fd_call(fd, C_FSYNC) ? -1 : real_fsync(fd);
}
int fdatasync(int fd) {
    typedef int (*f_t)(int);
    REAL(fdatasync, f_t);
    return fd_call(fd, C_FSYNC) ? -1 : real_fdatasync(fd);
}
int ftruncate(int fd, off_t length) {
    typedef int (*f_t)(int, off_t);
    REAL(ftruncate, f_t);
    return fd_call(fd, C_TRUNCATE) ? -1 : real_ftruncate(fd, length);
}
int ftruncate64(int fd, off_t length) {
    typedef int (*f_t)(int, off_t);
    REAL(ftruncate64, f_t);
    return fd_call(fd, C_TRUNCATE) ? -1 : real_ftruncate64(fd, length);
}
int rename(const char *a, const char *b) {
    typedef int (*f_t)(const char *, const char *);
    REAL(rename, f_t);
    return (path_call(AT_FDCWD, a, C_RENAME)) ? -1 : real_rename(a, b);
}
int renameat(int da, const char *a, int db, const char *b) {
    typedef int (*f_t)(int, const char *, int, const char *);
    REAL(renameat, f_t);
    return path_call(da, a, C_RENAME) ? -1 : real_renameat(da, a, db, b);
}
int renameat2(int da, const char *a, int db, const char *b, unsigned int flags) {
    typedef int (*f_t)(int, const char *, int, const char *, unsigned int);
    REAL(renameat2, f_t);
    return path_call(da, a, C_RENAME) ? -1 : real_renameat2(da, a, db, b, flags);
}
int link(const char *a, const char *b) {
    typedef int (*f_t)(const char *, const char *);
    REAL(link, f_t);
    return path_call(AT_FDCWD, b, C_LINK) ? -1 : real_link(a, b);
}
int linkat(int da, const char *a, int db, const char *b, int flags) {
    typedef int (*f_t)(int, const char *, int, const char *, int);
    REAL(linkat, f_t);
    return path_call(db, b, C_LINK) ? -1 : real_linkat(da, a, db, b, flags);
}
int unlink(const char *path) {
    typedef int (*f_t)(const char *);
    REAL(unlink, f_t);
    return path_call(AT_FDCWD, path, C_UNLINK) ? -1 : real_unlink(path);
}
int unlinkat(int dirfd, const char *path, int flags) {
    typedef int (*f_t)(int, const char *, int);
    REAL(unlinkat, f_t);
    return path_call(dirfd, path, C_UNLINK) ? -1 : real_unlinkat(dirfd, path, flags);
}
int mkdir(const char *path, mode_t mode) {
    typedef int (*f_t)(const char *, mode_t);
    REAL(mkdir, f_t);
    return path_call(AT_FDCWD, path, C_MKDIR) ? -1 : real_mkdir(path, mode);
}
int mkdirat(int dirfd, const char *path, mode_t mode) {
    typedef int (*f_t)(int, const char *, mode_t);
    REAL(mkdirat, f_t);
    return path_call(dirfd, path, C_MKDIR) ? -1 : real_mkdirat(dirfd, path, mode);
}
