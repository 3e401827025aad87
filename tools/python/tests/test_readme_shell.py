# SPDX-License-Identifier: Apache-2.0
"""The README's shell blocks run as written.

Every line of every ```sh block is either run here, in order, in an empty
directory, against a real MLflow server on 127.0.0.1 and the built `runlog`
and `syncd`, or named in NOT_RUN_HERE with the reason and where it is
covered. A new line in the README that is neither fails the test.

The only changes made to a line before it runs are the ones in
`substitute`: the example server address becomes the test's server, the
example paths (/scratch/runlogs, /etc/runlog/syncd.toml, <run id>) become
the test's, and `tools/python/…` is found in this checkout."""

import http.client
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time

import pytest

from conftest import BIN, REPO, SYNCD, built

with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
    README = f.read()
BLOCKS = re.findall(r"^```sh\n(.*?)^```$", README, re.S | re.M)

# Lines not run by this test, by their first words: why, and what covers them.
NOT_RUN_HERE = {
    "tools/test": "the test command itself",
    "tools/demo": "builds release binaries and serves until Ctrl-C; its parts (runlog demo, syncd, MLflow) are run here",
    "tools/bench --quick": "run by tools/test.d/90-bench-quick.sh",
    "tools/bench": "the full benchmark, about 20 minutes",
    "pip install torch": "downloads from PyPI",
    "pip install": "tools/python/tests/test_install.py installs the client from a read-only copy",
    "swift build -c release --product syncd": "a release build: minutes; tools/test builds the same sources",
    "sudo": "installs into the system and systemd",
    "journalctl": "reads systemd's journal",
    "RUNLOG_TEST_MLFLOW=0 swift test": "tools/test runs the Swift tests",
    "swift test": "tools/test runs the Swift tests",
    "RUNLOG_TEST_SEED=N swift test": "tools/test runs the Swift tests",
    "TOML": "the end of a here-document (its config is written and validated here)",
}


def serving(command):
    """A line that serves until stopped: it is started, checked, then sent SIGTERM."""
    return command.startswith("tensorboard ") or (command.startswith("syncd --root") and "--once" not in command)


def commands():
    """Each block's lines, comments removed, here-document bodies dropped."""
    out = []
    for block in BLOCKS:
        heredoc = None
        for line in block.splitlines():
            if heredoc is not None:
                if line.strip() == heredoc:
                    heredoc = None
                continue
            command = re.sub(r"\s+#\s.*$", "", line).strip()
            if not command:
                continue
            m = re.search(r"<<'?(\w+)'?", command)
            if m:
                heredoc = m.group(1)
            out.append(command)
    return out


def not_run_reason(command):
    return next((why for first, why in NOT_RUN_HERE.items() if command == first or command.startswith(first + " ")),
                None)


def test_every_shell_line_of_the_readme_is_run_or_says_why_not():
    lines = commands()
    assert len(lines) >= 20
    unknown = [c for c in lines if not_run_reason(c) is None and not c.startswith(("runlog ", "syncd ", "python ",
                                                                                     "tensorboard "))]
    assert unknown == []


@pytest.fixture(scope="module")
def mlflow(tmp_path_factory):
    pytest.importorskip("mlflow")
    sys.path.insert(0, os.path.join(REPO, "tools", "soak.d"))
    from servers import MLflowServer
    d = tmp_path_factory.mktemp("mlflow")
    server = MLflowServer(str(d), f"sqlite:///{d}/mlflow.db", workers=1)
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


def get(url, path):
    host, port = url.split("//")[1].split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    c.request("GET", path)
    r = c.getresponse()
    return r.status, r.read()


def mlflow_runs(url):
    host, port = url.split("//")[1].split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    c.request("GET", "/api/2.0/mlflow/experiments/search?max_results=100")
    ids = [e["experiment_id"] for e in json.loads(c.getresponse().read()).get("experiments", [])]
    c.request("POST", "/api/2.0/mlflow/runs/search", json.dumps({"experiment_ids": ids, "max_results": 100}),
              {"Content-Type": "application/json"})
    return json.loads(c.getresponse().read()).get("runs", [])


def test_the_readme_shell_lines_run_as_written(tmp_path, mlflow, cli):
    pytest.importorskip("torch")
    pytest.importorskip("ignite")
    pytest.importorskip("sklearn")
    built(SYNCD, "SYNCD_BIN")
    tensorboard = os.path.join(os.path.dirname(sys.executable), "tensorboard")
    env = dict(os.environ, PATH=os.path.dirname(BIN) + os.pathsep + os.path.dirname(sys.executable) + os.pathsep
               + os.environ.get("PATH", ""), RUNLOG_SYSTEM_METRICS_INTERVAL="0", NO_COLOR="1",
               PYTHONPATH=os.path.join(REPO, "tools", "python"))
    env.pop("RUNLOG_DIR", None)
    config = tmp_path / "syncd.toml"
    toml = re.search(r"<<'TOML'\n(.*?)^TOML$", README, re.S | re.M).group(1)
    config.write_text(toml.replace("/srv/runlogs", str(tmp_path / "runlogs"))
                      .replace("/var/lib/runlog-syncd", str(tmp_path / "state"))
                      .replace("http://127.0.0.1:5000", mlflow))

    def substitute(command):
        runs = sorted(n for n in os.listdir(tmp_path / "runlogs") if not n.startswith(".")) if (
            tmp_path / "runlogs").is_dir() else []
        return (command.replace("http://mlflow.internal:5000", mlflow).replace("http://127.0.0.1:5000", mlflow)
                .replace("/scratch/runlogs", "runlogs").replace("/etc/runlog/syncd.toml", str(config))
                .replace("<run id>", runs[0] if runs else "<no run yet>")
                .replace("python tools/python/", shlex.quote(sys.executable) + " " + REPO + "/tools/python/"))

    ran = []
    # The Ignite example's lines first: they write the run the other blocks read.
    order = sorted(commands(), key=lambda c: 0 if "ignite_digits" in c else 1)
    for original in order:
        if not_run_reason(original) is not None:
            continue
        command = substitute(original)
        if serving(original):
            serve(command, env, tmp_path, mlflow, tensorboard)
        else:
            p = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True,
                               timeout=300, check=False)
            assert p.returncode == 0, f"{original}: exit {p.returncode}: {p.stderr[-2000:]}"
            if original.startswith("runlog dump --json"):
                assert json.loads(p.stdout.splitlines()[0])["kind"] == "header", original
        ran.append(original)
    assert len(ran) >= 10, ran
    runs = mlflow_runs(mlflow)
    assert runs and all(r["info"]["status"] == "FINISHED" for r in runs), runs
    assert any(m["key"] == "training/batchloss" for r in runs for m in r["data"].get("metrics", []))
    assert (tmp_path / "tb").is_dir() and any(name.startswith("events.out.tfevents")
                                              for _, _, files in os.walk(tmp_path / "tb") for name in files)


def serve(command, env, cwd, mlflow, tensorboard):
    """Starts a serving line, waits until it has done its work, stops it with SIGTERM."""
    if command.startswith("tensorboard"):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        command = command.replace("tensorboard", shlex.quote(tensorboard), 1) + f" --host 127.0.0.1 --port {port}"
        p = subprocess.Popen(["bash", "-c", "exec " + command], cwd=cwd, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                assert p.poll() is None, f"{command}: ended before serving: {p.stdout.read()[-2000:]}"
                try:
                    status, body = get(f"http://127.0.0.1:{port}", "/data/runs")
                    if status == 200 and json.loads(body):
                        return
                except OSError:
                    pass
                time.sleep(1)
            pytest.fail(f"{command}: TensorBoard shows no run")
        finally:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(timeout=30)
    p = subprocess.Popen(["bash", "-c", "exec " + command], cwd=cwd, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    time.sleep(5)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, f"{command}: exit {p.returncode}: {err[-2000:]}"
