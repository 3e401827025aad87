# SPDX-License-Identifier: Apache-2.0
"""`pip install ./tools/python` works from a read-only checkout and writes
nothing into it (no build/, no *.egg-info), with the typing marker included."""

import os
import shutil
import stat
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.dirname(HERE)


def _tree(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


def _read_only(root):
    for d, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(d, name)
            os.chmod(p, os.stat(p).st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    os.chmod(root, os.stat(root).st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def test_install_from_a_read_only_checkout_writes_nothing_into_it(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(PACKAGE, src, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info", ".mypy_cache"))
    before = _tree(src)
    _read_only(src)
    target = tmp_path / "site"
    # No build isolation and no index: the build backend (flit_core) comes from
    # the venv, so the test needs no network.
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-build-isolation", "--no-deps", "--no-index",
                        "--target", str(target), str(src)], capture_output=True, text=True)
    for d, _, _ in os.walk(src):
        os.chmod(d, 0o755)
    assert r.returncode == 0, r.stderr
    assert _tree(src) == before
    installed = _tree(target / "runlog")
    assert "py.typed" in installed and "__init__.py" in installed and "ignite.py" in installed
