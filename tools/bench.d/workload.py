# SPDX-License-Identifier: Apache-2.0
"""What the anchor scripts share: workloads A and B, CPU accounting, the result line.

Workload A is the one of Sources/RunLogBench/Workload.swift, value for value:
the same SplitMix64 stream and Box-Muller draws, so every writer stores the
same curves (loss, accuracy, lr, grad_norm). Workload B is a pool of drifting
float32 weight arrays of 100,000 values, histogrammed into 64 bins.

Each script prints one line `result {json}` that tools/bench reads.
"""

import json
import os
import resource
import time

import numpy as np

KEYS = ("loss", "accuracy", "lr", "grad_norm")
HISTOGRAM_KEY = "grads/fc1.weight"
HISTOGRAM_VALUES = 100_000
HISTOGRAM_POOL = 200

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _splitmix(seed, count):
    """The first `count` outputs of BenchRandom(seed).next(), as uint64."""
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + np.arange(1, count + 1, dtype=np.uint64) * _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _uniform(seed, count):
    return (_splitmix(seed, count) >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _gaussian(u1, u2):
    return np.sqrt(-2 * np.log(np.maximum(u1, 1e-300))) * np.cos(2 * np.pi * u2)


def workload_a(steps, seed=1):
    """The 4 curves of workload A as float64 arrays, in KEYS order."""
    u = _uniform(seed, 6 * steps).reshape(steps, 6)
    x = np.arange(steps, dtype=np.float64)
    n = float(steps)
    loss = 2.5 * np.exp(-x / (n / 4)) + 0.1 + 0.05 * _gaussian(u[:, 0], u[:, 1])
    accuracy = np.clip(1 - 0.9 * np.exp(-x / (n / 5)) + 0.01 * _gaussian(u[:, 2], u[:, 3]), 0, 1)
    lr = 3e-4 * 0.5 * (1 + np.cos(np.pi * x / n))
    grad_norm = np.exp(0.5 * _gaussian(u[:, 4], u[:, 5]))
    return loss, accuracy, lr, grad_norm


def workload_a_rows(steps):
    """Workload A as a list of dicts, one per step, of Python floats (built before timing)."""
    cols = [c.tolist() for c in workload_a(steps)]
    return [dict(zip(KEYS, row)) for row in zip(*cols)]


def histogram_pool(count):
    """min(count, HISTOGRAM_POOL) distinct float32 arrays that drift and get noisier."""
    rng = np.random.default_rng(3)
    base = (0.05 * rng.standard_normal(HISTOGRAM_VALUES)).astype(np.float32)
    pool = []
    for i in range(min(count, HISTOGRAM_POOL)):
        scale = np.float32(1 + i / HISTOGRAM_POOL)
        noise = np.float32(0.002 + 0.01 * i / HISTOGRAM_POOL)
        pool.append(base * scale + noise * (rng.random(HISTOGRAM_VALUES, dtype=np.float32) - np.float32(0.5)))
    return pool


def _descendants(pid):
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        children.setdefault(int(fields[1]), []).append((int(entry), fields))
    out, todo = [], [pid]
    while todo:
        for child, fields in children.get(todo.pop(), []):
            out.append(fields)
            todo.append(child)
    return out


def tree_cpu():
    """CPU seconds used so far by this process (all threads), by its children
    that exited, and by its live descendants (e.g. wandb's service process)."""
    tick = os.sysconf("SC_CLK_TCK")
    own = time.process_time()
    gone = resource.getrusage(resource.RUSAGE_CHILDREN)
    live = sum(int(f[11]) + int(f[12]) + int(f[13]) + int(f[14]) for f in _descendants(os.getpid())) / tick
    return own + gone.ru_utime + gone.ru_stime + live


class Timer:
    """Wall and CPU time of a block: `with Timer() as t: ...; t.wall, t.cpu`."""

    def __enter__(self):
        self._wall, self._cpu = time.perf_counter(), tree_cpu()
        return self

    def stop(self):
        self.wall = time.perf_counter() - self._wall
        self.cpu = tree_cpu() - self._cpu

    def __exit__(self, *exc):
        if exc[0] is None:
            self.stop()


def report(**fields):
    print("result " + json.dumps(fields), flush=True)


def tree_size(path, suffix=""):
    """Bytes of the files under `path` whose names end with `suffix`."""
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files if f.endswith(suffix))
    return total


def files_under(path, suffix):
    return sorted(os.path.join(r, f) for r, _, fs in os.walk(path) for f in fs if f.endswith(suffix))
