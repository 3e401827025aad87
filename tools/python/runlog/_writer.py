# SPDX-License-Identifier: Apache-2.0
"""The background thread that turns logged rows and records into frames.

`Run.log` only appends a row to three lists (`steps`, `times` in
nanoseconds, `rows` of {key: number}) under `lock`; records (encoded bytes)
and sync markers go to `records` with the number of rows logged before them.
This thread takes everything at least every `flush_interval` seconds (sooner
when many rows or record bytes wait, or a caller waits for a sync), packs
rows into metrics blocks and records into frames of at most `frame_target`
content bytes, writes the frames of a pass with one `write` (up to
`WRITE_BYTES`), fsyncs, and refreshes the liveness file's heartbeat. So a
pass makes one fsync, and no write lands past one not yet durable
(spec/format.md section 5). Logging a record does not wake it: records logged
within an interval share frames (a histogram alone in its frame takes about
twice the bytes), and each still reaches the file within `flush_interval`.

When writing fails (a full disk), frames are held in memory, in order, and
retried every interval: nothing is lost while the held bytes stay under
`max_held`. Beyond that, or when the run ends and the disk still refuses
them for `write_timeout` seconds, the writer gives up: `error` is set and
`Run.log` raises it.
"""

import collections
import itertools
import sys
import threading
import time

from . import _threads, _wire
from .metrics import MetricsBlock
from .records import Metrics

_np = _wire._numpy()  # optional: None without numpy

# Rows, and bytes of encoded records, waiting at which the writer is woken
# before its interval ends.
WAKE_AT = 1 << 16
WAKE_BYTES = 4 << 20
# Bytes of frames written with one `write` at most (more take an fsync between).
WRITE_BYTES = 16 << 20


class Sync:
    """A marker in `records`: set once everything before it is written and fsynced."""

    __slots__ = ("event",)

    def __init__(self):
        self.event = threading.Event()


class LaterHistogram:
    """A histogram record in `records` whose histogram is made from a
    `Snapshot` when the writer encodes it."""

    __slots__ = ("key", "step", "time", "snapshot")

    def __init__(self, key, step, time_us, snapshot):
        self.key, self.step, self.time, self.snapshot = key, step, time_us, snapshot

    def encode(self):
        return self.snapshot.histogram().record(self.key, self.step, self.time).encode()


class BackgroundWriter:
    def __init__(self, log, live, flush_interval, heartbeat_interval, frame_target, max_held=256 << 20,
                 write_timeout=60.0):
        self.log = log
        self.live = live
        self.flush_interval = flush_interval
        self.heartbeat_interval = heartbeat_interval
        self.frame_target = frame_target
        self.max_held = max_held
        self.write_timeout = write_timeout
        self.lock = threading.Lock()
        # Three parallel lists, not a list of (step, time, row) tuples: a tuple
        # is an object the cyclic garbage collector tracks, and thousands of
        # them waiting here bring on collections, at last a full one over the
        # whole heap (180 ms in a small torch program, every few ten thousand
        # rows). Rows of floats are dicts the collector leaves alone.
        self.steps, self.times, self.rows, self.records = [], [], [], []
        self.record_bytes = 0  # of the encoded records in `records`
        self.wake = threading.Event()
        self.error = None
        self._stopping = False
        self._stop_deadline = None
        self._content = bytearray()
        self._frames = collections.deque()  # encoded, not written yet
        self._held = 0
        self._unsynced = False
        self._waiting = []  # Sync markers, set once every frame before them is durable
        self._failure = None  # the write error while frames are held
        self._thread = threading.Thread(target=self._run, name="runlog-writer", daemon=True)
        _threads.start(self._thread)

    def add_record(self, item):
        """Queues an encoded record, a LaterHistogram or a Sync after the rows
        logged so far; wakes the writer once `WAKE_BYTES` of records (or of
        snapshots' values) wait. Call with `lock` held."""
        self.records.append((len(self.rows), item))
        if type(item) is not Sync:
            self.record_bytes += len(item) if type(item) is bytes else item.snapshot.nbytes
            if self.record_bytes >= WAKE_BYTES:
                self.wake.set()

    def stop(self):
        """Writes everything pending, fsyncs, and ends the thread; gives up
        after `write_timeout` seconds of failing writes."""
        self._stop_deadline = time.monotonic() + self.write_timeout
        self._stopping = True
        self.wake.set()
        self._thread.join()

    def sync(self):
        """Blocks until everything logged so far is written and fsynced;
        raises OSError after `write_timeout` seconds of failing writes."""
        marker = Sync()
        with self.lock:
            self.add_record(marker)
        self.wake.set()
        deadline = time.monotonic() + self.write_timeout
        while not marker.event.wait(0.1):
            if not self._thread.is_alive() or self.error is not None:
                break
            if self._failure is not None and time.monotonic() > deadline:
                raise self._failure
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
                taken = self.steps, self.times, self.rows, self.records
                self.steps, self.times, self.rows, self.records = [], [], [], []
                self.record_bytes = 0
            if self.error is None:
                try:
                    if taken[2] or taken[3]:
                        self._encode(*taken)
                except Exception as e:  # noqa: BLE001 - e.g. a record over the 16 MiB limit: say so, stop
                    self._failure = e
                    self._give_up("cannot encode what was logged")
                else:
                    self._drain()
            if self.error is not None:  # given up: release anyone waiting; they will see the error
                for _, item in taken[3]:
                    if type(item) is Sync:
                        item.event.set()
                for marker in self._waiting:
                    marker.event.set()
            now = time.monotonic()
            if now >= next_beat:
                try:
                    self.live.heartbeat()
                except OSError:
                    pass
                next_beat = now + self.heartbeat_interval
            if stopping:
                with self.lock:
                    more = self.rows or self.records
                if not more and (not self._frames or self.error is not None):
                    return
                if self._frames and now > self._stop_deadline:
                    self._give_up(f"could not write {self._held} bytes for {self.write_timeout:g} s")

    def _give_up(self, why):
        self.error = OSError(getattr(self._failure, "errno", 0) or 0,
                             f"runlog: {self.log.path}: {why}: {self._failure}")
        print(self.error, file=sys.stderr)

    def _drain(self):
        """Writes the frames held, in order, in one `write` (per `WRITE_BYTES`),
        then fsyncs; keeps them on failure."""
        try:
            while self._frames:
                n, size = 0, 0
                for frame in self._frames:
                    if n and size + len(frame) > WRITE_BYTES:
                        break
                    n, size = n + 1, size + len(frame)
                self.log.write_frame(self._frames[0] if n == 1 else b"".join(itertools.islice(self._frames, n)))
                for _ in range(n):
                    self._frames.popleft()
                self._held -= size
                self._unsynced = True
            if self._unsynced:
                self.log.sync()
                self._unsynced = False
        except OSError as e:
            if self._failure is None:
                print(f"runlog: cannot write {self.log.path}: {e.strerror or e}; holding data in memory "
                      "and retrying", file=sys.stderr)
            self._failure = e
            if self._held > self.max_held:
                self._give_up(f"more than {self.max_held} bytes held")
            return
        if self._failure is not None:
            print(f"runlog: writing {self.log.path} again", file=sys.stderr)
            self._failure = None
        for marker in self._waiting:
            marker.event.set()
        self._waiting.clear()

    def _encode(self, steps, times, rows, records):
        done = 0
        for pos, item in records:
            if pos > done:
                self._add_rows(steps[done:pos], times[done:pos], rows[done:pos])
                done = pos
            if type(item) is bytes:
                self._add(item)
            elif type(item) is LaterHistogram:
                try:
                    record = item.encode()
                except Exception as e:  # noqa: BLE001 - e.g. a GPU gone: this histogram is lost, the run goes on
                    print(f"runlog: {self.log.path}: histogram {item.key!r} at step {item.step} not written: {e}",
                          file=sys.stderr)
                else:
                    self._add(record)
            else:
                self._flush()
                self._waiting.append(item)
        if len(rows) > done:
            self._add_rows(steps[done:], times[done:], rows[done:])
        self._flush()

    def _add(self, record):
        if self._content and len(self._content) + len(record) > self.frame_target:
            self._flush()
        self._content += record
        if len(self._content) >= self.frame_target:
            self._flush()

    def _flush(self):
        if self._content:
            frame = self.log.encode(self._content)
            self._frames.append(frame)
            self._held += len(frame)
            self._content = bytearray()

    def _add_rows(self, steps, times, rows):
        """Cuts rows into blocks that should fit a frame, sized by the first
        row; `_add_block` halves a block that turns out too large."""
        if _np is not None:
            times = (_np.array(times, dtype=_np.int64) // 1000).tolist()
        else:
            times = [t // 1000 for t in times]
        per_row = 4 + 9 * len(rows[0])
        n = max(1, (self.frame_target - 256) // per_row)
        for i in range(0, len(rows), n):
            self._add_block(steps[i : i + n], times[i : i + n], rows[i : i + n])

    def _add_block(self, steps, times, rows):
        block = MetricsBlock.from_rows(steps, times, rows)
        record = Metrics(block).encode()
        if len(record) > self.frame_target and len(rows) > 1:
            h = len(rows) // 2
            self._add_block(steps[:h], times[:h], rows[:h])
            self._add_block(steps[h:], times[h:], rows[h:])
            return
        self._add(record)
