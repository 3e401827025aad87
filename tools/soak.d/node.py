# SPDX-License-Identifier: Apache-2.0
"""One simulated cluster node of the soak: runs its share of training runs,
a few at a time, with the Swift logger (`runlog demo`) or the Python client
(`writer.py`). Some runs have two ranks; some are killed with SIGKILL part
way, and of those some are requeued: started again with the same id, which
makes a second attempt, writing the steps the first did not reach.

    node.py PLAN.json    (a list of run specs; see soak.py)
"""

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))


def argv_for(spec: dict, runlog_bin: str) -> list:
    if spec["writer"] == "swift":
        return [runlog_bin, "demo", "--steps", str(spec["steps"]), "--rate", str(spec["rate"]),
                "--histograms-every", "100", "--checkpoint-every", "0", "--dir", spec["root"], "--id", spec["id"],
                "--project", spec["project"], "--name", spec["id"], "--seed", str(spec["seed"])]
    return [sys.executable, os.path.join(HERE, "writer.py"), spec["root"], spec["id"], spec["project"],
            str(spec["steps"]), str(spec["rate"]), str(spec["seed"])]


def start(spec: dict, runlog_bin: str, attempt: int) -> list:
    procs = []
    for rank in range(spec["ranks"]):
        env = dict(os.environ, RUNLOG_RANK=str(rank), RUNLOG_WORLD_SIZE=str(spec["ranks"]),
                   RUNLOG_ATTEMPT=str(attempt))
        procs.append(subprocess.Popen(argv_for(spec, runlog_bin), env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True))
    return procs


def run_spec(spec: dict, runlog_bin: str) -> None:
    procs = start(spec, runlog_bin, 1)
    if spec.get("kill_after"):
        deadline = time.monotonic() + spec["kill_after"]
        while time.monotonic() < deadline and any(p.poll() is None for p in procs):
            time.sleep(0.2)
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for p in procs:
            p.wait()
        if spec.get("requeue"):
            # The requeued attempt writes the steps the first one did not reach,
            # so that the writers end within the soak's minutes.
            time.sleep(1)
            rest = max(1, spec["steps"] - int(spec["kill_after"] * spec["rate"]))
            procs = start(dict(spec, steps=rest), runlog_bin, 2)
    for p in procs:
        p.wait()


def main() -> None:
    plan = json.load(open(sys.argv[1]))
    runlog_bin = plan["runlog"]
    with ThreadPoolExecutor(max_workers=plan["concurrency"]) as pool:
        for spec in plan["runs"]:
            time.sleep(spec.get("delay", 0))
            pool.submit(run_spec, spec, runlog_bin)


if __name__ == "__main__":
    main()
