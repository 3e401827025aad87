# SPDX-License-Identifier: Apache-2.0
"""The installed distributions as `name==version`, listed in a child Python
process so that reading the metadata of every distribution (a tenth of a
second of pure Python in a large environment) never holds this process's
GIL while training runs. Run as a script (`python -I -S _packages.py`) it
reads the search path as JSON on standard input and prints the list as JSON;
it imports nothing of runlog, so the child starts in a few milliseconds."""

import json
import subprocess
import sys
# Imported here, not in the thread that waits for the listing: a module
# imported by another thread while the interpreter exits makes a Ctrl-C'd
# program exit 1 instead of dying by SIGINT as it would without runlog.
from importlib import metadata


def installed_packages(path=None):
    """`name==version` of every distribution on `path` (default `sys.path`), sorted by name."""
    seen = {}
    for d in metadata.distributions(path=list(sys.path if path is None else path)):
        name = d.metadata.get("Name")
        if name and name.lower() not in seen:
            seen[name.lower()] = f"{name}=={d.version}"
    return [seen[k] for k in sorted(seen)]


class PackageListing:
    """`installed_packages()` of this process's `sys.path`, computed in a child
    process started when this is made; `result()` waits for it (at most
    `timeout` seconds) and computes the list here instead when the child
    cannot be started, fails or takes too long."""

    def __init__(self, path=None, executable=None):
        self._path = list(sys.path if path is None else path)
        self._proc = None
        executable = sys.executable if executable is None else executable
        if executable:
            try:
                self._proc = subprocess.Popen([executable, "-I", "-S", __file__], stdin=subprocess.PIPE,
                                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            except OSError:
                self._proc = None

    def result(self, timeout=10.0):
        proc = self._proc
        if proc is not None:
            self._proc = None
            try:
                out, _ = proc.communicate(json.dumps(self._path).encode(), timeout)
                listed = json.loads(out) if proc.returncode == 0 else None
                if isinstance(listed, list) and all(isinstance(p, str) for p in listed):
                    return listed
            except (subprocess.TimeoutExpired, OSError, ValueError):
                proc.kill()
                proc.wait()
        return installed_packages(self._path)


if __name__ == "__main__":
    json.dump(installed_packages(json.load(sys.stdin)), sys.stdout)
