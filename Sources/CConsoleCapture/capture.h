// SPDX-License-Identifier: Apache-2.0
// What the capture process (reader.c), the writer process (writer.c) and
// the start (start.c) share. Everything here runs after `fork` in a child
// of a possibly multi-threaded process: async-signal-safe calls only, no
// allocation, every buffer mapped by the parent before the fork.
#ifndef RUNLOG_CONSOLE_CAPTURE_H
#define RUNLOG_CONSOLE_CAPTURE_H
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

// Bytes of one read of a pipe.
#define RLC_READ_MAX (256u << 10)
// Bytes of frame content, at most; a record's text is held to leave room for its fields.
#define RLC_FRAME_CONTENT (1u << 20)
#define RLC_TEXT_MAX (RLC_FRAME_CONTENT - 64u)
// Bytes of a line held before it is recorded as a partial line (as ConsoleLineFolder.partialMax).
#define RLC_PARTIAL_MAX (1u << 20)
// A partial line's buffer: the line held plus what one read adds to it (3 bytes per byte at worst).
#define RLC_PENDING_CAP (RLC_PARTIAL_MAX + 3u * RLC_READ_MAX + 16u)
// Records waiting for the writer in the capture process; beyond it, text is dropped.
#define RLC_OUTBOX_CAP (1u << 20)
// The writer's input buffer: at least one whole message.
#define RLC_INBOX_CAP (RLC_FRAME_CONTENT + (64u << 10))
// The pipes' kernel buffers (Linux allows 1 MiB without privileges).
#define RLC_PIPE_BYTES (1 << 20)

// Times, in nanoseconds of CLOCK_MONOTONIC.
#define RLC_HOLD_NS 100000000LL          // text waits this long for more of its stream to record together
#define RLC_PARTIAL_AFTER_NS 1000000000LL // a partial line waits this long before it is recorded
#define RLC_BAR_AFTER_NS 10000000000LL    // a progress bar (a line with `\r`) waits this long
#define RLC_FRAME_WAIT_NS 250000000LL     // records wait this long for more to share their frame
#define RLC_SYNC_AFTER_NS 500000000LL     // a frame is synced this long after it is written, at the latest
#define RLC_READ_PAUSE_NS 10000000LL      // after a short read, the pipe fills this long

// A message from the capture process to the writer: this header, then `length` bytes of UTF-8 text.
struct rlc_message {
    uint32_t length;
    uint8_t stream;  // 1 stdout, 2 stderr
    uint8_t urgent;  // write and sync at once (SIGTERM)
    uint8_t unused[2];
    int64_t time_us;  // wall clock, when the text was read
    uint64_t dropped;  // bytes of the stream dropped just before the text
};

// The memory of both processes, mapped by the parent before the fork.
struct rlc_arena {
    uint8_t *read_buffer;   // RLC_READ_MAX
    uint8_t *valid_buffer;  // 3 * RLC_READ_MAX + 16: a read made valid UTF-8
    uint8_t *pending[2];    // RLC_PENDING_CAP each: the partial line of each stream
    uint8_t *held;          // RLC_TEXT_MAX: text being gathered into one record
    uint8_t *outbox;        // RLC_OUTBOX_CAP
    uint8_t *inbox;         // RLC_INBOX_CAP (writer)
    uint8_t *content;       // RLC_FRAME_CONTENT (writer)
    uint8_t *payload;       // zstd's bound for RLC_FRAME_CONTENT (writer)
    size_t payload_cap;
    void *zstd_workspace;   // (writer)
    size_t zstd_workspace_size;
};

size_t rlc_arena_size(int level, size_t *payload_cap, size_t *zstd_workspace);
void rlc_arena_carve(struct rlc_arena *a, uint8_t *base, size_t payload_cap, size_t zstd_workspace);

// Set by the SIGTERM handler of either process.
extern volatile sig_atomic_t rlc_terminating;

int64_t rlc_monotonic_ns(void);
int64_t rlc_wall_us(void);
void rlc_sleep_ns(int64_t ns);
// Writes all of `len` bytes (retrying on EINTR, waiting on EAGAIN); 0, or -1 when the descriptor fails.
int rlc_write_all(int fd, const uint8_t *data, size_t len);
// Signals of a capture or writer process: defaults, some ignored, SIGTERM counted; none blocked.
void rlc_signals(void);
// Closes every descriptor but the `n` in `keep`.
void rlc_close_except(const int *keep, int n);

// The capture process: never returns.
void rlc_reader_main(struct rlc_arena *a, int out_read, int err_read, int to_writer, pid_t writer) __attribute__((noreturn));
// The writer process: never returns.
void rlc_writer_main(struct rlc_arena *a, int from_reader, int log_fd, int level, unsigned delay_ms) __attribute__((noreturn));

// UTF-8 (utf8.c). Makes `len` bytes valid UTF-8 into `out` (room for 3 * (len + 3) bytes):
// invalid sequences become U+FFFD (one per maximal subpart, as Python's and Swift's decoders);
// an incomplete character at the end is kept in `carry` (up to 3 bytes) for the next call,
// or with `final` replaced. Returns the bytes written to `out`.
struct rlc_utf8_carry {
    uint8_t bytes[4];
    uint8_t count;
};
size_t rlc_utf8_valid(struct rlc_utf8_carry *carry, const uint8_t *in, size_t len, int final, uint8_t *out);
// The length of the longest prefix of valid UTF-8 `text` that is at most `max` bytes and ends between characters.
size_t rlc_utf8_cut(const uint8_t *text, size_t len, size_t max);

#endif
