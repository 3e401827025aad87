# SPDX-License-Identifier: Apache-2.0
"""The ignite section of tools/bench: what logging adds to a small PyTorch
Ignite training run, runlog against ignite's TensorBoard logger
(tensorboardX) and W&B offline, each run in its own process, the loggers
taking turns so that all see the machine in the same state.

`RUNLOG_BENCH_IGNITE_BEFORE=DIR` adds a row for the runlog client found in
DIR (a `tools/python` of another commit), to compare two versions in one run;
`RUNLOG_BENCH_IGNITE_DIAGNOSE=1` adds runlog with system metrics off and in
`mode="disabled"` (its handlers alone). `RUNLOG_BENCH_IGNITE_WORKLOAD=digits`
(or `linear`) runs one workload, `fixed` only the run's fixed cost
(`ignite_fixed.py`), `RUNLOG_BENCH_IGNITE_ROUNDS=N` N rounds.
"""

import os
import statistics
import sys

import ignite_fixed

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PY = sys.executable

# (full, quick) iterations; repetitions.
WORKLOADS = [
    ("digits", (3_600, 90), ("the digits CNN of the README's Ignite example (scikit-learn's 8×8 digits, SGD with "
                             "momentum), 40 epochs of batch 16")),
    ("linear", (20_000, 400), "a tiny linear model (10 → 1 on generated tensors, batch 32, SGD)"),
]
REPS = (5, 1)
# With --quick (a smoke test), the digits CNN runs these rows only.
QUICK_DIGITS = ("none", "runlog")

# (key, label, logger, environment)
ROWS = [
    ("none", "no logger", "none", {}),
    ("runlog", "runlog `RunLogLogger` (system metrics every 10 s)", "runlog", {}),
    ("tensorboardx", "ignite `TensorboardLogger` (tensorboardX)", "tensorboardx", {}),
    ("wandb", "ignite `WandBLogger`, W&B offline (system metrics at its default)", "wandb", {}),
]
DIAGNOSE = [
    ("runlog-nosys", "runlog, system metrics off", "runlog", {"RUNLOG_SYSTEM_METRICS_INTERVAL": "0"}),
    ("runlog-disabled", "runlog, `mode=\"disabled\"` (the handlers alone, nothing written)", "runlog",
     {"RUNLOG_MODE": "disabled"}),
]


def rows():
    before = os.environ.get("RUNLOG_BENCH_IGNITE_BEFORE")
    extra = [("runlog-before", f"runlog of {before}", "runlog", {"PYTHONPATH": before})] if before else []
    if os.environ.get("RUNLOG_BENCH_IGNITE_DIAGNOSE") == "1":
        extra += DIAGNOSE
    return ROWS[:2] + extra + ROWS[2:]


def train(bench, workload, key, logger, env, iterations):
    """One training process: its `result` dict."""
    if logger == "tensorboardx":
        bench.python_module("tensorboardX")
    elif logger == "wandb":
        bench.python_module("wandb")
    elif logger == "runlog":
        bench.python_client()
    directory = bench.fresh(f"ignite-{workload}-{key}")
    env = dict(env, WANDB_SILENT="true", WANDB_MODE="offline")
    if "PYTHONPATH" in env:
        env["PYTHONPATH"] = os.pathsep.join([HERE, env["PYTHONPATH"]])
    return bench.run([PY, os.path.join(HERE, "ignite_train.py"), workload, logger, str(iterations), directory],
                     env=env, timeout=1800, what=f"ignite_train.py {workload} {key}")[0]


def section_ignite(bench):
    bench.python_module("torch, ignite, sklearn")
    reps = int(os.environ.get("RUNLOG_BENCH_IGNITE_ROUNDS") or REPS[1 if bench.quick else 0])
    only = os.environ.get("RUNLOG_BENCH_IGNITE_WORKLOAD")
    if only == "fixed":  # the run's fixed cost alone
        ignite_fixed.section_fixed(bench, reps, REPO)
        return
    for workload, sizes, what in WORKLOADS:
        if only and workload != only:
            continue
        iterations = sizes[1 if bench.quick else 0]
        table_rows = [r for r in rows() if not (bench.quick and workload == "digits" and r[0] not in QUICK_DIGITS)]
        samples, errors = {key: [] for key, *_ in table_rows}, {}
        for _ in range(reps):  # interleaved: every logger sees the machine in the same state
            for key, _, logger, env in table_rows:
                if key in errors:
                    continue
                try:
                    r = train(bench, workload, key, logger, env, iterations)
                except (bench.NotThere, bench.Failed) as e:
                    errors[key] = e
                    continue
                samples[key].append(r)
                print(f"== bench: ignite {workload} {key} round {len(samples[key])}: wall {r['wall_s']:.2f} s, "
                      f"CPU {r['cpu_s']:.2f} s", file=sys.stderr, flush=True)
        bench.out(f"### Ignite training loop: {what}")
        bench.out()
        if "none" in errors:
            bench.table(["logger", "error"], [bench.row_error("no logger", errors["none"], 2)])
            continue
        n = samples["none"][0]["iterations"]
        added = {key: added_per_iteration(samples["none"], s, "wall_s") for key, s in samples.items() if s}
        added_cpu = {key: added_per_iteration(samples["none"], s, "cpu_s") for key, s in samples.items() if s}
        wandb = statistics.median(added["wandb"]) if added.get("wandb") else None
        out = []
        for key, label, *_ in table_rows:
            if key in errors:
                out.append(bench.row_error(label, errors[key], 7))
                continue
            wall = [r["wall_s"] for r in samples[key]]
            cpu = [r["cpu_s"] for r in samples[key]]
            base = key == "none"
            ratio = "—" if base or not wandb else f"{statistics.median(added[key]) / wandb:.3f}"
            out.append([label, f"{n:,} × {len(wall)}", spread(wall, 2),
                        "—" if base else spread(added[key], 0),
                        ratio,
                        f"{statistics.median(cpu):.2f}",
                        "—" if base else f"{statistics.median(added_cpu[key]):,.0f}"])
        bench.table(["logger", "iterations × runs", "training wall s: median (min–max)",
                     "added wall µs/iteration: median (min–max)", "÷ W&B's added wall",
                     "CPU s (with helpers)", "added CPU µs/iteration"], out)
        if wandb and added.get("runlog"):
            cpu_w = statistics.median(added_cpu["wandb"])
            cpu_ratio = f"{statistics.median(added_cpu['runlog']) / cpu_w:.3f}" if cpu_w > 0 else "n/a"
            bench.out(f"runlog's added time ÷ W&B's: wall {statistics.median(added['runlog']) / wandb:.3f}, "
                      f"CPU {cpu_ratio} (goal: at most 0.05 of the wall time).")
            bench.out()
    ignite_fixed.section_fixed(bench, reps, REPO)
    bench.out("Each run is its own process: `tools/bench.d/ignite_train.py`, timed from `trainer.run` until the "
              "logger's `close` returned (imports and creating the logger not timed). Every logger logs the loss "
              "and the learning rate every iteration and gradient histograms every 50 (W&B: `wandb.watch(model, "
              "log_freq=50)`). The loggers take turns, round after round; the added time of a run is its time "
              "minus that of the no-logger run of the same round, and the medians are over the rounds. Torch runs "
              "with one intra-op thread. CPU time includes every thread and W&B's service process.")
    bench.out()


def added_per_iteration(none, runs, field):
    """µs per iteration that each run took beyond the no-logger run of its round."""
    return [(r[field] - b[field]) / r["iterations"] * 1e6 for b, r in zip(none, runs)]


def spread(values, decimals):
    v = sorted(values)
    if len(v) == 1:
        return f"{v[0]:,.{decimals}f}"
    return f"{statistics.median(v):,.{decimals}f} ({v[0]:,.{decimals}f}–{v[-1]:,.{decimals}f})"
