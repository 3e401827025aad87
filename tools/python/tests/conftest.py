# SPDX-License-Identifier: Apache-2.0
import os
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
VECTORS = os.path.join(REPO, "spec", "vectors")
BIN = os.environ.get("RUNLOG_BIN") or os.path.join(REPO, ".build", "debug", "runlog")


SYNCD = os.environ.get("SYNCD_BIN") or os.path.join(REPO, ".build", "debug", "syncd")


def built(path, variable):
    """`path` when it is an executable; else a skip (a failure under CI) saying how to build it."""
    if not os.access(path, os.X_OK):
        message = f"{os.path.basename(path)} not found at {path} (build it with `swift build`, or set {variable})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def syncd():
    """The Swift `syncd`: `.build/debug/syncd` or $SYNCD_BIN."""
    return built(SYNCD, "SYNCD_BIN")


@pytest.fixture(scope="module")
def cli():
    """The Swift `runlog` tool: `.build/debug/runlog` or $RUNLOG_BIN; under CI a missing binary fails."""
    built(BIN, "RUNLOG_BIN")
    probe = subprocess.run([BIN, "dump", "--json", os.path.join(VECTORS, "minimal.rlog")], capture_output=True,
                           text=True, timeout=60)
    if probe.stdout == "not yet\n":  # the placeholder executable, before the tool's subcommands exist
        pytest.skip(f"{BIN} is the placeholder without subcommands")
    with open(os.path.join(VECTORS, "minimal.jsonl"), encoding="utf-8") as f:
        assert probe.stdout == f.read(), f"{BIN} dump --json spec/vectors/minimal.rlog: {probe.stderr.strip()}"
    return BIN


@pytest.fixture
def rundir(tmp_path):
    """A fresh root directory for runs."""
    return str(tmp_path / "runs")


@pytest.fixture(autouse=True)
def _console_off(monkeypatch):
    """Console capture is on by default; tests of other things run without
    it (test_console.py turns it on in the processes it starts)."""
    monkeypatch.setenv("RUNLOG_CONSOLE", "off")


@pytest.fixture
def tmpfs(tmp_path):
    """A mounted tmpfs of 64 KiB (a full disk after a few frames); skipped, saying why, where mount is not allowed."""
    mounts = []

    def mount(*options):
        point = tmp_path / f"mnt{len(mounts)}"
        point.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(("size=64k",) + options), "tmpfs", str(point)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"NOT TESTED: cannot mount a tmpfs here ({r.stderr.strip()}); run as root to test full and "
                        "read-only disks")
        mounts.append(point)
        return str(point)

    yield mount
    for point in mounts:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)
