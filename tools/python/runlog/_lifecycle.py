# SPDX-License-Identifier: Apache-2.0
"""Ends runs that the program did not finish: an unhandled exception marks
them failed, SIGTERM killed, `sys.exit(n)` with n != 0 failed with exit
code n, and any other interpreter exit finished.

`atexit` cannot see the status the interpreter exits with, so `sys.exit`
is wrapped to note it (in the main thread only: elsewhere it ends just
that thread), as W&B does. `raise SystemExit(n)` is seen where a `with
runlog.init(...)` block ends; outside one, the run is ended as finished.
`os._exit` and signals other than SIGTERM and SIGINT run no exit handler:
the attempt then reads as crashed, which it is.
"""

import atexit
import signal
import sys
import threading
import traceback

from .records import FAILED, KILLED

_lock = threading.Lock()
_runs: list = []
_installed = False
_failure = None  # (exit code, status, message) of an unhandled exception
_exit_code = None  # the argument of the last sys.exit in the main thread


def exit_status(code):
    """The process exit status that `SystemExit(code)` gives: 0 for None,
    the number for an integer, 1 for anything else (a message)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    return 1


def ending(code):
    """(exit code, status, message) for a run that `SystemExit(code)` ends:
    killed when SIGTERM raised it, else by its exit status."""
    if _failure is not None and _failure[2] == "SIGTERM":
        return _failure
    status = exit_status(code)
    return status, None, "" if status == 0 else f"SystemExit: {code!r}"


def register(run):
    global _installed
    with _lock:
        _runs.append(run)
        if _installed:
            return
        _installed = True
    atexit.register(_at_exit)
    previous_hook = sys.excepthook

    def excepthook(exc_type, exc, tb):
        global _failure
        if issubclass(exc_type, KeyboardInterrupt):
            _failure = (130, KILLED, "KeyboardInterrupt")
        else:
            last = traceback.format_exception_only(exc_type, exc)[-1].strip()
            _failure = (1, FAILED, last)
        previous_hook(exc_type, exc, tb)

    sys.excepthook = excepthook
    previous_exit = sys.exit

    def exit(status=None):
        global _exit_code
        if threading.current_thread() is threading.main_thread():
            _exit_code = status
        previous_exit(status)

    exit.__doc__ = previous_exit.__doc__
    sys.exit = exit
    if threading.current_thread() is threading.main_thread():
        try:
            if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
                signal.signal(signal.SIGTERM, _on_sigterm)
        except (ValueError, OSError):  # not allowed here: no SIGTERM handling
            pass


def unregister(run):
    with _lock:
        if run in _runs:
            _runs.remove(run)


def active():
    """The runs not finished yet, oldest first."""
    with _lock:
        return list(_runs)


def _finish_all(exit_code, status, message):
    for run in active():
        try:
            run.finish(exit_code=exit_code, status=status, message=message)
        except Exception as e:  # noqa: BLE001 - at exit, report and go on with the others
            print(f"runlog: could not finish run {run.id}: {e}", file=sys.stderr)


def _at_exit():
    if _failure is not None:
        _finish_all(*_failure)
        return
    code = exit_status(_exit_code)
    _finish_all(code, None, "" if code == 0 else f"sys.exit({_exit_code!r})")


def _on_sigterm(signum, frame):
    # Unwind the program (releasing any lock it holds) and let the exit
    # handler write the run ends.
    global _failure
    _failure = (128 + signum, KILLED, "SIGTERM")
    signal.signal(signum, signal.SIG_DFL)
    raise SystemExit(128 + signum)
