# SPDX-License-Identifier: Apache-2.0
"""A training run written by the Python client, for the soak.

    writer.py ROOT RUN_ID PROJECT STEPS RATE SEED

Rank and attempt come from RUNLOG_RANK and RUNLOG_ATTEMPT, as on a cluster."""

import math
import random
import sys
import time

import runlog


def main() -> None:
    root, run_id, project = sys.argv[1], sys.argv[2], sys.argv[3]
    steps, rate, seed = int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
    rng = random.Random(seed)
    run = runlog.init(project=project, name=run_id, id=run_id, dir=root, config={"lr": 3e-4, "seed": seed},
                      tags=["soak"])
    start = time.monotonic()
    for step in range(steps):
        loss = 2.5 * math.exp(-step / max(1, steps / 4)) + 0.1 + rng.gauss(0, 0.02)
        lr = 3e-4 * (1 + math.cos(math.pi * step / steps)) / 2
        run.log({"train/loss": loss, "train/acc": 1 - loss / 3, "lr": lr}, step=step)
        if step % 100 == 0:
            run.log({"weights": runlog.Histogram([rng.gauss(0, 1) for _ in range(256)], num_bins=16)}, step=step)
        delay = start + (step + 1) / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    run.summary["final_loss"] = loss
    run.finish()


if __name__ == "__main__":
    main()
