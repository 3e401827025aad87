# SPDX-License-Identifier: Apache-2.0
import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
VECTORS = os.path.join(REPO, "spec", "vectors")


@pytest.fixture
def rundir(tmp_path):
    """A fresh root directory for runs."""
    return str(tmp_path / "runs")


@pytest.fixture(autouse=True)
def _console_off(monkeypatch):
    """Console capture is on by default; tests of other things run without
    it (test_console.py turns it on in the processes it starts)."""
    monkeypatch.setenv("RUNLOG_CONSOLE", "off")
