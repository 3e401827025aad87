# SPDX-License-Identifier: Apache-2.0
"""The fleet soak: many live runs from several simulated nodes on two run
roots, two syncds killed with SIGKILL at random and restarted, MLflow on
PostgreSQL with several workers restarted every few minutes, network faults
from a proxy; at the end MLflow must equal the logs exactly. See
tools/soak --help and docs/benchmarks.md."""

import argparse
import decimal
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from typing import Dict, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

from figures import Figures, percentile  # noqa: E402
from proxy import FaultProxy  # noqa: E402
from servers import MLflowServer, PostgreSQL  # noqa: E402

BATCH = 1000


def plan_runs(args, roots: List[str], work: str) -> List[List[dict]]:
    """Per node, its runs: writer, steps, rate, ranks, and whether it is
    killed part way (and then requeued or left crashed)."""
    rng = random.Random(args.seed)
    seconds = args.minutes * 60
    per_node = [[] for _ in range(args.nodes)]
    waves = -(-args.runs // (args.nodes * args.concurrency))
    length = max(10.0, seconds / waves)
    rates = [float(r) for r in args.rates.split(",")]
    for i in range(args.runs):
        node = i % args.nodes
        rate = rng.choice(rates)
        spec = {
            "id": f"soak{i:04d}", "root": roots[i % len(roots)], "project": f"soak-{i % 3}",
            "writer": "swift" if i % 2 == 0 else "python", "seed": i,
            "rate": rate, "steps": int(length * rate * rng.uniform(0.8, 0.95)),
            "ranks": 2 if i % 2 == 1 and rng.random() < 0.2 else 1,
            "delay": rng.uniform(0, 2),
        }
        if rng.random() < 0.15:
            spec["kill_after"] = rng.uniform(0.2, 0.7) * spec["steps"] / rate
            spec["requeue"] = rng.random() < 0.6
        per_node[node].append(spec)
    return per_node


class Syncd:
    """One syncd daemon on one root, with its own state directory."""

    def __init__(self, binary: str, root: str, state: str, url: str, workers: int, log: str):
        self.argv = [binary, "--root", root, "--state", state, "--mlflow", url, "--workers", str(workers)]
        self.log = open(log, "ab")
        self.proc = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=dict(os.environ, SWIFT_BACKTRACE="enable=no"))

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return -9


def expected_points(runlog_bin: str, run_dir: str) -> Counter:
    """(MLflow key, step, value, timestamp ms) of every metric point in a run's logs."""
    points: Counter = Counter()
    logs = os.path.join(run_dir, "logs")
    for name in sorted(os.listdir(logs)):
        if not name.endswith(".rlog") or "-c" in name.split("-")[-1]:
            continue
        out = subprocess.run([runlog_bin, "dump", "--json", os.path.join(logs, name)], capture_output=True,
                             text=True, timeout=300).stdout
        prefix = ""
        for line in out.splitlines():
            r = json.loads(line, parse_float=decimal.Decimal)
            if r["kind"] == "header":
                prefix = f"rank{r['rank']}/" if r["rank"] else ""
            elif r["kind"] == "metrics":
                ms = int(r["time"] * 1000)
                for k, v in r["values"].items():
                    points[(prefix + k, r["step"], float(v), ms)] += 1
    return points


def mlflow_state(pg: PostgreSQL):
    import psycopg2
    conn = psycopg2.connect(host="127.0.0.1", port=pg.port, user="soak", dbname="mlflow")
    cur = conn.cursor()
    cur.execute("SELECT t.value, r.run_uuid, r.status FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid "
                "WHERE t.key = 'runlog.run_id' AND r.lifecycle_stage = 'active'")
    runs: Dict[str, List[Tuple[str, str]]] = {}
    for run_id, uuid, status in cur.fetchall():
        runs.setdefault(run_id, []).append((uuid, status))
    cur.execute("SELECT pg_total_relation_size('metrics'), pg_database_size('mlflow')")
    sizes = cur.fetchone()
    cur.execute("SELECT run_uuid, key, step, value, timestamp FROM metrics")
    metrics: Dict[str, Counter] = {}
    for uuid, key, step, value, ts in cur.fetchall():
        metrics.setdefault(uuid, Counter())[(key, step, value, ts)] += 1
    conn.close()
    return runs, metrics, sizes


def main() -> int:
    ap = argparse.ArgumentParser(prog="tools/soak", description=__doc__)
    ap.add_argument("--minutes", type=float, default=30, help="how long the writers write (default 30)")
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--nodes", type=int, default=8, help="writer processes (simulated nodes)")
    ap.add_argument("--concurrency", type=int, default=0,
                    help="runs a node writes at once (default: all of them, every run live at once)")
    ap.add_argument("--rates", default="1,2,5", help="steps per second a run writes, one picked per run")
    ap.add_argument("--mlflow-workers", type=int, default=2)
    ap.add_argument("--syncd-workers", type=int, default=4)
    ap.add_argument("--kill-every", default="20:60", help="seconds between syncd SIGKILLs, a range (0: none)")
    ap.add_argument("--restart-mlflow-every", type=float, default=300)
    ap.add_argument("--fault-rate", type=float, default=0.02, help="share of requests that meet a fault")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", metavar="DIR", help="keep the run roots, logs and servers' files here")
    ap.add_argument("--report", metavar="FILE", help="also write the figures as Markdown to FILE")
    ap.add_argument("--series", metavar="FILE", help="write the figures over time as CSV to FILE "
                    "(default: figures.csv in the soak's directory)")
    ap.add_argument("--sample-every", type=float, default=10, help="seconds between two samples of the figures")
    args = ap.parse_args()
    if args.concurrency <= 0:
        args.concurrency = -(-args.runs // args.nodes)
    runlog_bin = os.path.join(REPO, ".build", "release", "runlog")
    syncd_bin = os.path.join(REPO, ".build", "release", "syncd")
    for b in (runlog_bin, syncd_bin):
        if not os.path.exists(b):
            print(f"soak: {b} is missing: swift build -c release", file=sys.stderr)
            return 2
    work = args.keep or tempfile.mkdtemp(prefix="soak-")
    os.makedirs(work, exist_ok=True)
    rng = random.Random(args.seed * 7919)
    print(f"soak: seed {args.seed}, files in {work}", flush=True)
    pg = PostgreSQL(os.path.join(work, "pg"))
    mlflow = None
    syncds: List[Syncd] = []
    stop = threading.Event()
    counts = {"syncd kills": 0, "mlflow restarts": 0}
    try:
        mlflow = MLflowServer(os.path.join(work, "mlflow"), pg.uri, args.mlflow_workers)
        proxy = FaultProxy(mlflow.port, args.seed, args.fault_rate)
        url = f"http://127.0.0.1:{proxy.port}"
        roots = [os.path.join(work, f"root{i}") for i in range(2)]
        for i, root in enumerate(roots):
            os.makedirs(root)
            syncds.append(Syncd(syncd_bin, root, os.path.join(work, f"state{i}"), url, args.syncd_workers,
                                os.path.join(work, f"syncd{i}.log")))

        def chaos() -> None:
            lo, hi = (float(x) for x in args.kill_every.split(":"))
            next_kill = time.monotonic() + rng.uniform(lo, hi)
            next_restart = time.monotonic() + args.restart_mlflow_every
            while not stop.wait(1):
                now = time.monotonic()
                if hi > 0 and now >= next_kill:
                    s = rng.choice(syncds)
                    s.kill()
                    counts["syncd kills"] += 1
                    s.start()
                    next_kill = now + rng.uniform(lo, hi)
                if args.restart_mlflow_every > 0 and now >= next_restart:
                    mlflow.restart()
                    counts["mlflow restarts"] += 1
                    next_restart = time.monotonic() + args.restart_mlflow_every
        chaos_thread = threading.Thread(target=chaos, daemon=True)
        chaos_thread.start()
        series = args.series or os.path.join(work, "figures.csv")
        figures = Figures(series, args.sample_every, proxy, lambda: [s.proc.pid for s in syncds], work)

        started = time.time()
        nodes = []
        for n, specs in enumerate(plan_runs(args, roots, work)):
            plan = os.path.join(work, f"node{n}.json")
            with open(plan, "w") as fh:
                json.dump({"runlog": runlog_bin, "concurrency": args.concurrency, "runs": specs}, fh)
            env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "tools", "python"),
                       RUNLOG_SYSTEM_METRICS_INTERVAL="5")
            nodes.append(subprocess.Popen([sys.executable, os.path.join(HERE, "node.py"), plan], env=env))
        for p in nodes:
            p.wait()
        writers_done = time.time()
        print(f"soak: writers done after {writers_done - started:.0f} s; letting syncd catch up", flush=True)
        stop.set()
        chaos_thread.join()
        # Catch up: wait until both syncds have nothing left, then stop them.
        deadline = time.monotonic() + max(600, args.minutes * 60)
        while time.monotonic() < deadline:
            pending = 0
            for i, root in enumerate(roots):
                out = subprocess.run([syncd_bin, "status", "--root", root, "--state", os.path.join(work, f"state{i}"),
                                      "--json"], capture_output=True, text=True, timeout=120).stdout
                for line in out.splitlines():
                    row = json.loads(line)
                    if row.get("state") not in ("synced",):
                        pending += 1
            if pending == 0:
                break
            time.sleep(5)
        synced_at = time.time()
        figures.stop()
        figures.sample(time.time() - synced_at + args.sample_every)
        for s in syncds:
            s.stop()

        # MLflow against the logs.
        runs, metrics, (metrics_bytes, database_bytes) = mlflow_state(pg)
        total_points = lost = duplicated = duplicate_runs = wrong_status = 0
        problems: List[str] = []
        run_dirs = [(root, d) for root in roots for d in sorted(os.listdir(root)) if not d.startswith(".")]
        for root, run_id in run_dirs:
            want = expected_points(runlog_bin, os.path.join(root, run_id))
            total_points += sum(want.values())
            found = runs.get(run_id, [])
            if len(found) != 1:
                duplicate_runs += max(0, len(found) - 1)
                if not found:
                    lost += sum(want.values())
                    problems.append(f"{run_id}: no MLflow run")
                    continue
                problems.append(f"{run_id}: {len(found)} MLflow runs")
            uuid, status = found[0]
            got = metrics.get(uuid, Counter())
            missing = want - got
            extra = got - want
            lost += sum(missing.values())
            duplicated += sum(extra.values())
            if missing or extra:
                problems.append(f"{run_id}: {sum(missing.values())} points missing, {sum(extra.values())} extra")
            ls = subprocess.run([runlog_bin, "ls", root, "--json"], capture_output=True, text=True).stdout
            st = next((json.loads(line)["status"] for line in ls.splitlines()
                       if json.loads(line)["id"] == run_id), None)
            want_status = {"finished": "FINISHED", "failed": "FAILED", "crashed": "FAILED", "killed": "KILLED"}.get(st)
            if status != want_status:
                wrong_status += 1
                problems.append(f"{run_id}: MLflow says {status}, its logs say {st}")
        # At the wire: points processed beyond the logs' count are resends; at
        # most one request per syncd kill, lost answer and MLflow restart.
        resent = proxy.points_processed - total_points
        allowed = BATCH * (counts["syncd kills"] + proxy.answers_lost + counts["mlflow restarts"] * 2 * len(syncds))
        if resent > allowed:
            duplicated += resent - allowed
            problems.append(f"{resent} points sent twice at the wire, more than {allowed} allowed")
        for p in problems[:50]:
            print(f"soak: {p}")
        rss = figures.rss()
        writing = [row for row in figures.rows if row[0] <= writers_done - started]
        acked_writing = writing[-1][2] if writing else 0
        loads = [row[8] for row in figures.rows]
        summary = [
            ("runs", f"{len(run_dirs)} ({len(roots)} roots, {args.nodes} nodes)"),
            ("metric points", f"{total_points:,}"),
            ("writers wrote for", f"{writers_done - started:.0f} s; all synced {synced_at - writers_done:.0f} s later"),
            ("live runs", f"at most {max((row[1] for row in figures.rows), default=0)} at once "
                          f"(median {statistics.median(row[1] for row in writing) if writing else 0:.0f} "
                          "while the writers wrote)"),
            ("throughput", f"{acked_writing / max(1.0, writers_done - started):,.0f} points/s while the writers "
                           f"wrote; {total_points / max(1.0, synced_at - started):,.0f} points/s over the whole "
                           "soak"),
            ("lag, written → acknowledged by MLflow", f"p50 {percentile(proxy.lags_ms, 0.5) / 1000:.2f} s, "
                                                      f"p99 {percentile(proxy.lags_ms, 0.99) / 1000:.2f} s"),
            ("syncd RSS", f"min {min(rss):.1f} MiB, median {statistics.median(rss):.1f} MiB, "
                          f"max {max(rss):.1f} MiB ({len(rss)} samples, every {args.sample_every:.0f} s)"
                          if rss else "n/a"),
            ("machine", f"{os.cpu_count()} CPUs; load average median {statistics.median(loads) if loads else 0:.1f}, "
                        f"max {max(loads, default=0):.1f}"),
            ("PostgreSQL", f"metrics table {metrics_bytes / 2**20:,.0f} MiB ({metrics_bytes / max(1, total_points):.0f} "
                           f"bytes per point with its indexes), database {database_bytes / 2**20:,.0f} MiB"),
            ("chaos", f"{counts['syncd kills']} syncd SIGKILLs, {counts['mlflow restarts']} MLflow restarts, "
                      f"faults {proxy.faults}"),
            ("at the wire", f"{proxy.points_processed:,} points processed by MLflow, {resent:,} resent "
                            f"(allowed {allowed:,})"),
        ]
        table = "| what | figure |\n|---|---|\n" + "".join(f"| {k} | {v} |\n" for k, v in summary)
        print(table, flush=True)
        print(f"soak: figures over time in {series}", flush=True)
        if args.report:
            with open(args.report, "w") as fh:
                fh.write(table + "\n" + figures.markdown(max(args.sample_every, args.minutes * 60 / 15)))
        bad = lost or duplicated or duplicate_runs or wrong_status
        if wrong_status:
            print(f"soak: {wrong_status} runs with the wrong status in MLflow")
        print(f"soak: {len(run_dirs)} runs, {total_points} points, {lost} lost, {duplicated} duplicated, "
              f"{duplicate_runs} duplicate runs")
        return 1 if bad else 0
    finally:
        stop.set()
        for s in syncds:
            if s.proc and s.proc.poll() is None:
                s.proc.kill()
        if mlflow:
            mlflow.stop()
        pg.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
