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


with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
    CONSOLE = re.findall(r"^```console\n(.*?)^```$", f.read(), re.S | re.M)


def test_the_readme_console_sessions_run_as_written(tmp_path, cli):
    """Each `$ ` command of the README's console sessions runs, in order, in an
    empty directory, with exit status 0 and the first word of its output as shown."""
    from conftest import BIN
    assert CONSOLE, "the README shows a console session"
    env = dict(os.environ, PATH=os.path.dirname(BIN) + os.pathsep + os.environ.get("PATH", ""), NO_COLOR="1",
               RUNLOG_SYSTEM_METRICS_INTERVAL="0")
    env.pop("RUNLOG_DIR", None)
    ran = 0
    for session in CONSOLE:
        lines = session.splitlines()
        for i, line in enumerate(lines):
            if not line.startswith("$ "):
                continue
            shown = next((x for x in lines[i + 1:i + 2] if not x.startswith("$ ")), "")
            p = subprocess.run(["bash", "-c", line[2:]], cwd=tmp_path, env=env, capture_output=True, text=True,
                               timeout=120, check=False)
            assert p.returncode == 0, f"{line}: {p.stderr}"
            if shown.strip():
                assert p.stdout.split()[:1] == shown.split()[:1], f"{line}: printed {p.stdout[:200]!r}"
            ran += 1
    assert ran >= 5
