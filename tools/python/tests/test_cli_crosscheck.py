# SPDX-License-Identifier: Apache-2.0
"""Logs written by Python, read by the Swift `runlog` tool: `verify` finds
them intact and `dump --json` gives back exactly what was logged.

The tool is `.build/debug/runlog` (tools/test builds it first) or $RUNLOG_BIN.
Under CI a missing binary is a failure, not a skip."""

import json
import math
import os
import subprocess
import sys

import pytest

from conftest import REPO
import runlog
from runlog import canonical

def written_run(root, tmp_path):
    ck = tmp_path / "model.pt"
    ck.write_bytes(b"weights" * 100)
    run = runlog.init(project="cross", name="python → swift", dir=root, id="cross-1", tags=["a", "b"],
                      notes="line one\nline \"two\"", config={"lr": 0.01, "nested": {"betas": [0.9, 0.999], "on": True},
                                                            "none": None, "big": 1.5e16, "tiny": 1e-5,
                                                            "near2p53": 9007199254740994.0})
    logged = []
    for i in range(3000):
        row = {"loss": 1 / (i + 1), "acc": i / 3000}
        if i % 100 == 0:
            row["val/acc"] = 0.5 + i / 10000
        run.log(row)
        logged.append((i, row))
    odd = {"nan": float("nan"), "inf": float("inf"), "ninf": float("-inf"), "negzero": -0.0, "f32": 0.25}
    run.log(odd, step=7)  # lower than the current step: kept
    logged.append((7, odd))
    hists = []
    for i in range(20):  # logged together: they share frames
        h = runlog.Histogram([(j * 0.37 * (i + 1)) % 5 - 2.5 for j in range(1000)], num_bins=16)
        run.log({"grads": h}, step=2980 + i)
        hists.append(h)
    run.log({"weights": runlog.Histogram([0.1, 0.2, 0.2, 0.9, float("nan")], num_bins=4)}, step=3000)
    run.summary["best"] = 0.99
    run.tags = ["b", "c"]
    run.save_checkpoint(str(ck), name="best", aliases=["best"], metadata={"epoch": 3})
    run.finish(exit_code=0)
    return run, logged, hists


def same(a, b):
    if isinstance(b, float) and math.isnan(b):
        return a == "NaN"
    if isinstance(b, float) and math.isinf(b):
        return a == ("Infinity" if b > 0 else "-Infinity")
    return a == b and (b != 0 or math.copysign(1, a) == math.copysign(1, b))


def test_swift_tool_verifies_python_logs_and_dumps_what_was_logged(cli, rundir, tmp_path):
    run, logged, hists = written_run(rundir, tmp_path)
    verify = subprocess.run([cli, "verify", run.path], capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    dump = subprocess.run([cli, "dump", "--json", run.path], capture_output=True, text=True, timeout=120)
    assert dump.returncode == 0, dump.stderr
    assert dump.stdout == canonical.dump(runlog.LogReader(run.path))
    lines = [json.loads(x) for x in dump.stdout.splitlines()]
    rows = [(j["step"], j["values"]) for j in lines if j["kind"] == "metrics"]
    assert len(rows) == len(logged)
    for (step, got), (want_step, want) in zip(rows, logged):
        assert step == want_step and list(got) == list(want)
        assert all(same(got[k], float(v)) for k, v in want.items()), (step, got, want)
    start = next(j for j in lines if j["kind"] == "run_start")
    assert (start["run_id"], start["name"], start["notes"], start["tags"]) == (
        "cross-1", "python → swift", "line one\nline \"two\"", ["a", "b"])
    config = next(j for j in lines if j["kind"] == "config")["values"]
    assert config == {"lr": 0.01, "nested": {"betas": [0.9, 0.999], "on": True}, "none": None, "big": 1.5e16,
                      "tiny": 1e-5, "near2p53": 9007199254740994.0}
    hist = next(j for j in lines if j["kind"] == "histogram" and j["key"] == "weights")
    assert (hist["key"], hist["step"], hist["counts"], hist["count"], hist["nonfinite"]) == ("weights", 3000,
                                                                                            [3, 0, 0, 1], 4, 1)
    grads = [j for j in lines if j["kind"] == "histogram" and j["key"] == "grads"]
    assert [(j["step"], j["range"], j["counts"], j["count"], j["min"], j["max"], j["sum"], j["sum_squares"])
            for j in grads] == [(2980 + i, [h.low, h.high], h.counts, h.count, h.min, h.max, h.sum, h.sum_squares)
                                for i, h in enumerate(hists)]
    ck = next(j for j in lines if j["kind"] == "checkpoint")
    assert ck["path"] == "checkpoints/best/3000-model.pt" and ck["metadata"] == {"epoch": 3}
    assert next(j for j in lines if j["kind"] == "tags") == {"kind": "tags", "add": ["c"], "remove": ["a"],
                                                            "notes": None}
    assert lines[-1]["kind"] == "run_end" and lines[-1]["status"] == "finished"


def test_runlog_logs_shows_what_the_python_client_captured(cli, tmp_path):
    script = tmp_path / "train.py"
    # The two streams are two pipes: their order is known to the time the helper reads them.
    script.write_text("import sys, time, runlog\nrunlog.init(project='p', id='r1')\n"
                      "for i in range(3):\n    sys.stderr.write(f'\\rbar {i}/2')\nsys.stderr.write('\\n')\n"
                      "time.sleep(0.3)\nprint('hello')\ntime.sleep(0.3)\nraise SystemExit('bye')\n")
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "tools", "python"), RUNLOG_DIR=str(tmp_path / "runs"),
               RUNLOG_CONSOLE="redirect")
    p = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, timeout=60, check=False)
    assert p.returncode == 1
    r = subprocess.run([cli, "logs", str(tmp_path / "runs" / "r1")], capture_output=True, text=True, timeout=60,
                       check=False)
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == "bar 2/2\nhello\nbye\n"


def test_verify_tells_a_checkpoint_removed_on_purpose_from_a_lost_one(cli, rundir, tmp_path):
    src = tmp_path / "model.pt"
    src.write_bytes(b"weights" * 10)
    run = runlog.init(project="cross", dir=rundir, id="retire-1")
    paths = []
    for step in range(3):
        run.log({"loss": 1.0 / (step + 1)}, step=step)
        paths.append(run.save_checkpoint(str(src), name="model", aliases=["latest"]))
    run.remove_checkpoint(paths[0])
    run.remove_checkpoint(paths[0])  # again: the file is already gone, which is not an error
    run.finish()
    assert not os.path.exists(os.path.join(run.dir, paths[0]))
    verify = subprocess.run([cli, "verify", run.dir], capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.splitlines()[-1].endswith(
        ", 2 checkpoint files, 1 checkpoint removed by the writer)"), verify.stdout
    dump = subprocess.run([cli, "dump", "--json", run.path], capture_output=True, text=True, timeout=60)
    assert dump.stdout == canonical.dump(runlog.LogReader(run.path))
    removed = [json.loads(x) for x in dump.stdout.splitlines() if '"checkpoint_removed"' in x]
    assert [r["path"] for r in removed] == [paths[0], paths[0]]
    stats = subprocess.run([cli, "stats", run.dir], capture_output=True, text=True, timeout=60)
    assert "checkpoint 3, checkpoint_removed 2," in stats.stdout, stats.stdout
    table = stats.stdout.split("checkpoints\n", 1)[1].splitlines()
    assert table[0].split() == ["NAME", "COUNT", "REMOVED", "FIRST", "STEP", "LAST", "STEP", "BYTES", "LATEST"]
    assert table[1].split()[:3] == ["model", "3", "1"]
    # A file deleted without a record is still damage.
    os.remove(os.path.join(run.dir, paths[1]))
    verify = subprocess.run([cli, "verify", run.dir], capture_output=True, text=True, timeout=60)
    assert verify.returncode == 1, verify.stdout
    (problem,) = [line for line in verify.stdout.splitlines() if "No such file or directory" in line]
    assert os.path.join(run.dir, paths[1]) in problem and 'checkpoint "model" of step 1' in problem
    assert paths[0] not in verify.stdout


def test_remove_checkpoint_refuses_a_path_outside_the_checkpoints(rundir):
    run = runlog.init(dir=rundir, id="retire-2")
    for bad in ("logs/a0001-r0000-s0000.rlog", "../x", "checkpoints/../logs/x", "/etc/passwd", ""):
        with pytest.raises(ValueError, match="not a checkpoint path"):
            run.remove_checkpoint(bad)
    run.finish()
    assert [r for r in runlog.LogReader(run.path).records() if r.kind == 9] == []
