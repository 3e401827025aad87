# SPDX-License-Identifier: Apache-2.0
"""The console helper: a process of its own that reads a training process's
standard output and error from pipes, passes them on unchanged to where they
went before (the terminal, the job's output file), and writes them as console
records to a console log (spec/run-directory.md section 1).

It outlives the training process: when that dies (exit, exception, `kill -9`,
segfault, OOM kill) its pipes reach end-of-file, and the helper writes what
it holds, fsyncs and exits. So the last line printed is kept.

Cheap, so that it rarely competes with the training process for a core:
after a short read it pauses (`READ_PAUSE`) to let the pipe fill, so it
reads in large chunks; text read of one stream in a row is recorded
together (up to `HOLD` seconds or `FRAME_CONTENT` bytes) into frames of
`FRAME_CONTENT` bytes, so a million short lines (25 MB) take a few
hundred reads, a few dozen records and frames and their checksums, and no
Python work per line; ASCII is recorded as read, without decoding it.

Bounded: one thread reads the pipes and never waits for the disk; records
wait for the writer thread in memory up to `max_held` bytes, and text beyond
that is dropped, counted, and recorded as the next record's `dropped`.

    python -m runlog._console_helper PATH RUN_ID ATTEMPT RANK NUMBER OUT_FD ERR_FD TEE_OUT TEE_ERR STATUS_FD
"""

import codecs
import collections
import fcntl
import os
import selectors
import signal
import sys
import threading
import time

from ._console_text import LineFolder
from ._wire import LEN, FieldWriter, varint
from .logfile import FileHeader, LogFileWriter
from .records import CONSOLE, STDERR, STDOUT

WRITER = "runlog-python-console/0.1.0"
MAX_HELD = int(os.environ.get("RUNLOG_CONSOLE_MAX_HELD") or 64 << 20)
# Seconds a partial line waits before it is written: a plain one, a progress bar.
PARTIAL_AFTER, BAR_AFTER = 1.0, 10.0
SYNC_INTERVAL = 2.0
SIGTERM_GRACE = 5.0  # seconds to go on reading after SIGTERM
HOLD = 0.1  # seconds text waits to be recorded together with what follows it
FRAME_CONTENT = 1 << 20  # a frame's content target, and the most text held for one record
READ_PAUSE = 0.01  # seconds to let a pipe fill after a read that took less than a quarter of it


def _now_us():
    return time.time_ns() // 1000


_TEXT_KEY = varint(3 << 3 | LEN)


def console_record(stream, at, text, dropped=0):
    """The encoded console record (spec/format.md section 4.9) of UTF-8
    `text` (bytes): what `records.Console(...).encode()` gives for its
    decoded text, with the text copied once."""
    head = FieldWriter()
    head.uint(1, stream, True)
    head.sint(2, at)
    tail = FieldWriter()
    tail.uint(4, dropped)
    key = (_TEXT_KEY, varint(len(text)), text) if text else ()
    size = len(head.out) + sum(map(len, key)) + len(tail.out)
    return b"".join((bytes((CONSOLE,)), varint(size), head.out, *key, tail.out))


class Queue:
    """Records between the reading and the writing thread, bounded in bytes."""

    def __init__(self, max_held):
        self.max_held = max_held
        self.cond = threading.Condition()
        self.items = collections.deque()
        self.held = 0
        self.dropped = {STDOUT: 0, STDERR: 0}
        self.closed = False

    def put(self, stream, text, force=False, at=None):
        """Queues UTF-8 `text` as one record read at `at` (µs; now when None), or drops it."""
        size = len(text)
        with self.cond:
            if not force and self.held + size > self.max_held:
                self.dropped[stream] += size
                return
            record = console_record(stream, at or _now_us(), text, self.dropped[stream])
            self.dropped[stream] = 0
            self.items.append(record)
            self.held += len(record)
            self.cond.notify()

    def close(self):
        with self.cond:
            for stream, n in self.dropped.items():
                if n:
                    self.items.append(console_record(stream, _now_us(), b"", n))
                    self.dropped[stream] = 0
            self.closed = True
            self.cond.notify()

    def take(self, timeout):
        """Everything queued (waits up to `timeout` for something); None once closed and empty."""
        with self.cond:
            if not self.items and not self.closed:
                self.cond.wait(timeout)
            if not self.items:
                return None if self.closed else []
            taken = list(self.items)
            self.items.clear()
            self.held = 0
            return taken


def write_loop(log, queue):
    delay = float(os.environ.get("RUNLOG_CONSOLE_TEST_WRITE_DELAY") or 0)  # a slow disk, for tests
    last_sync = time.monotonic()
    unsynced = False
    while True:
        records = queue.take(SYNC_INTERVAL)
        if records is None:
            break
        frame, size = [], 0
        for r in records + [None]:
            if frame and (r is None or size + len(r) > FRAME_CONTENT):
                if delay:
                    time.sleep(delay)
                log.append(b"".join(frame))  # one record: itself, not a copy
                frame, size, unsynced = [], 0, True
            if r is not None:
                frame.append(r)
                size += len(r)
        if unsynced and time.monotonic() - last_sync >= SYNC_INTERVAL:
            log.sync()
            unsynced, last_sync = False, time.monotonic()
    log.sync()


class Held:
    """Text read and not queued yet, in the order read: runs of one stream,
    each to become one record stamped with the time its first part was read."""

    def __init__(self, queue, most):
        self.queue = queue
        self.most = most  # bytes (about) held before they are queued
        self.runs = []  # [stream, time µs, [texts]]
        self.size = 0
        self.since = None  # monotonic time of the oldest text held

    def add(self, stream, text, now):
        if not self.runs or self.runs[-1][0] != stream:
            self.runs.append([stream, _now_us(), []])
        self.runs[-1][2].append(text)
        self.size += len(text)
        if self.since is None:
            self.since = now
        if self.size >= self.most:
            self.flush()

    def due_in(self, now):
        """Seconds until what is held is due to be queued; None when nothing is."""
        return None if self.since is None else max(0.0, self.since + HOLD - now)

    def flush(self, force=False):
        for stream, at, texts in self.runs:
            self.queue.put(stream, b"".join(texts), force, at)  # one text: itself, not a copy
        self.runs, self.size, self.since = [], 0, None


def _utf8(decoder, data):
    """`data` as valid UTF-8: itself when it is ASCII and no character was
    cut before it (the common case, no copy); else decoded (invalid bytes
    replaced by U+FFFD, a cut character kept for the next read) and encoded again."""
    if data.isascii() and not decoder.getstate()[0]:
        return data
    return decoder.decode(data).encode()


def _pipe_size(fd):
    try:
        return fcntl.fcntl(fd, getattr(fcntl, "F_GETPIPE_SZ", 1032))
    except OSError:
        return 1 << 16


def main(argv):
    path, run_id = argv[0], argv[1]
    attempt, rank, number, out_fd, err_fd, tee_out, tee_err, status_fd = (int(a) for a in argv[2:10])
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    deadline = [None]
    signal.signal(signal.SIGTERM, lambda *_: deadline.__setitem__(0, time.monotonic() + SIGTERM_GRACE))
    try:
        log = LogFileWriter(path, FileHeader(run_id, attempt, rank, number, _now_us(), WRITER))
    except OSError as e:
        os.write(status_fd, f"cannot create {path}: {e.strerror or e}\n".encode())
        return 1
    os.write(status_fd, b"ok\n")
    os.close(status_fd)
    queue = Queue(MAX_HELD)
    writer = threading.Thread(target=write_loop, args=(log, queue), name="runlog-console-writer")
    writer.start()
    streams = {out_fd: STDOUT, err_fd: STDERR}
    sizes = {fd: max(1 << 16, _pipe_size(fd)) for fd in streams}
    folders = {STDOUT: LineFolder(binary=True), STDERR: LineFolder(binary=True)}
    decoders = {s: codecs.getincrementaldecoder("utf-8")("replace") for s in folders}
    tees = {STDOUT: tee_out, STDERR: tee_err}
    held = Held(queue, max(1 << 12, min(FRAME_CONTENT, MAX_HELD // 4)))
    sel = selectors.DefaultSelector()
    for fd in streams:
        sel.register(fd, selectors.EVENT_READ)
    open_fds = set(streams)
    while open_fds:
        if deadline[0] is not None and time.monotonic() > deadline[0]:
            break
        due = held.due_in(time.monotonic())
        events = sel.select(0.25 if due is None else min(0.25, due))
        short = True  # every read this round was short: pause before the next
        for key, _ in events:
            fd = key.fd
            stream = streams[fd]
            try:
                data = os.read(fd, sizes[fd])
            except InterruptedError:
                continue
            if not data:
                sel.unregister(fd)
                open_fds.discard(fd)
                short = False  # the writer is ending: the other pipe follows at once
                text = decoders[stream].decode(b"", final=True).encode()
            else:
                short = short and len(data) < sizes[fd] // 4
                tee = tees[stream]
                if tee >= 0:
                    try:
                        view = memoryview(data)
                        while view:
                            view = view[os.write(tee, view):]
                    except OSError:  # the terminal went away: keep recording
                        tees[stream] = -1
                text = _utf8(decoders[stream], data)
            now = time.monotonic()
            out = folders[stream].feed(text, now)
            if out:
                held.add(stream, out, now)
        now = time.monotonic()
        for stream, folder in folders.items():
            if folder.due(now, PARTIAL_AFTER, BAR_AFTER):
                held.add(stream, folder.take_partial(now), now)
        if held.due_in(now) == 0.0:
            held.flush()
        if events and short and open_fds:
            time.sleep(READ_PAUSE)
    held.flush()
    for stream, folder in folders.items():
        rest = folder.take_partial()
        if rest:
            queue.put(stream, rest, force=True)
    queue.close()
    writer.join()
    log.close()
    return 0


def run(argv):
    """Runs `main` and ends the process without the interpreter's teardown
    (tens of milliseconds that the training process's exit would wait for):
    by then everything is written and durable."""
    code = main(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run(sys.argv[1:])
