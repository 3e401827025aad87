# SPDX-License-Identifier: Apache-2.0
"""The console helper: a process of its own that reads a training process's
standard output and error from pipes, passes them on unchanged to where they
went before (the terminal, the job's output file), and writes them as console
records to a console log (spec/run-directory.md section 1).

It outlives the training process: when that dies (exit, exception, `kill -9`,
segfault, OOM kill) its pipes reach end-of-file, and the helper writes what
it holds, fsyncs and exits. So the last line printed is kept.

Bounded: one thread reads the pipes and never waits for the disk; records
wait for the writer thread in memory up to `max_held` bytes, and text beyond
that is dropped, counted, and recorded as the next record's `dropped`.

    python -m runlog._console_helper PATH RUN_ID ATTEMPT RANK NUMBER OUT_FD ERR_FD TEE_OUT TEE_ERR STATUS_FD
"""

import codecs
import collections
import os
import selectors
import signal
import sys
import threading
import time

from ._console_text import LineFolder
from .logfile import FRAME_TARGET, FileHeader, LogFileWriter
from .records import STDERR, STDOUT, Console

WRITER = "runlog-python-console/0.1.0"
MAX_HELD = int(os.environ.get("RUNLOG_CONSOLE_MAX_HELD") or 64 << 20)
# Seconds a partial line waits before it is written: a plain one, a progress bar.
PARTIAL_AFTER, BAR_AFTER = 1.0, 10.0
SYNC_INTERVAL = 2.0
SIGTERM_GRACE = 5.0  # seconds to go on reading after SIGTERM


def _now_us():
    return time.time_ns() // 1000


class Queue:
    """Records between the reading and the writing thread, bounded in bytes."""

    def __init__(self, max_held):
        self.max_held = max_held
        self.cond = threading.Condition()
        self.items = collections.deque()
        self.held = 0
        self.dropped = {STDOUT: 0, STDERR: 0}
        self.closed = False

    def put(self, stream, text, force=False):
        size = len(text.encode("utf-8", "replace")) if not text.isascii() else len(text)
        with self.cond:
            if not force and self.held + size > self.max_held:
                self.dropped[stream] += size
                return
            record = Console(stream, _now_us(), text, self.dropped[stream]).encode()
            self.dropped[stream] = 0
            self.items.append(record)
            self.held += len(record)
            self.cond.notify()

    def close(self):
        with self.cond:
            for stream, n in self.dropped.items():
                if n:
                    self.items.append(Console(stream, _now_us(), "", n).encode())
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
        content = bytearray()
        for r in records:
            if content and len(content) + len(r) > FRAME_TARGET:
                log.append(content)
                content = bytearray()
            content += r
        if content:
            if delay:
                time.sleep(delay)
            log.append(content)
            unsynced = True
        if unsynced and time.monotonic() - last_sync >= SYNC_INTERVAL:
            log.sync()
            unsynced, last_sync = False, time.monotonic()
    log.sync()


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
    streams = {out_fd: (STDOUT, tee_out), err_fd: (STDERR, tee_err)}
    folders = {STDOUT: LineFolder(), STDERR: LineFolder()}
    decoders = {s: codecs.getincrementaldecoder("utf-8")("replace") for s in folders}
    tees = {STDOUT: tee_out, STDERR: tee_err}
    sel = selectors.DefaultSelector()
    for fd in streams:
        sel.register(fd, selectors.EVENT_READ)
    open_fds = set(streams)
    while open_fds:
        if deadline[0] is not None and time.monotonic() > deadline[0]:
            break
        for key, _ in sel.select(0.25):
            fd = key.fd
            stream, _tee = streams[fd]
            try:
                data = os.read(fd, 1 << 16)
            except InterruptedError:
                continue
            if not data:
                sel.unregister(fd)
                open_fds.discard(fd)
                text = decoders[stream].decode(b"", final=True)
            else:
                tee = tees[stream]
                if tee >= 0:
                    try:
                        view = memoryview(data)
                        while view:
                            view = view[os.write(tee, view):]
                    except OSError:  # the terminal went away: keep recording
                        tees[stream] = -1
                text = decoders[stream].decode(data)
            out = folders[stream].feed(text, time.monotonic())
            if out:
                queue.put(stream, out)
        now = time.monotonic()
        for stream, folder in folders.items():
            if folder.due(now, PARTIAL_AFTER, BAR_AFTER):
                queue.put(stream, folder.take_partial(now))
    for stream, folder in folders.items():
        rest = folder.take_partial()
        if rest:
            queue.put(stream, rest, force=True)
    queue.close()
    writer.join()
    log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
