#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""TensorBoard's dashboards of runs synced by `syncd --tensorboard`, looked at in headless Chromium.

Writes two `runlog demo` runs (scalars, a weight histogram, config, tags,
notes, summary) and a run of the Python client that prints to its console
(captured by its helper process into a console log of its own), syncs
them with `syncd --tensorboard DIR --once`, starts the venv's `tensorboard
--logdir DIR` on a free port of 127.0.0.1, renders its dashboards with
Debian's `chromium` and asserts from the rendered DOM (shadow roots
included) that, with every tag shown (`tagFilter=.`), each dashboard lists
the three runs and:

- Scalars has a card for each of accuracy, grad_norm, loss, lr and
  train/loss, and each card draws its chart;
- Histograms and Distributions have cards for weights/fc1 (the demo runs)
  and weights/w (the Python run), and each draws its chart;
- Text shows the console (`runlog/console/stdout`, holding a line the run
  printed), the config (`runlog/config`) and the notes (`runlog/notes`).

A chart is drawn when the card holds an SVG of at least 100 x 60 px with a
path of 100 characters or more (a line, an area or a histogram of the
data; the axes' paths are shorter). Every wait is bounded. With
--screenshots DIR it saves DIR/tensorboard-scalars.png and
DIR/tensorboard-histograms.png (the two demo runs only, as README shows
them).

    tools/browsercheck/tensorboard.py [--bin .build/debug] [--screenshots docs]

Exit status 0 when every check passes, 1 when one fails (each failure on a
line of its own), 2 when something it needs is missing.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

from cdp import Browser
from check import REPO, command_line, free_port

# The cards of a dashboard (elements named `card`, found through shadow roots):
# for each, its texts (the tag, the runs, a text's content) and whether it drew
# a chart: an <svg> of at least 100 x 60 px holding a path of 100 characters or
# more (a line, an area or a histogram of the data; the axes' paths are short).
CARDS = """(card => {
  const deep = (root, f) => {
    if (root.shadowRoot) deep(root.shadowRoot, f);
    for (const n of root.querySelectorAll('*')) { f(n); if (n.shadowRoot) deep(n.shadowRoot, f); }
  };
  const texts = root => {
    const out = [];
    const walk = r => {
      const w = document.createTreeWalker(r, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
      for (let n = w.nextNode(); n; n = w.nextNode()) {
        if (n.nodeType === Node.TEXT_NODE) {
          const t = n.data.trim();
          if (t && !['STYLE', 'SCRIPT', 'TEMPLATE'].includes(n.parentNode.nodeName)) out.push(t);
        } else if (n.shadowRoot) walk(n.shadowRoot);
      }
    };
    if (root.shadowRoot) walk(root.shadowRoot);
    walk(root);
    return out;
  };
  const cards = [];
  deep(document, n => { if (n.tagName === card) cards.push(n); });
  return cards.map(c => {
    let drawn = false;
    deep(c, n => {
      if (n.tagName.toLowerCase() !== 'svg') return;
      const r = n.getBoundingClientRect();
      const line = [...n.querySelectorAll('path')].some(p => (p.getAttribute('d') || '').length >= 100);
      if (r.width >= 100 && r.height >= 60 && line) drawn = true;
    });
    return {texts: texts(c), drawn};
  });
})"""

PYTHON_RUN = """
import numpy as np, runlog
run = runlog.init(project="console", name="printer", id="printer", dir={runs!r}, config={{"lr": 0.1, "model": "mlp"}},
                  console="redirect")
for step in range(200):
    run.log({{"train/loss": 1.0 / (step + 1), "weights/w": runlog.Histogram(np.random.default_rng(step).normal(size=1000))}}, step=step)
    if step % 50 == 49:
        print(f"epoch {{step // 50}} done, loss {{1.0 / (step + 1):.4f}}", flush=True)
run.finish()
"""

# Per dashboard: the element of a card, the tags that must have a card, and
# whether each such card must draw a chart (else hold the texts given with it).
# `tagFilter=.` shows every tag's card (no category left folded).
DASHBOARDS = {
    "scalars": ("TF-SCALAR-CARD", {t: [] for t in ("accuracy", "grad_norm", "loss", "lr", "train/loss")}, True),
    "histograms": ("TF-HISTOGRAM-LOADER", {"weights/fc1": [], "weights/w": []}, True),
    "distributions": ("TF-DISTRIBUTION-LOADER", {"weights/fc1": [], "weights/w": []}, True),
    "text": ("TF-TEXT-LOADER", {"runlog/console/stdout": ["epoch 3 done, loss 0.0050"], "runlog/config": ["mlp", "resnet18"],
                                "runlog/notes": ["written by runlog demo"]}, False),
}
RUNS = ["mnist/resnet18-sgd", "mnist/resnet18-adam", "console/printer"]


def look(b, port, dashboard, timeout=30):
    """Opens `dashboard` with every tag shown and waits (at most `timeout` s)
    until each expected tag has a card that drew its chart (or holds its
    texts), and the runs are listed. The failures."""
    card, tags, chart = DASHBOARDS[dashboard]
    b.go(f"http://127.0.0.1:{port}/#{dashboard}&tagFilter=.")
    deadline = time.monotonic() + timeout
    while True:
        cards = b.eval(f"{CARDS}({json.dumps(card)})") or []
        page = b.eval(f"{CARDS}('TB-WEBAPP')") or [{"texts": []}]
        failures = [f"{dashboard}: the run {r} is not listed" for r in RUNS if r not in page[0]["texts"]]
        for tag, wanted in tags.items():
            mine = [c for c in cards if tag in c["texts"]]
            if not mine:
                failures.append(f"{dashboard}: no card of the tag {tag}")
            elif chart and not all(c["drawn"] for c in mine):
                failures.append(f"{dashboard}: {sum(not c['drawn'] for c in mine)} of the {len(mine)} cards of {tag} drew no chart")
            for text in wanted:
                if not any(text in t for c in mine for t in c["texts"]):
                    failures.append(f"{dashboard}: the card of {tag} does not show {text!r}")
        if not failures or time.monotonic() > deadline:
            return failures
        time.sleep(0.5)


def serve(venv, logdir, work, runs):
    """A TensorBoard on a free port of 127.0.0.1, once it lists the scalar tags of `runs` runs: (process, port), or
    (process, None) after 60 s."""
    port = free_port()
    log = open(os.path.join(work, "tensorboard.log"), "wb")  # noqa: SIM115 (lives as long as the server)
    proc = subprocess.Popen([os.path.join(venv, "bin", "tensorboard"), "--logdir", logdir, "--host", "127.0.0.1",
                             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/data/plugin/scalars/tags", timeout=5) as r:
                tags = json.load(r)
            if sum("loss" in run_tags or "train/loss" in run_tags for run_tags in tags.values()) >= runs:
                return proc, port
        except OSError:
            pass
        time.sleep(0.5)
    return proc, None


def stop(proc):
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def screenshots(venv, runs, bin_dir, work, out):
    """The README's two pictures: the demo runs alone, their Scalars and Histograms."""
    logdir = os.path.join(work, "tb-demo")
    demo_runs = os.path.join(work, "demo-runs")
    os.makedirs(demo_runs)
    for run in ("shot1", "shot2"):
        os.rename(os.path.join(runs, run), os.path.join(demo_runs, run))
    subprocess.run([os.path.join(bin_dir, "syncd"), "--root", demo_runs, "--state", os.path.join(work, "demo-state"),
                    "--tensorboard", logdir, "--once"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    proc, port = serve(venv, logdir, work, 2)
    try:
        if port is None:
            return ["screenshots: TensorBoard did not list the demo runs' tags within 60 s"]
        os.makedirs(out, exist_ok=True)
        with Browser(1400, 1000) as b:
            for dashboard in ("scalars", "histograms"):
                b.go(f"http://127.0.0.1:{port}/#{dashboard}")
                b.wait(f"{CARDS}({json.dumps(DASHBOARDS[dashboard][0])}).filter(c => c.drawn).length >= 2", 30)
                time.sleep(1)
                b.screenshot(os.path.join(out, f"tensorboard-{dashboard}.png"))
    finally:
        stop(proc)
    return []


def main():
    given = command_line(__doc__, "tensorboard", ("chromium",))
    if given is None:
        return 2
    args, venv = given
    work = tempfile.mkdtemp(prefix="runlog-browsercheck-tb-")
    try:
        runs, logdir = os.path.join(work, "runs"), os.path.join(work, "tb")
        for run, name, seed in (("shot1", "resnet18-sgd", "3"), ("shot2", "resnet18-adam", "7")):
            subprocess.run([os.path.join(args.bin, "runlog"), "demo", "--steps", "3000", "--histograms-every", "100",
                            "--project", "mnist", "--name", name, "--id", run, "--dir", runs, "--seed", seed],
                           check=True, stdout=subprocess.DEVNULL, timeout=120)
        env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "tools", "python"))
        subprocess.run([os.path.join(venv, "bin", "python"), "-c", PYTHON_RUN.format(runs=runs)], env=env, check=True,
                       stdout=subprocess.DEVNULL, timeout=120)
        subprocess.run([os.path.join(args.bin, "syncd"), "--root", runs, "--tensorboard", logdir, "--once"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        proc, port = serve(venv, logdir, work, len(RUNS))
        failures = []
        try:
            if port is None:
                with open(os.path.join(work, "tensorboard.log"), encoding="utf-8", errors="replace") as f:
                    print(f.read()[-2000:], file=sys.stderr)
                print("browsercheck: TensorBoard did not list the runs' scalar tags within 60 s", file=sys.stderr)
                return 2
            with Browser(1400, 3000) as b:
                for dashboard in DASHBOARDS:
                    failures += look(b, port, dashboard)
        finally:
            stop(proc)
        if args.screenshots:
            failures += screenshots(venv, runs, args.bin, work, args.screenshots)
        for f in failures:
            print("browsercheck: TensorBoard " + f)
        print(f"browsercheck: TensorBoard {', '.join(DASHBOARDS)}: " + ("ok" if not failures else f"{len(failures)} checks failed"))
        return 1 if failures else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
