// SPDX-License-Identifier: Apache-2.0
// The capture process: reads the pipes of descriptors 1 and 2, passes the
// bytes on unchanged, and gives the writer console records' texts
// (spec/format.md §4.9), never waiting for it. The folding of lines is
// ConsoleLineFolder's (RunLayout) and the Python client's LineFolder's.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture.h"

// One stream's line being folded: the line after its last `\r` (trailing `\r`s kept).
struct folder {
    uint8_t *pending;
    size_t len;
    int emitted;    // part of the line is recorded already
    int rewritten;  // rewritten since that part was recorded
    int rewrites;   // the line holds a `\r`: a progress bar
    int64_t since;  // when the line (or its unrecorded part) started; -1: no line
};

struct reader {
    struct rlc_arena *a;
    struct folder folders[2];
    struct rlc_utf8_carry carry[2];
    int tee[2];  // where the bytes go on: descriptors 1 and 2; -1 once they fail
    uint64_t dropped[2];
    int urgent;
    int final;  // the pipes ended: nothing is dropped any more
    // The text being gathered into one record: one stream's, read from `held_time`.
    int held_stream;
    size_t held_len;
    int64_t held_time_us;
    int64_t held_since;
    // Messages for the writer: outbox[out_start, out_end).
    int to_writer;
    size_t out_start, out_end;
};

static void drain(struct reader *r, int wait) {
    while (r->to_writer >= 0 && r->out_start < r->out_end) {
        ssize_t n = write(r->to_writer, r->a->outbox + r->out_start, r->out_end - r->out_start);
        if (n > 0) {
            r->out_start += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait) break;
            struct pollfd p = {r->to_writer, POLLOUT, 0};
            poll(&p, 1, 1000);
        } else {  // the writer is gone: nothing more can be recorded
            close(r->to_writer);
            r->to_writer = -1;
        }
    }
    if (r->out_start == r->out_end) r->out_start = r->out_end = 0;
}

// Queues a record's text for the writer; without `force`, drops it (counted) when the outbox is full.
static void send(struct reader *r, int stream, int64_t time_us, const uint8_t *text, size_t len, int force) {
    force = force || r->final;
    size_t need = sizeof(struct rlc_message) + len;
    if (RLC_OUTBOX_CAP - (r->out_end - r->out_start) < need || r->to_writer < 0) {
        drain(r, 0);
        if (force && r->to_writer >= 0 && RLC_OUTBOX_CAP - (r->out_end - r->out_start) < need) drain(r, 1);
        if (r->to_writer < 0 || RLC_OUTBOX_CAP - (r->out_end - r->out_start) < need) {
            r->dropped[stream - 1] += len;
            return;
        }
    }
    if (RLC_OUTBOX_CAP - r->out_end < need) {
        memmove(r->a->outbox, r->a->outbox + r->out_start, r->out_end - r->out_start);
        r->out_end -= r->out_start;
        r->out_start = 0;
    }
    struct rlc_message m;
    memset(&m, 0, sizeof m);
    m.length = (uint32_t)len;
    m.stream = (uint8_t)stream;
    m.urgent = (uint8_t)(r->urgent || rlc_terminating);
    m.time_us = time_us;
    m.dropped = r->dropped[stream - 1];
    r->dropped[stream - 1] = 0;
    memcpy(r->a->outbox + r->out_end, &m, sizeof m);
    if (len) memcpy(r->a->outbox + r->out_end + sizeof m, text, len);
    r->out_end += need;
    drain(r, 0);
}

static void flush_held(struct reader *r, int force) {
    if (r->held_len == 0) return;
    send(r, r->held_stream, r->held_time_us, r->a->held, r->held_len, force);
    r->held_len = 0;
}

// Adds valid UTF-8 text of `stream` to the record being gathered, in pieces that end between characters.
static void emit(struct reader *r, int stream, const uint8_t *text, size_t len, int64_t now) {
    while (len > 0) {
        if (r->held_len > 0 && r->held_stream != stream) flush_held(r, 0);
        if (r->held_len == 0) {
            r->held_stream = stream;
            r->held_time_us = rlc_wall_us();
            r->held_since = now;
        }
        size_t k = rlc_utf8_cut(text, len, RLC_TEXT_MAX - r->held_len);
        memcpy(r->a->held + r->held_len, text, k);
        r->held_len += k;
        text += k;
        len -= k;
        if (len > 0 || r->held_len + 4 > RLC_TEXT_MAX) flush_held(r, 0);
    }
}

static size_t body_length(const struct folder *f) {
    size_t n = f->len;
    while (n > 0 && f->pending[n - 1] == '\r') n--;
    return n;
}

static void append(struct folder *f, const uint8_t *bytes, size_t len) {
    memcpy(f->pending + f->len, bytes, len);
    f->len += len;
}

static void emit_prefix(struct reader *r, int stream, struct folder *f, int64_t now) {
    if (f->emitted && f->rewritten) emit(r, stream, (const uint8_t *)"\r", 1, now);
}

// Records the partial line as it stands; the line goes on.
static void take_partial(struct reader *r, int stream, int64_t now) {
    struct folder *f = &r->folders[stream - 1];
    size_t body = body_length(f);
    if (body == 0 && !f->rewritten) return;
    emit_prefix(r, stream, f, now);
    emit(r, stream, f->pending, body, now);
    memmove(f->pending, f->pending + body, f->len - body);
    f->len -= body;
    f->emitted = 1;
    f->rewritten = 0;
    f->since = now;
}

// Adds a piece of a line (no `\n`): what follows its last `\r` replaces the line.
static void add(struct folder *f, const uint8_t *seg, size_t len) {
    size_t e = len;
    while (e > 0 && seg[e - 1] == '\r') e--;
    if (e == 0) {  // only `\r`s: one at the end of the line stands for any number
        if (len > 0 && !(f->len > 0 && f->pending[f->len - 1] == '\r')) append(f, seg, 1);
        return;
    }
    const uint8_t *cr = memrchr(seg, '\r', e);
    size_t from = 0;
    if (cr != NULL || (f->len > 0 && f->pending[f->len - 1] == '\r')) {
        from = cr != NULL ? (size_t)(cr - seg) + 1 : 0;
        f->len = 0;
        f->rewrites = 1;
        if (f->emitted) f->rewritten = 1;
    }
    append(f, seg + from, e - from);
    if (e < len) append(f, (const uint8_t *)"\r", 1);  // as for the `\r`s after it
}

static void end_line(struct folder *f) {
    f->len = 0;
    f->emitted = f->rewritten = f->rewrites = 0;
    f->since = -1;
}

// Folds valid UTF-8 `bytes` of `stream`: whole lines are recorded, the partial line is kept.
static void feed(struct reader *r, int stream, const uint8_t *bytes, size_t len, int64_t now) {
    struct folder *f = &r->folders[stream - 1];
    if (len == 0) return;
    if (f->since < 0) f->since = now;
    if (memchr(bytes, '\r', len) == NULL && !(f->len > 0 && f->pending[f->len - 1] == '\r')) {  // plain lines
        const uint8_t *nl = memrchr(bytes, '\n', len);
        if (nl == NULL) {
            append(f, bytes, len);
        } else {
            size_t upto = (size_t)(nl - bytes) + 1;
            emit_prefix(r, stream, f, now);
            emit(r, stream, f->pending, f->len, now);
            emit(r, stream, bytes, upto, now);
            end_line(f);
            append(f, bytes + upto, len - upto);
            if (f->len > 0) f->since = now;
        }
    } else {
        size_t start = 0;
        const uint8_t *nl;
        while ((nl = memchr(bytes + start, '\n', len - start)) != NULL) {
            size_t at = (size_t)(nl - bytes);
            add(f, bytes + start, at - start);
            emit_prefix(r, stream, f, now);
            emit(r, stream, f->pending, body_length(f), now);
            emit(r, stream, (const uint8_t *)"\n", 1, now);
            end_line(f);
            start = at + 1;
        }
        if (start < len) {
            add(f, bytes + start, len - start);
            if (f->since < 0) f->since = now;
        }
    }
    if (f->len > RLC_PARTIAL_MAX) take_partial(r, stream, now);
}

// When the partial line of `stream` is due to be recorded; -1 when it is not waiting.
static int64_t partial_due(const struct reader *r, int stream) {
    const struct folder *f = &r->folders[stream - 1];
    if (f->since < 0 || (body_length(f) == 0 && !f->rewritten)) return -1;
    return f->since + (f->rewrites ? RLC_BAR_AFTER_NS : RLC_PARTIAL_AFTER_NS);
}

static int is_ascii(const uint8_t *p, size_t n) {
    uint8_t any = 0;
    for (size_t i = 0; i < n; i++) any |= p[i];
    return any < 0x80;
}

// What was read from `stream`'s pipe (`len` 0: its end).
static void got(struct reader *r, int stream, const uint8_t *data, size_t len, int64_t now) {
    struct rlc_utf8_carry *carry = &r->carry[stream - 1];
    if (len > 0 && r->tee[stream - 1] >= 0 && rlc_write_all(r->tee[stream - 1], data, len) != 0) {
        r->tee[stream - 1] = -1;  // the terminal went away: go on recording
    }
    if (len > 0 && carry->count == 0 && is_ascii(data, len)) {
        feed(r, stream, data, len, now);
    } else {
        size_t n = rlc_utf8_valid(carry, data, len, len == 0, r->a->valid_buffer);
        feed(r, stream, r->a->valid_buffer, n, now);
    }
}

static int timeout_ms(const struct reader *r, int64_t now) {
    int64_t due = now + 250000000LL;
    if (r->held_len > 0 && r->held_since + RLC_HOLD_NS < due) due = r->held_since + RLC_HOLD_NS;
    for (int s = 1; s <= 2; s++) {
        int64_t p = partial_due(r, s);
        if (p >= 0 && p < due) due = p;
    }
    if (r->urgent) due = now + 50000000LL;
    return due <= now ? 0 : (int)((due - now + 999999) / 1000000);
}

void rlc_reader_main(struct rlc_arena *a, int out_read, int err_read, int to_writer, pid_t writer) {
    struct reader r;
    memset(&r, 0, sizeof r);
    r.a = a;
    for (int s = 0; s < 2; s++) {
        r.folders[s].pending = a->pending[s];
        r.folders[s].since = -1;
        r.tee[s] = s + 1;
    }
    r.to_writer = to_writer;
    struct pollfd p[3] = {{out_read, POLLIN, 0}, {err_read, POLLIN, 0}, {-1, POLLOUT, 0}};
    int open = 2;
    while (open > 0) {
        int64_t now = rlc_monotonic_ns();
        if (rlc_terminating) r.urgent = 1;
        p[2].fd = r.out_start < r.out_end ? r.to_writer : -1;
        int ready = poll(p, 3, timeout_ms(&r, now));
        now = rlc_monotonic_ns();
        int short_reads = 1, reads = 0;
        for (int i = 0; ready > 0 && i < 2; i++) {
            if (p[i].fd < 0 || p[i].revents == 0) continue;
            ssize_t n = read(p[i].fd, a->read_buffer, RLC_READ_MAX);
            if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (n <= 0) {  // every writer of the pipe is gone
                got(&r, i + 1, NULL, 0, now);
                close(p[i].fd);
                p[i].fd = -1;
                open--;
                continue;
            }
            reads++;
            if ((size_t)n >= RLC_READ_MAX / 4) short_reads = 0;
            got(&r, i + 1, a->read_buffer, (size_t)n, now);
        }
        for (int s = 1; s <= 2; s++) {
            int64_t due = partial_due(&r, s);
            if (due >= 0 && (due <= now || r.urgent)) take_partial(&r, s, now);
        }
        if (r.held_len > 0 && (r.held_since + RLC_HOLD_NS <= now || r.urgent)) flush_held(&r, 0);
        drain(&r, 0);
        if (reads > 0 && short_reads && open > 0 && !r.urgent) rlc_sleep_ns(RLC_READ_PAUSE_NS);
    }
    // Both pipes ended: record everything held, whatever the outbox holds.
    int64_t now = rlc_monotonic_ns();
    r.final = 1;
    for (int s = 1; s <= 2; s++) take_partial(&r, s, now);
    flush_held(&r, 1);
    for (int s = 1; s <= 2; s++) {
        if (r.dropped[s - 1] > 0) send(&r, s, rlc_wall_us(), NULL, 0, 1);
    }
    if (r.to_writer >= 0) {
        int flags = fcntl(r.to_writer, F_GETFL);
        if (flags >= 0) fcntl(r.to_writer, F_SETFL, flags & ~O_NONBLOCK);
        drain(&r, 1);
        if (r.to_writer >= 0) close(r.to_writer);
    }
    if (writer > 0) {  // its end: the console log is durable (descriptors 1 and 2 stay open until then)
        while (waitpid(writer, NULL, 0) < 0 && errno == EINTR) {
        }
    }
    _exit(0);
}
