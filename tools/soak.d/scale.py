# SPDX-License-Identifier: Apache-2.0
"""How sync throughput grows with MLflow's workers and syncd's --workers, on
PostgreSQL: writes the same finished runs once, then for each combination
uploads them into a fresh database with `syncd --once` and times it.

    tools/soak --scale [--runs 32] [--steps 2500] [--mlflow-workers 1,2,4] [--syncd-workers 1,4,8]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

from servers import MLflowServer, PostgreSQL  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(prog="tools/soak --scale", description=__doc__)
    ap.add_argument("--runs", type=int, default=32)
    ap.add_argument("--steps", type=int, default=2500, help="steps per run, 4 metrics each")
    ap.add_argument("--mlflow-workers", default="1,2,4")
    ap.add_argument("--syncd-workers", default="1,4,8")
    args = ap.parse_args()
    runlog_bin = os.path.join(REPO, ".build", "release", "runlog")
    syncd_bin = os.path.join(REPO, ".build", "release", "syncd")
    work = tempfile.mkdtemp(prefix="soak-scale-")
    try:
        root = os.path.join(work, "runs")
        for i in range(args.runs):
            subprocess.run([runlog_bin, "demo", "--steps", str(args.steps), "--histograms-every", "0",
                            "--checkpoint-every", "0", "--dir", root, "--id", f"scale{i:03d}", "--seed", str(i)],
                           check=True, capture_output=True)
        points = args.runs * args.steps * 4
        print(f"{args.runs} runs, {points:,} metric points; nproc {os.cpu_count()}")
        print("| MLflow workers | syncd --workers | points/s | wall s | load average (1 min) at the end |\n"
              "|---|---|---|---|---|")
        for mw in (int(x) for x in args.mlflow_workers.split(",")):
            for sw in (int(x) for x in args.syncd_workers.split(",")):
                pg = PostgreSQL(os.path.join(work, f"pg-{mw}-{sw}"))
                mlflow = None
                try:
                    mlflow = MLflowServer(os.path.join(work, f"mlflow-{mw}-{sw}"), pg.uri, mw)
                    state = os.path.join(work, f"state-{mw}-{sw}")
                    t0 = time.monotonic()
                    p = subprocess.run([syncd_bin, "--once", "--root", root, "--state", state, "--mlflow",
                                        f"http://127.0.0.1:{mlflow.port}", "--workers", str(sw)],
                                       capture_output=True, text=True)
                    wall = time.monotonic() - t0
                    if p.returncode != 0:
                        print(f"| {mw} | {sw} | failed: exit {p.returncode} | | |")
                    else:
                        print(f"| {mw} | {sw} | {points / wall:,.0f} | {wall:.1f} | {os.getloadavg()[0]:.1f} |",
                              flush=True)
                finally:
                    if mlflow:
                        mlflow.stop()
                    pg.stop()
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
