# SPDX-License-Identifier: Apache-2.0
"""Starting the client's background threads so that signals sent to the
process reach the program's main thread.

The kernel hands a signal sent to a process to any of its threads that does
not block it. CPython runs Python signal handlers (KeyboardInterrupt for
Ctrl-C, the client's SIGTERM handler) on the main thread only, and when the
signal lands on another thread the main thread learns of it at its next
bytecode: a main thread in `time.sleep(60)`, `queue.get()` or a long C call
would not see Ctrl-C until that returns. So every background thread of the
client blocks the asynchronous signals: it inherits the mask it is started
with, and `start` blocks them around `Thread.start`. Signals that mark a
fault of the thread itself (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS)
stay unblocked. A process started from such a thread would inherit the
mask across exec, so the client starts its processes from the caller's
thread. Native libraries start threads too: OpenBLAS starts its workers
when numpy is imported, so the client imports numpy through `import_blocked`.
"""

import contextlib
import importlib
import signal
from collections.abc import Iterator
from types import ModuleType

_FAULTS = {getattr(signal, name) for name in ("SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGTRAP", "SIGSYS")
           if hasattr(signal, name)}


def blocked():
    """The signals a background thread of the client blocks."""
    return signal.valid_signals() - _FAULTS


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    """Blocks the asynchronous signals in this thread for the `with` body;
    the mask is as before when it ends. A signal that arrives meanwhile
    waits, blocked, and is delivered at the restore."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, blocked())
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def import_blocked(name: str) -> ModuleType | None:
    """Imports module `name` with the asynchronous signals blocked in this
    thread, so that threads its native libraries start meanwhile block them
    too; None when it is not installed. The mask is as before on return."""
    with _signals_blocked():
        try:
            return importlib.import_module(name)
        except ImportError:
            return None


def start(thread):
    """Starts `thread` with the asynchronous signals blocked in it; the
    calling thread's mask is as before when this returns."""
    with _signals_blocked():
        thread.start()
