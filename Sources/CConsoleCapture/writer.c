// SPDX-License-Identifier: Apache-2.0
// The writer process: appends the capture process's records to the console
// log as frames (spec/format.md §1, §4.9, §5).
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "runlog_checksums.h"
#include "capture.h"

struct writer {
    struct rlc_arena *a;
    int fd;
    off_t size;  // the end of the last frame written
    int level;
    unsigned delay_ms;
    ZSTD_CCtx *zstd;
    size_t content_len;
    int64_t frame_due;  // when the records gathered are written
    int unsynced;       // a frame is written and not synced yet
    int64_t sync_due;
    int urgent;
    uint64_t in_frame[2];  // text and dropped bytes of each stream in the frame being gathered
    uint64_t lost[2];      // bytes of each stream in frames that could not be written
};

static uint32_t masked_crc(const uint8_t *p, size_t n) {
    uint32_t c = runlog_crc32c(0, p, n);
    return ((c >> 15) | (c << 17)) + 0xA282EAD8u;
}

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static size_t varint_size(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) v >>= 7, n++;
    return n;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v) {
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static void sync_now(struct writer *w) {
    if (!w->unsynced) return;
    fsync(w->fd);  // a failure shows in the next write, which then counts its text as dropped
    w->unsynced = 0;
}

// Appends the records gathered as one frame, with one `writev`, after syncing the frame before it.
static void write_frame(struct writer *w) {
    if (w->content_len == 0) return;
    if (w->delay_ms) rlc_sleep_ns((int64_t)w->delay_ms * 1000000LL);
    sync_now(w);
    const uint8_t *payload = w->a->content;
    size_t payload_len = w->content_len;
    uint8_t codec = 0;
    if (w->zstd != NULL) {
        size_t z = ZSTD_compressCCtx(w->zstd, w->a->payload, w->a->payload_cap, w->a->content, w->content_len, w->level);
        if (!ZSTD_isError(z) && z < w->content_len) {
            payload = w->a->payload;
            payload_len = z;
            codec = 1;
        }
    }
    uint8_t header[24] = {0xD3, 0x52, 0x4C, 0x46};
    put32(header + 4, (uint32_t)payload_len);
    put32(header + 8, (uint32_t)w->content_len);
    header[12] = codec;
    put32(header + 16, masked_crc(header, 16));
    put32(header + 20, masked_crc(payload, payload_len));
    struct iovec iov[2] = {{header, sizeof header}, {(void *)payload, payload_len}};
    ssize_t n;
    do {
        n = writev(w->fd, iov, 2);
    } while (n < 0 && errno == EINTR);
    if (n == (ssize_t)(sizeof header + payload_len)) {
        w->size += n;
        w->unsynced = 1;
        w->sync_due = rlc_monotonic_ns() + RLC_SYNC_AFTER_NS;
    } else {  // a full disk, an I/O error: cut the frame off; its text counts as dropped
        if (n > 0) {  // the part written is cut off, and the file synced before the next write lands there
            int cut = ftruncate(w->fd, w->size);
            (void)cut;  // when it fails, the next frame is written over the part all the same
            w->unsynced = 1;
        }
        lseek(w->fd, w->size, SEEK_SET);
        w->lost[0] += w->in_frame[0];
        w->lost[1] += w->in_frame[1];
    }
    w->content_len = 0;
    w->in_frame[0] = w->in_frame[1] = 0;
}

// Adds one console record (kind 10) to the frame being gathered; writes the frame first when it is full.
static void add_record(struct writer *w, const struct rlc_message *m, const uint8_t *text) {
    int s = m->stream == 2 ? 2 : 1;
    uint64_t dropped = m->dropped + w->lost[s - 1];
    uint64_t zigzag = ((uint64_t)m->time_us << 1) ^ (uint64_t)(m->time_us >> 63);
    size_t body = 2 + (m->time_us ? 1 + varint_size(zigzag) : 0) + (m->length ? 1 + varint_size(m->length) + m->length : 0) +
                  (dropped ? 1 + varint_size(dropped) : 0);
    size_t record = 1 + varint_size(body) + body;
    if (w->content_len + record > RLC_FRAME_CONTENT) write_frame(w);
    if (w->content_len == 0) w->frame_due = rlc_monotonic_ns() + RLC_FRAME_WAIT_NS;
    uint8_t *p = w->a->content + w->content_len;
    *p++ = 10;
    p = put_varint(p, body);
    *p++ = 1 << 3;
    *p++ = (uint8_t)s;
    if (m->time_us) {
        *p++ = 2 << 3;
        p = put_varint(p, zigzag);
    }
    if (m->length) {
        *p++ = 3 << 3 | 2;
        p = put_varint(p, m->length);
        memcpy(p, text, m->length);
        p += m->length;
    }
    if (dropped) {
        *p++ = 4 << 3;
        p = put_varint(p, dropped);
    }
    w->content_len = (size_t)(p - w->a->content);
    w->in_frame[s - 1] += m->length + dropped;
    w->lost[s - 1] = 0;
}

static int timeout_ms(const struct writer *w, int64_t now) {
    int64_t due;
    if (w->content_len > 0) due = w->urgent ? now : w->frame_due;
    else if (w->unsynced) due = w->urgent ? now : w->sync_due;
    else return -1;
    return due <= now ? 0 : (int)((due - now + 999999) / 1000000);
}

void rlc_writer_main(struct rlc_arena *a, int from_reader, int log_fd, int level, unsigned delay_ms) {
    struct writer w;
    memset(&w, 0, sizeof w);
    w.a = a;
    w.fd = log_fd;
    w.level = level;
    w.delay_ms = delay_ms;
    off_t at = lseek(log_fd, 0, SEEK_END);
    w.size = at > 0 ? at : 0;
    if (level > 0 && a->zstd_workspace != NULL) w.zstd = ZSTD_initStaticCCtx(a->zstd_workspace, a->zstd_workspace_size);
    size_t held = 0;  // bytes in the inbox
    int open = 1;
    while (open) {
        if (rlc_terminating) w.urgent = 1;
        struct pollfd p = {from_reader, POLLIN, 0};
        int ready = poll(&p, 1, timeout_ms(&w, rlc_monotonic_ns()));
        if (ready > 0) {
            ssize_t n = read(from_reader, a->inbox + held, RLC_INBOX_CAP - held);
            if (n == 0) open = 0;
            if (n < 0 && errno != EINTR && errno != EAGAIN) open = 0;
            if (n > 0) held += (size_t)n;
            size_t used = 0;
            while (held - used >= sizeof(struct rlc_message)) {
                struct rlc_message m;
                memcpy(&m, a->inbox + used, sizeof m);
                if (m.length > RLC_TEXT_MAX) {  // never from the capture process: stop reading rather than misread
                    open = 0;
                    held = used = 0;
                    break;
                }
                if (held - used < sizeof m + m.length) break;
                if (m.urgent) w.urgent = 1;
                add_record(&w, &m, a->inbox + used + sizeof m);
                used += sizeof m + m.length;
            }
            memmove(a->inbox, a->inbox + used, held - used);
            held -= used;
        }
        int64_t now = rlc_monotonic_ns();
        if (w.content_len > 0 && (now >= w.frame_due || w.urgent)) write_frame(&w);
        if (w.unsynced && (now >= w.sync_due || w.urgent)) sync_now(&w);
    }
    write_frame(&w);
    for (int s = 1; s <= 2; s++) {  // what could not be written, counted in a last record
        if (w.lost[s - 1] == 0) continue;
        struct rlc_message m;
        memset(&m, 0, sizeof m);
        m.stream = (uint8_t)s;
        m.time_us = rlc_wall_us();
        add_record(&w, &m, NULL);
    }
    write_frame(&w);
    sync_now(&w);
    _exit(0);
}
