// SPDX-License-Identifier: Apache-2.0
#ifndef RUNLOG_CONSOLE_H
#define RUNLOG_CONSOLE_H
#include <sys/types.h>

/// What `runlog_console_start` gives back to the calling process.
struct runlog_console_started {
    /// The capture process (a child of the caller), to wait for at the end.
    pid_t pid;
    /// Descriptors 1 and 2 as they were before (close-on-exec), to put back at the end.
    int saved_out;
    int saved_err;
};

/// Makes descriptors 1 and 2 of this process pipes that two processes of
/// its own read, and returns at once.
///
/// `log_fd` is a console log (spec/run-directory.md §1) whose header is
/// written and synced, open for writing with its offset at the end of the
/// header; the caller may close it on return. `level` is the zstd level of
/// the frames (0 or less: frames are stored raw). `write_delay_ms` makes the
/// writer sleep that long before each frame (a slow disk, for tests; 0
/// otherwise).
///
/// The processes are made by `fork` without `exec` and run only
/// async-signal-safe code until `_exit`, on memory the caller maps before
/// the fork: no allocation, no lock, no runtime of the calling program.
/// - The capture process (the child returned) reads both pipes, writes the
///   bytes unchanged to where descriptors 1 and 2 went before, turns them
///   into console records (spec/format.md §4.9: a line rewritten with `\r`
///   kept in its final state, a UTF-8 character cut between reads kept
///   whole, bytes that are not UTF-8 as U+FFFD, a record per stream of at
///   most 0.1 s or about 1 MiB of text) and passes them to the writer
///   through a pipe that it never waits for: what does not fit in its 1 MiB
///   outbox is dropped and counted in the stream's next record (`dropped`).
/// - The writer process (its child) appends them in frames of at most 1 MiB
///   (zstd) to the console log, at most 0.25 s after they arrive, and syncs
///   the file before it appends past an unsynced frame and 0.5 s after the
///   last one (spec/format.md §5).
/// Both ignore SIGINT, SIGHUP, SIGPIPE and SIGTTOU and run in a session of
/// their own; SIGTERM makes them write and sync what they hold at once, and
/// go on. When every writer of both pipes is gone (this process and its
/// children, however they ended) the capture process records what it holds,
/// the writer writes and syncs it, and both exit; the capture process exits
/// after the writer.
///
/// Returns 0, or an errno value with nothing changed (no process made, no
/// descriptor changed).
int runlog_console_start(int log_fd, int level, unsigned write_delay_ms, struct runlog_console_started *started);

#endif
