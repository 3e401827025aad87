"""Benchmarks of the Python client, printed as figures (no pass/fail).

    python tools/python/bench/bench_python.py [--quick] [--steps N]

Workload A (the curves of Sources/RunLogBench/Workload.swift, same seed and
generator): `run.log` of 4 float64 scalars per step, against tensorboardX's
`add_scalar` and W&B offline when they are installed (else the figures of
the anchors are printed, marked as such). Then a 64-bin histogram of 100,000
float32 values against `numpy.histogram` alone. Times are wall and CPU
(of this process, its writer thread included, and of its reaped children,
W&B's service process included) on this machine, as it is loaded.
"""

import argparse
import math
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time

import runlog
from runlog import _wire

KEYS = ("loss", "accuracy", "lr", "grad_norm")
# The anchors' figures, used when the library is not installed here.
ANCHOR_WANDB_SCALARS_PER_S = 5_000
ANCHOR_WANDB_BYTES_PER_POINT = 127


class BenchRandom:
    """splitmix64 and Box-Muller, as BenchRandom in Workload.swift."""

    def __init__(self, seed):
        self.state = seed

    def next(self):
        m = (1 << 64) - 1
        self.state = (self.state + 0x9E3779B97F4A7C15) & m
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
        return z ^ (z >> 31)

    def uniform(self):
        return (self.next() >> 11) * 2.0 ** -53

    def gaussian(self):
        u = max(self.uniform(), 1e-300)
        return math.sqrt(-2 * math.log(u)) * math.cos(2 * math.pi * self.uniform())


def workload_a(steps, seed=1):
    rng = BenchRandom(seed)
    n = float(steps)
    rows = []
    for i in range(steps):
        x = float(i)
        loss = 2.5 * math.exp(-x / (n / 4)) + 0.1 + 0.05 * rng.gaussian()
        acc = min(1.0, max(0.0, 1 - 0.9 * math.exp(-x / (n / 5)) + 0.01 * rng.gaussian()))
        lr = 3e-4 * 0.5 * (1 + math.cos(math.pi * x / n))
        grad = math.exp(0.5 * rng.gaussian())
        rows.append((loss, acc, lr, grad))
    return rows


def cpu_time():
    """CPU seconds of this process and its reaped children (W&B's service process)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


class Clock:
    def __init__(self):
        self.wall = time.perf_counter()
        self.cpu = cpu_time()

    def lap(self):
        return time.perf_counter() - self.wall, cpu_time() - self.cpu


def dir_size(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def bench_runlog(rows, root):
    run = runlog.init(project="bench", dir=root)
    log = run.log
    c = Clock()
    for a, b, cc, d in rows:
        log({"loss": a, "accuracy": b, "lr": cc, "grad_norm": d})
    calls = c.lap()
    run.finish()
    total = c.lap()
    points = 4 * len(rows)
    return {"calls": calls, "total": total, "bytes": os.path.getsize(run.path), "points": points}


def bench_tensorboardx(rows, root):
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        return None
    writer = SummaryWriter(logdir=os.path.join(root, "tb"))
    c = Clock()
    for i, row in enumerate(rows):
        for k, v in zip(KEYS, row):
            writer.add_scalar(k, v, i)
    calls = c.lap()
    writer.close()
    total = c.lap()
    return {"calls": calls, "total": total, "bytes": dir_size(os.path.join(root, "tb")), "points": 4 * len(rows)}


def bench_wandb(rows, root):
    try:
        import wandb
    except ImportError:
        return None
    os.environ["WANDB_SILENT"] = "true"
    run = wandb.init(project="bench", mode="offline", dir=root)
    c = Clock()
    for row in rows:
        run.log(dict(zip(KEYS, row)))
    calls = c.lap()
    run.finish()
    total = c.lap()
    return {"calls": calls, "total": total, "bytes": dir_size(os.path.join(root, "wandb")), "points": 4 * len(rows)}


def rate(result, which="total", clock=0):
    return result["points"] / result[which][clock]


def print_scalars(name, r):
    if r is None:
        print(f"  {name:<22} not installed")
        return
    print(f"  {name:<22} log calls {rate(r, 'calls'):>12,.0f} scalars/s wall, {rate(r, 'calls', 1):>12,.0f} CPU;"
          f"  with close {rate(r):>12,.0f} wall, {rate(r, 'total', 1):>12,.0f} CPU;"
          f"  {r['bytes'] / r['points']:6.2f} B/point")


def median_time(fn, reps):
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_histogram(reps):
    try:
        import numpy as np
    except ImportError:
        print("histogram: numpy not installed")
        return
    import zstandard

    rng = np.random.default_rng(1)
    values = (0.05 * rng.standard_normal(100_000)).astype(np.float32)
    t_np = median_time(lambda: np.histogram(values, bins=64), reps)
    t_rl = median_time(lambda: runlog.Histogram(values, num_bins=64), reps)
    record = runlog.Histogram(values, num_bins=64).record("weights", 1, 1_764_171_652_123_456).encode()
    packed = len(zstandard.ZstdCompressor(level=1).compress(record))
    print(f"histogram, 100,000 float32 values, 64 bins (median of {reps}):")
    print(f"  numpy.histogram alone  {t_np * 1e3:8.3f} ms")
    print(f"  runlog.Histogram       {t_rl * 1e3:8.3f} ms  = {t_rl / t_np:.2f}x numpy.histogram "
          f"(bins, count, min, max, sum, sum of squares, non-finite)")
    print(f"  record {len(record)} bytes, {packed} after zstd level 1 (W&B offline 3,556; TensorBoard 1,137)")


def main(argv=None):
    p = argparse.ArgumentParser(description="Benchmarks of the runlog Python client")
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    p.add_argument("--steps", type=int, default=None, help="workload A steps (default 200,000; quick 20,000)")
    a = p.parse_args(argv)
    steps = a.steps or (20_000 if a.quick else 200_000)
    other_steps = max(1_000, steps // 10)
    print(f"runlog-python {runlog.__version__}, Python {sys.version.split()[0]}, CRC32C: "
          f"{_wire.CRC32C_IMPLEMENTATION}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    rows = workload_a(steps)
    root = tempfile.mkdtemp(prefix="runlog-bench-")
    try:
        print(f"workload A: run.log of 4 float64 scalars; runlog {steps:,} steps, others {other_steps:,} steps")
        r = bench_runlog(rows, os.path.join(root, "rl"))
        print_scalars("runlog", r)
        tb = bench_tensorboardx(rows[:other_steps], root)
        print_scalars("tensorboardX add_scalar", tb)
        wb = bench_wandb(rows[:other_steps], root)
        print_scalars("W&B offline", wb)
        if tb is not None:
            print(f"  runlog / tensorboardX: {rate(r) / rate(tb):.0f}x wall, "
                  f"{rate(r, 'total', 1) / rate(tb, 'total', 1):.0f}x CPU (with close)")
        if wb is not None:
            print(f"  runlog / W&B offline:  {rate(r) / rate(wb):.0f}x wall, "
                  f"{rate(r, 'total', 1) / rate(wb, 'total', 1):.0f}x CPU (with close)")
        else:
            print(f"  runlog / W&B offline (anchor: {ANCHOR_WANDB_SCALARS_PER_S:,} scalars/s, "
                  f"{ANCHOR_WANDB_BYTES_PER_POINT} B/point): {rate(r) / ANCHOR_WANDB_SCALARS_PER_S:.0f}x wall")
        bench_histogram(reps=5 if a.quick else 31)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
