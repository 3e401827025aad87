"""runlog: crash-safe, offline-first experiment logging.

    import runlog
    run = runlog.init(project="mnist", config={"lr": 0.01})
    run.log({"loss": 0.5})                 # at run.step, then run.step += 1
    run.log({"val/acc": 0.9}, step=100)    # any step, also a lower one: nothing is dropped
    run.finish()

Logs are written by a background thread within `flush_interval` (1 s) of
`log`, in the format of spec/format.md, under `dir/<run id>/logs/`.
"""

from .histogram import Histogram
from .logfile import FormatError
from .reader import LogReader, read_log
from .run import Run, RunError, __version__, init

__all__ = ["init", "Run", "RunError", "Histogram", "LogReader", "read_log", "FormatError", "__version__"]
