#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The MLflow run page of a synced demo run, looked at in headless Chromium.

Starts MLflow on a free port of 127.0.0.1, writes a `runlog demo` run whose
system metrics include two GPUs (the test NVML of Tests/Fixtures/fake-nvml,
found by the loader through LD_LIBRARY_PATH), syncs it with `syncd --once`,
then renders the run's pages with Debian's `chromium` and asserts from the
rendered DOM that:

- the System metrics tab lists the `system/...` charts;
- the run page syncd names (`syncd status`) shows the model-training tabs
  (Overview, Model metrics, System metrics, Artifacts), while the same page
  without its `?workflowType=machine_learning` shows MLflow's GenAI layout
  in a fresh browser, and the experiment has the tag `mlflow.experimentKind`;
- in the Artifacts tab, a histogram picture (`histograms/<key>/distribution.svg`),
  selected in the tree, loads as an image of 800 x 400.

With --screenshots DIR it saves DIR/mlflow-system-metrics.png and
DIR/mlflow-histogram.png.

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
import urllib.parse
import urllib.request

from cdp import Browser

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
    return subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout)


# Clicks the element holding the text `name` alone (a row of the artifact tree); false when there is none yet.
CLICK = """(name => { const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (w.nextNode()) { if (w.currentNode.data.trim() === name) { w.currentNode.parentElement.click(); return true; } }
  return false; })"""
# The run page's tab names, once its Artifacts tab is there.
TABS = ("(() => { const t = [...document.querySelectorAll('[role=tab]')].map(e => e.textContent.trim());"
        " return t.includes('Artifacts') ? t : null; })()")
CLOSE_ASSISTANT = "[...document.querySelectorAll('button[aria-label=Close]')].forEach(b => b.click())"


def get(url, endpoint, **query):
    with urllib.request.urlopen(f"{url}/api/2.0/mlflow/{endpoint}?{urllib.parse.urlencode(query)}", timeout=30) as r:
        return json.load(r)


def with_tab(page, tab):
    """The run page `page` (…/runs/<id>?query) opened on `tab`."""
    base, _, query = page.partition("?")
    return f"{base}/{tab}" + (f"?{query}" if query else "")


def check_layout(url, mlflow, page):
    """The run page syncd names shows model training; the bare page shows GenAI; the experiment has its kind."""
    failures = []
    tags = {t["key"]: t["value"] for t in get(url, "experiments/get", experiment_id=mlflow["experiment_id"])["experiment"].get("tags", [])}
    if tags.get("mlflow.experimentKind") != "custom_model_development":
        failures.append(f"the experiment's mlflow.experimentKind is {tags.get('mlflow.experimentKind')!r}")
    if "?workflowType=machine_learning" not in page:
        failures.append(f"syncd status names the run page {page} without ?workflowType=machine_learning")
    with Browser() as b:
        b.go(page.partition("?")[0])
        if not b.wait("document.body.innerText.includes('Evaluation runs')", 120):
            failures.append("the run page without workflowType no longer shows MLflow's GenAI layout: README says it does")
    with Browser() as b:
        b.go(page)
        tabs = b.wait(TABS, 120) or []
        for tab in ("Overview", "Model metrics", "System metrics", "Artifacts"):
            if tab not in tabs:
                failures.append(f"the run page {page} has no {tab} tab (tabs: {tabs})")
        if b.eval("document.body.innerText.includes('Evaluation runs')"):
            failures.append(f"the run page {page} shows the GenAI layout (Evaluation runs)")
    return failures


def first_picture(url, run_id):
    """The artifact path of the run's first histogram picture, or None."""
    pending = ["histograms"]
    while pending:
        listing = get(url, "artifacts/list", run_id=run_id, path=pending.pop(0)).get("files", [])
        for f in sorted(listing, key=lambda f: f["path"]):
            if f.get("is_dir"):
                pending.append(f["path"])
            elif f["path"].endswith("/distribution.svg"):
                return f["path"]
    return None


def check_histogram(url, mlflow, page, screenshots):
    """A histogram picture, selected in the Artifacts tab's tree, loads as an 800 x 400 image."""
    path = first_picture(url, mlflow["mlflow_run_id"])
    if path is None:
        return ["the run has no histograms/<key>/distribution.svg artifact"]
    with Browser() as b:
        b.go(with_tab(page, "artifacts"))
        for name in path.split("/"):
            if not b.wait(f"{CLICK}({json.dumps(name)})", 120):
                return [f"the Artifacts tab has no row {name} of {path}"]
        size = b.wait("(p => { const i = [...document.images].find(i => i.alt === p && i.complete && i.naturalWidth > 0);"
                      f" return i ? [i.naturalWidth, i.naturalHeight] : null; }})({json.dumps(path)})", 60)
        if size != [800, 400]:
            return [f"the picture {path} does not load as an 800 x 400 image in the Artifacts tab (got {size})"]
        if screenshots:
            b.eval(CLOSE_ASSISTANT)
            time.sleep(1)
            b.screenshot(os.path.join(screenshots, "mlflow-histogram.png"))
    return []


def screenshot_system_metrics(page, screenshots):
    with Browser() as b:
        b.go(with_tab(page, "system-metrics"))
        b.wait("document.body.innerText.includes('gpu_0_utilization_percentage')", 120)
        b.eval(CLOSE_ASSISTANT)
        time.sleep(2)
        b.screenshot(os.path.join(screenshots, "mlflow-system-metrics.png"))


def command_line(doc, venv_tool, programs):
    """The arguments (--bin, --screenshots) and the venv, once runlog, syncd,
    the venv's `venv_tool` and the Debian `programs` are there; None when one
    is missing (said on standard error)."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--bin", default=os.path.join(REPO, ".build", "debug"))
    ap.add_argument("--screenshots")
    args = ap.parse_args()
    venv = os.environ.get("RUNLOG_VENV", os.path.join(REPO, ".venv"))
    for tool in (os.path.join(args.bin, "runlog"), os.path.join(args.bin, "syncd"), os.path.join(venv, "bin", venv_tool)):
        if not os.access(tool, os.X_OK):
            print(f"browsercheck: {tool} not found (swift build; tools/setup)", file=sys.stderr)
            return None
    if any(shutil.which(p) is None for p in programs):
        print(f"browsercheck: needs {' and '.join(programs)} (tools/setup.d/10-apt.sh)", file=sys.stderr)
        return None
    return args, venv


def main():
    given = command_line(__doc__, "mlflow", ("chromium", "cc"))
    if given is None:
        return 2
    args, venv = given
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
        status = subprocess.run([os.path.join(args.bin, "syncd"), "status", "--root", runs, "--json"], check=True,
                                capture_output=True, text=True, timeout=60).stdout
        page = json.loads(status.splitlines()[0])["mlflow_url"]
        # Charts below the fold are not rendered: a window tall enough for all of them.
        dom = chromium(with_tab(page, "system-metrics"), "--dump-dom", height=6000).stdout
        failures = []
        count = re.search(r"System metrics\s*\(\s*(\d+)\s*\)", re.sub(r"<[^>]+>", " ", dom))
        if not count or int(count.group(1)) < len(EXPECTED):
            failures.append(f"the System metrics tab lists {count.group(1) if count else 'no'} charts")
        for key in EXPECTED:
            if key not in dom:
                failures.append(f"no chart of system/{key} in the rendered page")
        failures += check_layout(url, mlflow, page)
        if args.screenshots:
            os.makedirs(args.screenshots, exist_ok=True)
            screenshot_system_metrics(page, args.screenshots)
        failures += check_histogram(url, mlflow, page, args.screenshots)
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
