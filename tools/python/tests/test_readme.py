# SPDX-License-Identifier: Apache-2.0
"""Every Python code block of the README runs as written, in a fresh
interpreter in an empty directory, and leaves a finished run."""

import os
import re
import subprocess
import sys

import pytest

from conftest import REPO
import runlog
from runlog.records import RUN_END

with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
    BLOCKS = re.findall(r"^```python\n(.*?)^```$", f.read(), re.S | re.M)


def test_the_readme_has_python_blocks():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_a_python_block_of_the_readme_runs_as_written(tmp_path, index):
    if "ignite" in BLOCKS[index]:
        pytest.importorskip("torch")
        pytest.importorskip("ignite")
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "tools", "python"), RUNLOG_CONSOLE="off",
               RUNLOG_SYSTEM_METRICS_INTERVAL="0")
    env.pop("RUNLOG_DIR", None)
    p = subprocess.run([sys.executable, "-c", BLOCKS[index]], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=300, check=False)
    assert p.returncode == 0, p.stderr
    runs = os.listdir(tmp_path / "runlogs")
    assert len(runs) == 1, runs
    logs = tmp_path / "runlogs" / runs[0] / "logs"
    (log,) = [n for n in os.listdir(logs) if n.endswith(".rlog")]
    ends = [r for r in runlog.LogReader(str(logs / log)).records() if r.kind == RUN_END]
    assert [e.status for e in ends] == [1], p.stderr
