# SPDX-License-Identifier: Apache-2.0
"""A process that prints, for the console benchmark: N short lines, or a tqdm
bar over N iterations, with console capture by runlog or W&B, or none.

    python console_print.py lines|tqdm off|runlog-redirect|runlog-wrap|wandb-redirect|wandb-wrap N DIR

Prints `result {json}` on the original standard error: the seconds the
printing took (from the first print to the last, flushed) and the CPU
seconds of this process meanwhile (its helpers not counted), the whole run's
seconds (start, printing, end), the bytes printed, and the run's directory.
"""

import json
import os
import resource
import sys
import time


def _cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main():
    kind, tool, n, directory = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    report = os.fdopen(os.dup(2), "w")  # the original stderr, which capture does not see
    t0 = time.perf_counter()
    run = None
    if tool.startswith("runlog"):
        import runlog

        run = runlog.init(project="bench", dir=directory, id=f"console-{kind}-{tool}",
                          console="off" if tool == "runlog-off" else tool.split("-")[1])
    elif tool.startswith("wandb"):
        import wandb

        run = wandb.init(project="bench", mode="offline", dir=directory,
                         settings=wandb.Settings(console=tool.split("-")[1], silent=True))
    t1, c1 = time.perf_counter(), _cpu()
    printed = 0
    if kind == "lines":
        for i in range(n):
            line = f"step {i} loss {1.0 / (i + 1):.6f}\n"
            sys.stdout.write(line)
            printed += len(line)
        sys.stdout.flush()
    else:
        from tqdm import tqdm

        for _ in tqdm(range(n), desc="train"):
            pass
        sys.stderr.flush()
    t2, c2 = time.perf_counter(), _cpu()
    if run is not None:
        run.finish()
    t3 = time.perf_counter()
    report.write("result " + json.dumps({"print_s": t2 - t1, "print_cpu_s": c2 - c1, "total_s": t3 - t0, "printed": printed,
                                         "dir": directory}) + "\n")
    report.flush()


if __name__ == "__main__":
    main()
