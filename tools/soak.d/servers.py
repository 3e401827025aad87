# SPDX-License-Identifier: Apache-2.0
"""The soak's servers: PostgreSQL in a temporary directory, MLflow on it
with several workers, both on 127.0.0.1, both restartable."""

import http.client
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import List, Optional

PG_BIN = sorted(d for d in (f"/usr/lib/postgresql/{v}/bin" for v in range(20, 10, -1)) if os.path.isdir(d))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres() -> List[str]:
    """PostgreSQL refuses to run as root: run its programs as the postgres user then."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise SystemExit("soak: running as root needs the 'postgres' user (Debian: apt-get install postgresql)") \
            from None
    return ["runuser", "-u", "postgres", "--"]


class PostgreSQL:
    def __init__(self, directory: str):
        if not PG_BIN:
            raise SystemExit("soak: PostgreSQL is not installed (Debian: apt-get install postgresql)")
        self.bin = PG_BIN[-1]
        self.dir = directory
        self.port = free_port()
        os.makedirs(directory, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(directory, "postgres", "postgres")
            os.chmod(os.path.dirname(directory), 0o755)
        data = os.path.join(directory, "data")
        self.run(["initdb", "-D", data, "-U", "soak", "--auth=trust", "-E", "UTF8"])
        self.run(["pg_ctl", "-D", data, "-l", os.path.join(directory, "server.log"), "-w", "-t", "120", "-o",
                  f"-h 127.0.0.1 -p {self.port} -k {directory} -c max_connections=200 -c fsync=on", "start"])
        self.run(["createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "soak", "mlflow"])
        self.data = data

    @property
    def uri(self) -> str:
        return f"postgresql://soak@127.0.0.1:{self.port}/mlflow"

    def run(self, argv: List[str]) -> None:
        argv = _as_postgres() + [os.path.join(self.bin, argv[0])] + argv[1:]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=180, cwd="/")
        if p.returncode != 0:
            raise SystemExit(f"soak: {' '.join(argv[-3:])}: {p.stderr.strip()[-300:]}")

    def stop(self) -> None:
        try:
            self.run(["pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop"])
        except SystemExit:
            pass


class MLflowServer:
    """`mlflow server` with the store at `store_uri` (PostgreSQL, or sqlite:///…) and
    `workers` workers, on 127.0.0.1, in its own process group."""

    def __init__(self, directory: str, store_uri: str, workers: int):
        self.dir = directory
        self.store = store_uri
        self.workers = workers
        self.port = free_port()
        self.proc: Optional[subprocess.Popen] = None
        os.makedirs(directory, exist_ok=True)
        self.start()

    def start(self) -> None:
        venv_bin = os.path.dirname(sys.executable)
        env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
        log = open(os.path.join(self.dir, "server.log"), "ab")
        self.proc = subprocess.Popen(
            [os.path.join(venv_bin, "mlflow"), "server", "--workers", str(self.workers), "--host", "127.0.0.1",
             "--port", str(self.port), "--backend-store-uri", self.store,
             "--artifacts-destination", os.path.join(self.dir, "artifacts"), "--serve-artifacts"],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if self.healthy():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.5)
        raise SystemExit(f"MLflow did not start; see {self.dir}/server.log")

    def healthy(self) -> bool:
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            c.request("GET", "/health")
            return c.getresponse().status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()
