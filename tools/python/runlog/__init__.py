# SPDX-License-Identifier: Apache-2.0
"""runlog: crash-safe, offline-first experiment logging.

    import runlog
    run = runlog.init(project="mnist", config={"lr": 0.01})
    run.log({"loss": 0.5})                 # at run.step, then run.step += 1
    run.log({"val/acc": 0.9}, step=100)    # any step, also a lower one: nothing is dropped
    run.finish()

`runlog.log`, `runlog.finish` and `runlog.run` act on the run of the last
`init`, as `wandb.log` does. Logs are written by a background thread within
`flush_interval` (1 s) of `log`, in the format of spec/format.md, under
`dir/<run id>/logs/`.
"""

from . import run as _run_module
from .histogram import Histogram
from .logfile import FormatError
from .reader import LogReader, read_log
from .run import Run, RunError, __version__

__all__ = ["init", "log", "finish", "run", "Run", "RunError", "Histogram", "LogReader", "read_log", "FormatError",
           "__version__"]

run = None
"""The run of the last `init`, or None."""


def init(*args, **kwargs):
    global run
    run = _run_module.init(*args, **kwargs)
    return run


init.__doc__ = _run_module.init.__doc__


def _current():
    if run is None:
        raise RunError("no run: call runlog.init() first")
    return run


def log(data, step=None, commit=None):
    """`Run.log` on the run of the last `init`."""
    return _current().log(data, step=step, commit=commit)


def finish(exit_code=0):
    """`Run.finish` on the run of the last `init`."""
    _current().finish(exit_code=exit_code)
