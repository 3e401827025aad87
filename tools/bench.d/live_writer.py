# SPDX-License-Identifier: Apache-2.0
"""A live run for syncd's lag: runlog's Python client logging workload A at
10 steps per second, flushing after each step so that the data is in the file
at once; the lag measured is then file → MLflow.

    live_writer.py ROOT RUN_ID SECONDS
"""

import sys
import time

import runlog
from workload import workload_a_rows


def main():
    root, run_id, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    steps = int(seconds * 10)
    rows = workload_a_rows(steps)
    run = runlog.init(project="bench", name="live", dir=root, id=run_id)
    start = time.monotonic()
    for i, row in enumerate(rows):
        delay = start + i / 10 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        run.log(row, step=i)
        run.flush()
    run.finish()


if __name__ == "__main__":
    main()
