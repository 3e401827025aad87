# SPDX-License-Identifier: Apache-2.0
"""The Python client's workload for crash-state exploration: a run with
every record kind the client writes, a checkpoint, and printed lines (the
console helper's log), under ROOT as RUN_ID.

    python workload_python.py ROOT RUN_ID [STEPS]
"""

import os
import sys
import time

# The client of this checkout, not a copy installed in the venv.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import runlog  # noqa: E402


def main() -> None:
    root, run_id = sys.argv[1], sys.argv[2]
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 120
    source = os.path.join(os.path.dirname(root.rstrip("/")) or ".", f"ckpt-source-{run_id}.bin")
    with open(source, "wb") as fh:
        fh.write(bytes(range(256)) * 256)   # 64 KiB
    run = runlog.init(project="crash", name="python", id=run_id, dir=root, config={"lr": 0.01, "layers": [64, 32]},
                      tags=["crash"], notes="crash-state workload", flush_interval=0.05)
    for step in range(steps):
        run.log({"loss": 1.0 / (step + 1), "acc": step / steps})
        time.sleep(0.004)   # a training step: lets the writer thread write several frames
        if step % 25 == 0:
            print(f"step {step} loss {1.0 / (step + 1):.4f}", flush=True)   # through the console helper's log
        if step % 40 == 0:
            run.log({"weights": runlog.Histogram([float(i % 17) for i in range(200)], num_bins=8)}, step=step)
        if step % 100 == 50:
            run.save_checkpoint(source, name="best", aliases=["best"])
        if step == steps // 2:
            run.tags = list(run.tags) + ["halfway"]
            run.notes = "past halfway"
            run.flush()
    run.summary["best"] = 0.5
    run.finish()


if __name__ == "__main__":
    main()
