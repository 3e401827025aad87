"""The background thread that turns logged rows and records into frames.

`Run.log` only appends to `pending` under `lock`; this thread takes the
whole list at least every `flush_interval` seconds (sooner when it grows
long), packs rows into metrics blocks and records into frames of at most
`frame_target` content bytes, writes each frame with one `write`, fsyncs,
and refreshes the liveness file's heartbeat.
"""

import sys
import threading
import time

from .logfile import MAX_CONTENT
from .metrics import MetricsBlock
from .records import Metrics

# Pending list length at which the writer is woken before its interval ends.
WAKE_AT = 1 << 16


class Sync:
    """Put in the pending list: set once everything before it is written and fsynced."""

    __slots__ = ("event",)

    def __init__(self):
        self.event = threading.Event()


class BackgroundWriter:
    def __init__(self, log, live, flush_interval, heartbeat_interval, frame_target):
        self.log = log
        self.live = live
        self.flush_interval = flush_interval
        self.heartbeat_interval = heartbeat_interval
        self.frame_target = frame_target
        self.lock = threading.Lock()
        self.pending = []
        self.wake = threading.Event()
        self.error = None
        self.points = 0
        self._stopping = False
        self._content = bytearray()
        self._thread = threading.Thread(target=self._run, name="runlog-writer", daemon=True)
        self._thread.start()

    def stop(self):
        """Writes everything pending, fsyncs, and ends the thread."""
        self._stopping = True
        self.wake.set()
        self._thread.join()

    def sync(self):
        """Blocks until everything logged so far is written and fsynced."""
        marker = Sync()
        with self.lock:
            self.pending.append(marker)
        self.wake.set()
        while not marker.event.wait(0.1):
            if not self._thread.is_alive():
                break
        if self.error is not None:
            raise self.error

    # ------------------------------------------------------------ thread

    def _run(self):
        next_beat = time.monotonic() + self.heartbeat_interval
        while True:
            timeout = max(0.0, min(self.flush_interval, next_beat - time.monotonic()))
            self.wake.wait(timeout)
            self.wake.clear()
            stopping = self._stopping
            with self.lock:
                items, self.pending = self.pending, []
            if items and self.error is None:
                try:
                    self._write(items)
                except OSError as e:
                    self.error = OSError(e.errno, f"runlog: cannot write {self.log.path}: {e.strerror}")
                    print(self.error, file=sys.stderr)
            if self.error is not None:  # release anyone waiting; they will see the error
                for it in items:
                    if type(it) is Sync:
                        it.event.set()
            now = time.monotonic()
            if now >= next_beat:
                try:
                    self.live.heartbeat()
                except OSError:
                    pass
                next_beat = now + self.heartbeat_interval
            if stopping:
                with self.lock:
                    if not self.pending:
                        return

    def _write(self, items):
        rows = []
        for it in items:
            t = type(it)
            if t is tuple:
                rows.append(it)
                continue
            if rows:
                self._add_rows(rows)
                rows = []
            if t is bytes:
                self._add(it)
            else:
                self._flush()
                self.log.sync()
                it.event.set()
        if rows:
            self._add_rows(rows)
        self._flush()
        self.log.sync()

    def _add(self, record):
        if self._content and len(self._content) + len(record) > self.frame_target:
            self._flush()
        self._content += record
        if len(self._content) >= self.frame_target:
            self._flush()

    def _flush(self):
        if self._content:
            self.log.append(self._content)
            self._content = bytearray()

    def _add_rows(self, rows):
        """Cuts rows into blocks whose estimated encoded size fits a frame."""
        budget = self.frame_target - 256
        start = 0
        size = 0
        for i, row in enumerate(rows):
            s = 4 + 8 * len(row[2])
            if size + s > budget and i > start:
                self._add_block(rows[start:i])
                start, size = i, 0
            size += s
        self._add_block(rows[start:])

    def _add_block(self, rows):
        block = MetricsBlock.from_rows(rows)
        record = Metrics(block).encode()
        if len(record) > self.frame_target and len(rows) > 1:
            half = len(rows) // 2
            self._add_block(rows[:half])
            self._add_block(rows[half:])
            return
        if len(record) > MAX_CONTENT:
            raise OSError(0, "a single metrics row exceeds the 16 MiB record limit")
        self.points += block.point_count
        self._add(record)
