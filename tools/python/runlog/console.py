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
import select
import signal
import subprocess
import sys
import time

from ._console_wrap import Wrap
from .rundir import console_log_name

MODES = ("redirect", "wrap", "off")
START_TIMEOUT = 10.0  # seconds the helper may take to start
STOP_TIMEOUT = 10.0  # seconds to wait for it to write everything at the end
PIPE_BYTES = 1 << 20  # the pipes' kernel buffer (Linux allows 1 MiB without privileges)


# The helper's entry: this package's directory as the package `runlog`
# without running its `__init__` (which imports the whole client, numpy
# among it), so that the helper starts in tens of milliseconds of CPU, not
# a few hundred, and imports nothing it does not use.
_HELPER_MAIN = ("import sys, types; p = types.ModuleType('runlog'); p.__path__ = [sys.argv.pop(1)]; "
                "sys.modules['runlog'] = p; from runlog import _console_helper as h; h.run(sys.argv[1:])")


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
            args = [path, run.id, run.attempt, run.rank, number, out_r, err_r, tee_out, tee_err, status_w]
            self.helper = subprocess.Popen(
                [sys.executable, "-c", _HELPER_MAIN, os.path.dirname(os.path.abspath(__file__)), *map(str, args)],
                pass_fds=(out_r, err_r, tee_out, tee_err, status_w), stdin=subprocess.DEVNULL,
                stdout=tee_out, stderr=tee_err, start_new_session=True)
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
            _wait(self.helper, timeout)
        except subprocess.TimeoutExpired:  # a child process still holds the pipes
            self.helper.send_signal(signal.SIGTERM)
            self.helper.wait()


def _wait(proc, timeout):
    """`proc.wait(timeout)`, returning as soon as the process exits: where
    Linux has pidfds, the wait is one `poll` on the process's pidfd, not
    `Popen.wait`'s sleeps of up to 50 ms between checks."""
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # not Linux 5.3+, or already reaped
        return proc.wait(timeout)
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        if not poller.poll(max(0, int(timeout * 1000))):
            raise subprocess.TimeoutExpired(proc.args, timeout)
    finally:
        os.close(fd)
    return proc.wait()


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
