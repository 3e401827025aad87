# SPDX-License-Identifier: Apache-2.0
"""Console capture in `wrap` mode: `sys.stdout` and `sys.stderr` replaced by
text streams whose text layer is C code (`io.TextIOWrapper`), buffered as the
originals are, over a bytes layer that passes each chunk on to the original
stream and queues it for the capture. So a write costs about what it costs
on the original stream: a block-buffered stream hands down 8 KiB at a time,
an unbuffered one (`python -u`, `PYTHONUNBUFFERED`) each write, and the
capture decodes and folds the queued chunks together, at least every
0.25 s and whenever 64 KiB are queued, and records them at least every
0.25 s and whenever 256 KiB are folded."""

import codecs
import collections
import io
import sys
import threading
import time

from . import _threads
from ._console_text import LineFolder
from .records import STDERR, STDOUT, Console

BATCH_BYTES = 1 << 16  # bytes written that are folded together, at least every 0.25 s
RECORD_CHARS = 1 << 18  # text recorded together (few frames, each checksummed once)


class _TeeBuffer(io.BufferedIOBase):
    """The bytes layer under a wrapped stream."""

    closed = False  # never closed; a plain attribute, as the text layer asks at every write

    def __init__(self, original, encoding, errors, on_full):
        super().__init__()
        self._original = original
        # A standard text stream's bytes layer takes the chunks as they are
        # (they are encoded as it would encode them); any other stream, as text.
        self._bytes = original.buffer if isinstance(original, io.TextIOWrapper) else None
        self._to_original = codecs.getincrementaldecoder(encoding)(errors)
        self.to_capture = codecs.getincrementaldecoder(encoding)("replace")
        self.chunks = collections.deque()  # for the capture; append and popleft are atomic
        self.size = 0  # about the bytes in `chunks` (updated without a lock)
        self._on_full = on_full
        self._queue = self.chunks.append
        self._pass_on = self._bytes.write if self._bytes is not None else None

    def writable(self):
        return True

    def write(self, b):  # per write when unbuffered: kept to a few bound calls
        n = len(b)
        if self._pass_on is not None:
            self._pass_on(b)
        else:
            self._original.write(self._to_original.decode(b))
        self._queue(b if type(b) is bytes else bytes(b))
        self.size += n
        if self.size >= BATCH_BYTES:
            self._on_full()
        return n

    def take(self):
        """The bytes queued, in order."""
        self.size = 0
        chunks = self.chunks
        return b"".join([chunks.popleft() for _ in range(len(chunks))])

    def flush(self):
        self._original.flush()

    def close(self):  # the original stays open
        self.flush()

    def fileno(self):
        return self._original.fileno()

    def isatty(self):
        return self._original.isatty()


class _Delegating(io.TextIOWrapper):
    """A wrapped stream whose attributes it does not have are the original's
    (a notebook's stream). A subclass costs a little at every write, so a
    standard text stream is wrapped by `io.TextIOWrapper` itself."""

    def __init__(self, tee, original, **options):
        super().__init__(tee, **options)
        self._original = original

    def __getattr__(self, name):
        if name == "_original":
            raise AttributeError(name)
        return getattr(self._original, name)

    def close(self):  # closing it closes nothing of the original's
        if not self.closed:
            self.flush()


def _wrap(original, on_full):
    """(the stream standing in for `original`, its bytes layer): buffered as
    the original is; writing through when it is not a standard text stream."""
    encoding = getattr(original, "encoding", None) or "utf-8"
    errors = getattr(original, "errors", None) or "strict"
    tee = _TeeBuffer(original, encoding, errors, on_full)
    options = dict(encoding=encoding, errors=errors, newline="")
    if isinstance(original, io.TextIOWrapper):
        return io.TextIOWrapper(tee, line_buffering=original.line_buffering, write_through=original.write_through,
                                **options), tee
    return _Delegating(tee, original, write_through=True, **options), tee


def _flush(stream):
    try:
        if stream is not None:
            stream.flush()
    except (AttributeError, OSError, ValueError):
        pass


class Wrap:
    """`sys.stdout` and `sys.stderr` wrapped; console records go to the run's log.
    Console text waiting to be written is bounded by `max_held` bytes (beyond it,
    text is dropped and counted); metrics and other records are never dropped for it."""

    def __init__(self, run, max_held=16 << 20, partial_after=1.0, bar_after=10.0):
        self.run = run
        self.max_held = max_held
        self.partial_after, self.bar_after = partial_after, bar_after
        self.lock = threading.Lock()
        self.folders = {STDOUT: LineFolder(), STDERR: LineFolder()}
        self.dropped = {STDOUT: 0, STDERR: 0}
        self.ready = {STDOUT: [], STDERR: []}  # lines waiting to be recorded together
        self.ready_chars = {STDOUT: 0, STDERR: 0}
        self.originals = (sys.stdout, sys.stderr)
        for f in self.originals:
            _flush(f)
        self.wrapped, self.tees = {STDOUT: None, STDERR: None}, {}
        for stream, original in zip((STDOUT, STDERR), self.originals):
            if original is not None:
                self.wrapped[stream], self.tees[stream] = _wrap(original, lambda s=stream: self.drain(s))
        sys.stdout = self.wrapped[STDOUT] or sys.stdout
        sys.stderr = self.wrapped[STDERR] or sys.stderr
        self._stop = threading.Event()
        self._timer = threading.Thread(target=self._partials, name="runlog-console", daemon=True)
        _threads.start(self._timer)

    def drain(self, stream):
        """Folds and makes ready what the wrapped `stream` has queued."""
        tee = self.tees.get(stream)
        if tee is not None:
            with self.lock:
                data = tee.take()
                if data:
                    self._feed(stream, tee.to_capture.decode(data))

    def feed(self, stream, s):
        with self.lock:
            self._feed(stream, s)

    def _feed(self, stream, s):
        out = self.folders[stream].feed(s, time.monotonic())
        if out:
            self.ready[stream].append(out)
            self.ready_chars[stream] += len(out)
            if self.ready_chars[stream] >= RECORD_CHARS:
                self._take(stream)

    def _take(self, stream):
        """Records the lines ready on `stream` as one record. Call with `lock` held."""
        if self.ready[stream]:
            self._record(stream, "".join(self.ready[stream]))
            self.ready[stream] = []
            self.ready_chars[stream] = 0

    def feed_exception(self, exc_type, exc, tb):
        """Records the traceback the interpreter is about to print (to the
        original stream, which this capture does not see once the run has ended)."""
        import traceback

        self.drain(STDERR)
        self.feed(STDERR, "".join(traceback.format_exception(exc_type, exc, tb)))
        self.stop()

    def _record(self, stream, text, force=False):
        w = self.run._writer
        size = len(text.encode("utf-8", "replace"))
        with w.lock:
            if self.run._closed:
                return
            if not force and w.record_bytes + size > self.max_held:
                self.dropped[stream] += size
                return
            w.add_record(Console(stream, time.time_ns() // 1000, text, self.dropped[stream]).encode())
            self.dropped[stream] = 0

    def _partials(self):
        while not self._stop.wait(0.25):
            for stream in self.folders:
                self.drain(stream)
            now = time.monotonic()
            with self.lock:
                for stream, folder in self.folders.items():
                    if folder.due(now, self.partial_after, self.bar_after):
                        self.ready[stream].append(folder.take_partial(now))
                    self._take(stream)

    def stop(self, timeout=None):
        """Puts the original streams back and records what is left."""
        if self._stop.is_set():
            return
        self._stop.set()
        for stream, w in self.wrapped.items():
            _flush(w)
            self.drain(stream)
        if sys.stdout is not None and sys.stdout is self.wrapped[STDOUT]:
            sys.stdout = self.originals[0]
        if sys.stderr is not None and sys.stderr is self.wrapped[STDERR]:
            sys.stderr = self.originals[1]
        with self.lock:
            for stream, folder in self.folders.items():
                self._take(stream)
                rest = folder.take_partial()
                if rest or self.dropped[stream]:
                    self._record(stream, rest, force=True)
