#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The MLflow run page of a synced demo run, looked at in headless Chromium.

Starts MLflow on a free port of 127.0.0.1, writes a `runlog demo` run whose
system metrics include two GPUs (the test NVML of Tests/Fixtures/fake-nvml,
found by the loader through LD_LIBRARY_PATH), syncs it with `syncd --once`,
then renders the run's System metrics tab with Debian's `chromium` and
asserts from the rendered DOM that it lists the `system/...` charts. With
--screenshots DIR it saves the page as DIR/mlflow-system-metrics.png.

    tools/browsercheck/check.py [--bin .build/debug] [--screenshots docs]

Exit status 0 when every check passes, 1 when one fails (each failure on a
line of its own), 2 when something it needs is missing.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GPUS = "NVIDIA A100-SXM4-80GB,87,61440,81920,71,310000,400000;NVIDIA A100-SXM4-80GB,64,40960,81920,66,250000,400000"
EXPECTED = ["cpu_utilization_percentage", "system_memory_usage_megabytes", "disk_usage_percentage",
            "network_receive_megabytes", "gpu_0_utilization_percentage", "gpu_1_utilization_percentage",
            "gpu_0_temperature_celsius", "gpu_1_power_usage_watts"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium(url, *args, height=1100, timeout=180):
    cmd = ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--window-size=1400,{height}",
           "--run-all-compositor-stages-before-draw", "--virtual-time-budget=90000", *args, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.path.join(REPO, ".build", "debug"))
    ap.add_argument("--screenshots")
    args = ap.parse_args()
    venv = os.environ.get("RUNLOG_VENV", os.path.join(REPO, ".venv"))
    for tool in (os.path.join(args.bin, "runlog"), os.path.join(args.bin, "syncd"), os.path.join(venv, "bin", "mlflow")):
        if not os.access(tool, os.X_OK):
            print(f"browsercheck: {tool} not found (swift build; tools/setup)", file=sys.stderr)
            return 2
    if shutil.which("chromium") is None or shutil.which("cc") is None:
        print("browsercheck: needs chromium and cc (tools/setup.d/10-apt.sh)", file=sys.stderr)
        return 2
    work = tempfile.mkdtemp(prefix="runlog-browsercheck-")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [os.path.join(venv, "bin", "mlflow"), "server", "--workers", "1", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{work}/mlflow.db", "--artifacts-destination", f"{work}/artifacts",
         "--serve-artifacts"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        nvml = os.path.join(work, "nvml")
        os.makedirs(nvml)
        subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", os.path.join(nvml, "libnvidia-ml.so.1"),
                        os.path.join(REPO, "Tests", "Fixtures", "fake-nvml", "fake_nvml.c")], check=True)
        env = dict(os.environ, LD_LIBRARY_PATH=nvml, FAKE_NVML_GPUS=GPUS, RUNLOG_SYSTEM_METRICS_INTERVAL="0.2")
        runs = os.path.join(work, "runs")
        subprocess.run([os.path.join(args.bin, "runlog"), "demo", "--steps", "1500", "--rate", "500",
                        "--histograms-every", "100", "--dir", runs, "--id", "browser", "--project", "browser-check"],
                       env=env, check=True, stdout=subprocess.DEVNULL, timeout=120)
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url + "/health", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                print("browsercheck: MLflow did not start within 120 s", file=sys.stderr)
                return 2
            time.sleep(0.5)
        subprocess.run([os.path.join(args.bin, "syncd"), "--root", runs, "--mlflow", url, "--once"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
        with open(os.path.join(runs, ".syncd", "browser.json"), encoding="utf-8") as f:
            mlflow = json.load(f)["destinations"]["mlflow"]
        page = f"{url}/#/experiments/{mlflow['experiment_id']}/runs/{mlflow['mlflow_run_id']}/system-metrics"
        # Charts below the fold are not rendered: a window tall enough for all of them.
        dom = chromium(page, "--dump-dom", height=6000).stdout
        failures = []
        count = re.search(r"System metrics\s*\(\s*(\d+)\s*\)", re.sub(r"<[^>]+>", " ", dom))
        if not count or int(count.group(1)) < len(EXPECTED):
            failures.append(f"the System metrics tab lists {count.group(1) if count else 'no'} charts")
        for key in EXPECTED:
            if key not in dom:
                failures.append(f"no chart of system/{key} in the rendered page")
        if args.screenshots:
            os.makedirs(args.screenshots, exist_ok=True)
            chromium(page, "--screenshot=" + os.path.join(args.screenshots, "mlflow-system-metrics.png"))
        for f in failures:
            print("browsercheck: " + f)
        print(f"browsercheck: {page}: " + ("ok" if not failures else f"{len(failures)} checks failed"))
        return 1 if failures else 0
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
