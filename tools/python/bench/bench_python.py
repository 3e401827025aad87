# SPDX-License-Identifier: Apache-2.0
"""Benchmarks of the Python client, printed as figures (no pass/fail).

    python tools/python/bench/bench_python.py [--quick] [--steps N]

Workload A (the curves of Sources/RunLogBench/Workload.swift, same seed and
generator): `run.log` of 4 float64 scalars per step, against tensorboardX's
`add_scalar` and W&B offline when they are installed (else the figures of
the anchors are printed, marked as such). Before it, 64-bin histograms of
100,000 float32 values (a different array each time) against
`numpy.histogram` alone, in CPU time. Times are wall and CPU
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


def histogram_pool(count, size=100_000, seed=3):
    """`count` distinct float32 arrays that drift and get noisier, as weights
    do in training: each histogram reads an array that is not in the cache."""
    import numpy as np

    rng = np.random.default_rng(seed)
    base = (0.05 * rng.standard_normal(size)).astype(np.float32)
    return [base * np.float32(1 + i / count) + np.float32(0.002 + 0.01 * i / count)
            * (rng.random(size, dtype=np.float32) - np.float32(0.5)) for i in range(count)]


def spread(values, unit=1e3):
    v = sorted(x * unit for x in values)
    return f"{statistics.median(v):6.3f} ms ({v[0]:.3f}-{v[-1]:.3f})"


def bench_histogram(root, count, reps):
    """CPU time per histogram of numpy.histogram alone, runlog.Histogram, and
    run.log of a runlog.Histogram through run.finish (frames written and
    fsynced), each over `count` histograms of distinct arrays; the three
    alternate in each of `reps` rounds so that they see the same load."""
    try:
        import numpy as np
    except ImportError:
        print("histogram: numpy not installed")
        return
    import zstandard

    pool = histogram_pool(min(count, 200))
    key = "grads/fc1.weight"

    def numpy_alone():
        for i in range(count):
            np.histogram(pool[i % len(pool)], bins=64)

    def histogram_alone():
        for i in range(count):
            runlog.Histogram(pool[i % len(pool)], num_bins=64)

    bytes_per = []

    def logged(rep):
        run = runlog.init(project="bench", dir=os.path.join(root, f"hist{rep}"))
        start = time.process_time()
        for i in range(count):
            run.log({key: runlog.Histogram(pool[i % len(pool)], num_bins=64)}, step=i)
        run.finish()
        bytes_per.append(os.path.getsize(run.path) / count)
        return time.process_time() - start

    def cpu(fn):
        start = time.process_time()
        fn()
        return time.process_time() - start

    times = {"numpy": [], "histogram": [], "log": []}
    for rep in range(reps):
        times["numpy"].append(cpu(numpy_alone) / count)
        times["histogram"].append(cpu(histogram_alone) / count)
        times["log"].append(logged(rep) / count)
    base = statistics.median(times["numpy"])

    def ratio(k):
        return f"= {statistics.median(times[k]) / base:.2f}x numpy.histogram"

    record = runlog.Histogram(pool[0], num_bins=64).record(key, 1, 1_764_171_652_123_456).encode()
    alone = len(zstandard.ZstdCompressor(level=1).compress(record))
    print(f"histogram: 64 bins of 100,000 float32 values, a different array each time ({len(pool)} arrays, "
          f"{len(pool) * 0.4:.0f} MB); CPU time of this process per histogram, median (min-max) of {reps} runs "
          f"of {count:,}:")
    print(f"  numpy.histogram alone           {spread(times['numpy'])}")
    print(f"  runlog.Histogram                {spread(times['histogram'])}  {ratio('histogram')} "
          f"(bins, count, min, max, sum, sum of squares, non-finite)")
    print(f"  run.log of a runlog.Histogram   {spread(times['log'])}  {ratio('log')} (through finish: "
          f"records, frames, zstd, write, fsync)")
    repeats = f" (the arrays repeat every {len(pool)}: zstd finds them again in a frame)" if count > len(pool) else ""
    print(f"  on disk {statistics.median(bytes_per):.0f} bytes per histogram, packed in the run's frames{repeats}; "
          f"the record is {len(record)} bytes, {alone} after zstd alone (W&B offline 3,556; TensorBoard 1,137)")


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
        # First, in a fresh process as in tools/bench: what workload A leaves
        # in the heap changes what large temporary arrays cost.
        bench_histogram(root, count=100 if a.quick else 1_000, reps=3 if a.quick else 7)
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
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
