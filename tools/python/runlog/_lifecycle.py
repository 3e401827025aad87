# SPDX-License-Identifier: Apache-2.0
"""Ends runs that the program did not finish: an unhandled exception marks
them failed, SIGTERM killed, and interpreter exit finished."""

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


def _finish_all(exit_code, status, message):
    with _lock:
        runs = list(_runs)
    for run in runs:
        try:
            run.finish(exit_code=exit_code, status=status, message=message)
        except Exception as e:  # noqa: BLE001 - at exit, report and go on with the others
            print(f"runlog: could not finish run {run.id}: {e}", file=sys.stderr)


def _at_exit():
    if _failure is not None:
        _finish_all(*_failure)
    else:
        _finish_all(0, None, "")


def _on_sigterm(signum, frame):
    # Unwind the program (releasing any lock it holds) and let the exit
    # handler write the run ends.
    global _failure
    _failure = (128 + signum, KILLED, "SIGTERM")
    signal.signal(signum, signal.SIG_DFL)
    raise SystemExit(128 + signum)
