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

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, SupportsIndex

from . import run as _run_module
from .histogram import Histogram
from .logfile import FormatError
from .reader import LogReader, read_log
from .run import Run, RunError, __version__

__all__ = ["init", "log", "finish", "run", "Run", "RunError", "Histogram", "LogReader", "read_log", "FormatError",
           "__version__"]

run: Run | None = None
"""The run of the last `init`, or None."""


if TYPE_CHECKING:
    init = _run_module.init  # to type checkers, exactly `runlog.run.init`
else:
    @functools.wraps(_run_module.init)
    def init(*args, **kwargs):
        global run
        run = _run_module.init(*args, **kwargs)
        return run


def _current() -> Run:
    if run is None:
        raise RunError("no run: call runlog.init() first")
    return run


def log(data: Mapping[str, Any], step: SupportsIndex | None = None, commit: bool | None = None) -> None:
    """`Run.log` on the run of the last `init`."""
    _current().log(data, step=step, commit=commit)


def finish(exit_code: int = 0) -> None:
    """`Run.finish` on the run of the last `init`."""
    _current().finish(exit_code=exit_code)
