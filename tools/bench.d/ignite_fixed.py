# SPDX-License-Identifier: Apache-2.0
"""Part of the ignite section of tools/bench: what runlog costs a process
once, whatever its length (importing it, starting a run with its
environment record and console helper, finishing it), measured as whole
processes that log one point, against Python that does nothing; wall time
and CPU of the process and its children (the console helper, git).
`RUNLOG_BENCH_IGNITE_BEFORE=DIR` adds the client in DIR, in the same rounds."""

import os
import statistics
import sys
import time

PY = sys.executable
SCRIPT = ("import runlog\n"
          "run = runlog.init(project='bench', dir={dir!r}, console={console!r})\n"
          "run.log({{'loss': 0.5}})\n"
          "run.finish()\n")
# (key, label, client directory or None for the tree's own, console mode or None for no runlog)
VARIANTS = [
    ("python", "Python alone (`python -c pass`)", None, None),
    ("off", "runlog, `console=\"off\"`", None, "off"),
    ("redirect", "runlog, console `redirect` (the default)", None, "redirect"),
]


def variants(repo):
    before = os.environ.get("RUNLOG_BENCH_IGNITE_BEFORE")
    own = os.path.join(repo, "tools", "python")
    out = [(k, label, own, c) for k, label, _, c in VARIANTS]
    if before:
        out.append(("before", f"runlog of {before}, console `redirect`", before, "redirect"))
    return out


def one(bench, key, client, console):
    """(wall s, CPU s of the process and its children) of one process."""
    directory = bench.fresh(f"fixed-{key}")
    code = "pass" if console is None else SCRIPT.format(dir=directory, console=console)
    env = dict(os.environ, PYTHONPATH=client or "", RUNLOG_SYSTEM_METRICS_INTERVAL="10")
    env.pop("RUNLOG_CONSOLE", None)
    t = time.perf_counter()
    pid = os.posix_spawn(PY, [PY, "-c", code], env)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) != 0:
        raise bench.Failed(f"a one-point run ({key}) exited {os.waitstatus_to_exitcode(status)}")
    return wall, usage.ru_utime + usage.ru_stime


def section_fixed(bench, reps, repo):
    rows = variants(repo)
    samples, errors = {k: [] for k, *_ in rows}, {}
    for _ in range(reps):  # interleaved
        for key, _, client, console in rows:
            if key in errors:
                continue
            try:
                samples[key].append(one(bench, key, client, console))
            except bench.Failed as e:
                errors[key] = e
    bench.out("### A run's fixed cost: a process that starts a run, logs one point and finishes")
    bench.out()
    if "python" in errors:
        bench.table(["process", "error"], [bench.row_error("Python alone", errors["python"], 2)])
        return
    base_wall = statistics.median(w for w, _ in samples["python"])
    base_cpu = statistics.median(c for _, c in samples["python"])
    out = []
    for key, label, *_ in rows:
        if key in errors:
            out.append(bench.row_error(label, errors[key], 5))
            continue
        wall = sorted(w for w, _ in samples[key])
        cpu = sorted(c for _, c in samples[key])
        med_w, med_c = statistics.median(wall), statistics.median(cpu)
        out.append([label, f"{med_w:.3f} ({wall[0]:.3f}–{wall[-1]:.3f})", f"{med_c:.3f} ({cpu[0]:.3f}–{cpu[-1]:.3f})",
                    "—" if key == "python" else f"{med_w - base_wall:.3f}",
                    "—" if key == "python" else f"{med_c - base_cpu:.3f}"])
    bench.table(["process", "wall s: median (min–max)", "CPU s with children: median (min–max)",
                 "added wall s", "added CPU s"], out)
    bench.out(f"{reps} rounds, the processes taking turns. The run's script: `import runlog`, `runlog.init(dir=…, "
              "console=…)` (environment record with git and the installed packages, system metrics every 10 s), "
              "one `log`, `finish`. CPU is the process's and its waited-for children's (`wait4`): the console "
              "helper, git.")
    bench.out()
