# SPDX-License-Identifier: Apache-2.0
"""Writes workload A or B with one Python logger and prints `result {json}`.

    write.py WRITER a|b COUNT DIR
    WRITER: tensorboardx (SummaryWriter.add_scalar / add_histogram),
            wandb (wandb.log(..., step=i) with WANDB_MODE=offline),
            python (runlog's Python client, tools/python),
            numpy (workload B only: numpy.histogram alone, nothing written).

COUNT is steps for workload A (4 scalars each), histograms for workload B.
Timed: from the first log call to the writer's close/finish returning (data
handed to the file), in wall time and CPU time of this process and its
descendants (wandb's service process included). Not timed: imports, creating
the run, building the data. Bytes: the writer's data file(s) only.
"""

import os
import sys

from workload import HISTOGRAM_KEY, KEYS, Timer, files_under, histogram_pool, report, workload_a_rows


def tensorboardx(directory):
    from tensorboardX import SummaryWriter

    writer = SummaryWriter(logdir=directory)

    def log_row(i, row):
        for k in KEYS:
            writer.add_scalar(k, row[k], i)

    def log_histogram(i, values):
        writer.add_histogram(HISTOGRAM_KEY, values, i, bins=64)

    return log_row, log_histogram, writer.close, ""


def wandb_offline(directory):
    os.environ["WANDB_MODE"] = "offline"
    os.environ["WANDB_SILENT"] = "true"
    os.environ.setdefault("WANDB_CONSOLE", "off")
    import wandb

    run = wandb.init(project="bench", dir=directory)

    def log_histogram(i, values):
        run.log({HISTOGRAM_KEY: wandb.Histogram(values, num_bins=64)}, step=i)

    return lambda i, row: run.log(row, step=i), log_histogram, run.finish, ".wandb"


def python_client(directory):
    import runlog

    run = runlog.init(project="bench", name="workload", dir=directory, id=f"workload-{os.getpid()}")

    def log_histogram(i, values):
        run.log({HISTOGRAM_KEY: runlog.Histogram(values, num_bins=64)}, step=i)

    return lambda i, row: run.log(row, step=i), log_histogram, run.finish, ".rlog"


def numpy_histogram(directory):
    """Not a logger: numpy.histogram alone, the floor for binning in Python."""
    import numpy

    def log_histogram(i, values):
        numpy.histogram(values, bins=64)

    return None, log_histogram, lambda: None, None


WRITERS = {"tensorboardx": tensorboardx, "wandb": wandb_offline, "python": python_client, "numpy": numpy_histogram}


def main():
    writer, workload, count, directory = sys.argv[1], sys.argv[2], int(sys.argv[3]), os.path.abspath(sys.argv[4])
    os.makedirs(directory, exist_ok=True)
    rows = workload_a_rows(count) if workload == "a" else None
    pool = histogram_pool(count) if workload == "b" else None
    log_row, log_histogram, close, suffix = WRITERS[writer](directory)
    with Timer() as t:
        if workload == "a":
            for i, row in enumerate(rows):
                log_row(i, row)
        else:
            for i in range(count):
                log_histogram(i, pool[i % len(pool)])
        close()
    files = files_under(directory, suffix) if suffix is not None else []
    if not files and suffix is not None:
        sys.exit(f"write.py: {writer} wrote no data file under {directory}")
    items = count * len(KEYS) if workload == "a" else count
    report(workload=workload.upper(), items=items, cpu_s=t.cpu, wall_s=t.wall,
           bytes=sum(os.path.getsize(f) for f in files), path=files[0] if files else "")


if __name__ == "__main__":
    main()
