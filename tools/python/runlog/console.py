# SPDX-License-Identifier: Apache-2.0
"""Console capture: what the training process writes to its standard output
and error becomes console records (spec/format.md section 4.9), while the
terminal shows it unchanged.

- `redirect` (the default): file descriptors 1 and 2 become pipes read by a
  helper process (`_console_helper`) that writes a console log of its own,
  so output of C extensions and child processes is caught too, and the last
  lines before a hard death (`kill -9`, a segfault, an OOM kill) are kept:
  everything that reached the descriptors. Buffering is left as it was
  (Python line-buffers a terminal, block-buffers a file or pipe).
- `wrap`: `sys.stdout` and `sys.stderr` are wrapped, for where descriptors
  cannot be redirected (notebooks); the records go to the run's own log,
  and what a hard death cuts off is what the writer had not written yet.
- `off`.

The mode is the `console` argument of `init`, else `$RUNLOG_CONSOLE`, else `redirect`.
"""

import atexit
import fcntl
import os
import signal
import subprocess
import sys
import threading
import time

from ._console_text import LineFolder
from .records import STDERR, STDOUT, Console
from .rundir import console_log_name

MODES = ("redirect", "wrap", "off")
START_TIMEOUT = 10.0  # seconds the helper may take to start
STOP_TIMEOUT = 10.0  # seconds to wait for it to write everything at the end
PIPE_BYTES = 1 << 20  # the pipes' kernel buffer (Linux allows 1 MiB without privileges)
BATCH_CHARS = 1 << 16  # wrap: lines recorded together, at least every 0.25 s


def mode_from(console):
    mode = console if console is not None else (os.environ.get("RUNLOG_CONSOLE") or "redirect")
    if mode is True:
        mode = "redirect"
    elif mode is False:
        mode = "off"
    if mode not in MODES:
        raise ValueError(f"console must be one of {', '.join(MODES)}, got {mode!r}")
    return mode


def start(run, mode):
    """Starts capturing for `run`; returns an object with `stop()`, or None (mode off,
    or the capture could not start: a warning says why and output goes on as before)."""
    if mode == "off":
        return None
    try:
        capture = Redirect(run) if mode == "redirect" else Wrap(run)
    except OSError as e:
        print(f"runlog: console capture is off: {e}", file=sys.stderr)
        return None
    atexit.register(capture.stop)
    return capture


def _flush_python_streams():
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except (AttributeError, OSError, ValueError):
            pass


class Redirect:
    """Descriptors 1 and 2 through pipes to a helper process."""

    def __init__(self, run):
        logs = os.path.dirname(run.path)
        number = 0
        while os.path.exists(os.path.join(logs, console_log_name(run.attempt, run.rank, number))):
            number += 1
        path = os.path.join(logs, console_log_name(run.attempt, run.rank, number))
        _flush_python_streams()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        for fd in (out_w, err_w):  # room for a burst while the helper waits for a core
            try:
                fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
            except OSError:
                pass
        status_r, status_w = os.pipe()
        tee_out, tee_err = os.dup(1), os.dup(2)
        try:
            package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
            env = dict(os.environ)
            env["PYTHONPATH"] = package_parent + os.pathsep + env.get("PYTHONPATH", "")
            args = [path, run.id, run.attempt, run.rank, number, out_r, err_r, tee_out, tee_err, status_w]
            self.helper = subprocess.Popen(
                [sys.executable, "-m", "runlog._console_helper", *map(str, args)],
                pass_fds=(out_r, err_r, tee_out, tee_err, status_w), stdin=subprocess.DEVNULL,
                stdout=tee_out, stderr=tee_err, env=env, start_new_session=True)
            os.close(status_w)
            status_w = -1
            answer = _read_line(status_r, START_TIMEOUT)
            if answer != "ok":
                self.helper.kill()
                self.helper.wait()
                raise OSError(answer or f"the console helper did not start within {START_TIMEOUT:g} s")
        except BaseException:
            for fd in (out_r, out_w, err_r, err_w, tee_out, tee_err, status_w):
                if fd >= 0:
                    os.close(fd)
            raise
        finally:
            os.close(status_r)
        os.close(out_r)
        os.close(err_r)
        self.path = path
        self._saved = (tee_out, tee_err)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.close(out_w)
        os.close(err_w)
        self._pid = os.getpid()
        self._stopped = False

    def stop(self, timeout=STOP_TIMEOUT):
        """Puts descriptors 1 and 2 back and waits for the helper to write
        everything (at most `timeout` seconds, then it is told to finish)."""
        if self._stopped or os.getpid() != self._pid:
            return
        self._stopped = True
        _flush_python_streams()
        tee_out, tee_err = self._saved
        os.dup2(tee_out, 1)
        os.dup2(tee_err, 2)
        os.close(tee_out)
        os.close(tee_err)
        try:
            self.helper.wait(timeout)
        except subprocess.TimeoutExpired:  # a child process still holds the pipes
            self.helper.send_signal(signal.SIGTERM)
            self.helper.wait()


def _read_line(fd, timeout):
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(fd, selectors.EVENT_READ)
    data = b""
    deadline = time.monotonic() + timeout
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not sel.select(left):
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    sel.close()
    return data.decode("utf-8", "replace").strip()


class _Stream:
    """Stands in for `sys.stdout` or `sys.stderr`: writes go to the original and to the capture."""

    def __init__(self, original, capture, stream):
        self._original = original
        self._capture = capture
        self._stream = stream

    def write(self, s):
        n = self._original.write(s)
        if isinstance(s, str) and s:
            self._capture.feed(self._stream, s)
        return n

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def __getattr__(self, name):
        return getattr(self._original, name)


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
        sys.stdout = _Stream(sys.stdout, self, STDOUT)
        sys.stderr = _Stream(sys.stderr, self, STDERR)
        self._stop = threading.Event()
        self._timer = threading.Thread(target=self._partials, name="runlog-console", daemon=True)
        self._timer.start()

    def feed(self, stream, s):
        with self.lock:
            out = self.folders[stream].feed(s, time.monotonic())
            if out:
                self.ready[stream].append(out)
                self.ready_chars[stream] += len(out)
                if self.ready_chars[stream] >= BATCH_CHARS:
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
        if sys.stdout is not None and getattr(sys.stdout, "_capture", None) is self:
            sys.stdout = self.originals[0]
        if sys.stderr is not None and getattr(sys.stderr, "_capture", None) is self:
            sys.stderr = self.originals[1]
        with self.lock:
            for stream, folder in self.folders.items():
                self._take(stream)
                rest = folder.take_partial()
                if rest or self.dropped[stream]:
                    self._record(stream, rest, force=True)
