# SPDX-License-Identifier: Apache-2.0
"""`runlog export --tensorboard`, checked by TensorBoard itself: its own
loaders (the data provider its server uses, and EventAccumulator) and a real
`tensorboard --logdir` server on 127.0.0.1 read back every scalar (step, wall
time, value: NaN and the infinities included) and every histogram, which are
compared with `runlog dump --json` of the same logs.

Needs the `runlog` binary (see test_cli_crosscheck.py) and the tensorboard
package (in the venv)."""

import json
import math
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import numpy
import pytest

import runlog

tb = pytest.importorskip("tensorboard")
from tensorboard import context as tb_context  # noqa: E402
from tensorboard.backend.event_processing import data_provider, event_accumulator  # noqa: E402
from tensorboard.backend.event_processing import plugin_event_multiplexer  # noqa: E402

KEEP_ALL = {"scalars": 0, "histograms": 0, "text": 0, "hparams": 0}


def write_runs(root):
    """Two ranks of one run (NaN, ±Inf, -0.0, a step that goes back, explicit and
    uniform histograms) and a second run with the same name."""
    for rank in (0, 1):
        run = runlog.init(project="tb/proj", name="same name", dir=root, id="tb-1", rank=rank,
                          tags=["x"], notes="first *notes*", config={"lr": 0.01, "opt": {"name": "adam"}, "on": True,
                                                                     "layers": [1, 2]})
        for i in range(300):
            row = {"loss": 1 / (i + 1) + rank, "acc": i / 300}
            if i % 50 == 0:
                row["val/acc"] = 0.5 + i / 1000
            run.log(row, step=i)
        run.log({"nan": float("nan"), "inf": float("inf"), "ninf": float("-inf"), "negzero": -0.0}, step=7)
        for i in range(5):
            run.log({"grads": runlog.Histogram([(j * 0.37 * (i + 1)) % 5 - 2.5 for j in range(500)], num_bins=16)},
                    step=290 + i)
        run.log({"weights": runlog.Histogram([0.1, 0.2, 0.2, 0.9, float("nan")], num_bins=4)}, step=299)
        run.summary["best"] = 0.75
        run.summary["label"] = "ok | fine"
        run.tags = ["x", "y"]
        run.finish()
    other = runlog.init(project="tb/proj", name="same name", dir=root, id="tb-2")
    other.log({"loss": 5.0}, step=0)
    other.finish()


def dump(cli, path):
    out = subprocess.run([cli, "dump", "--json", path], capture_output=True, text=True, timeout=60, check=True)
    return [json.loads(line) for line in out.stdout.splitlines()]


def expected(records):
    """Per key: [(step, wall time, value)] of the metrics; per key the histograms."""
    scalars, hists = {}, {}
    for r in records:
        if r["kind"] == "metrics":
            for k, v in r["values"].items():
                v = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}.get(v, v)
                scalars.setdefault(k, []).append((r["step"], r["time"], v))
        elif r["kind"] == "histogram":
            hists.setdefault(r["key"], []).append(r)
    return scalars, hists


def same(a, b):
    return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))


def f32(x):
    """What TensorBoard holds of a value: scalars are float32."""
    with numpy.errstate(over="ignore"):
        return float(numpy.float32(x))


def upper_edges(h):
    if "edges" in h:
        return h["edges"][1:]
    low, high = h["range"]
    b = len(h["counts"])
    return [high if i == b - 1 else low + (i + 1) * (high - low) / b for i in range(b)]


@pytest.fixture(scope="module")
def exported(cli, tmp_path_factory):
    base = tmp_path_factory.mktemp("tb")
    root, out = str(base / "runs"), str(base / "tb")
    write_runs(root)
    r = subprocess.run([cli, "export", "--tensorboard", out, root + "/tb-1", root + "/tb-2"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # no progress line when standard error is not a terminal
    return root, out


def provider(logdir):
    m = plugin_event_multiplexer.EventMultiplexer(tensor_size_guidance=KEEP_ALL)
    m.AddRunsFromDirectory(logdir)
    m.Reload()
    return data_provider.MultiplexerDataProvider(m, logdir)


def test_layout_is_project_name_and_rank_and_a_second_run_of_one_name_gets_its_id(exported):
    root, out = exported
    runs = sorted(os.path.relpath(d, out) for d, _, files in os.walk(out) if any("tfevents" in f for f in files))
    assert runs == ["tb_proj/same_name", "tb_proj/same_name.tb-2", "tb_proj/same_name/rank1"]


def test_every_scalar_and_histogram_reads_back_through_the_data_provider(cli, exported):
    root, out = exported
    p = provider(out)
    records = dump(cli, root + "/tb-1")
    for rank, run in ((0, "tb_proj/same_name"), (1, "tb_proj/same_name/rank1")):
        scalars = assert_matches_dump(p, run, by_rank(records, rank))
        if rank == 0:  # the Python client writes config and summary in rank 0 only
            assert [(d.step, d.value) for d in scalars["summary/best"]] == [(299, 0.75)]


def assert_matches_dump(p, run, records):
    """Every scalar and histogram of `records` (dump --json lines) is in TensorBoard run `run` once,
    in order, with its step, wall time and value; returns TensorBoard's scalars of the run."""
    ctx = tb_context.RequestContext()
    got = p.read_scalars(ctx, experiment_id="", plugin_name="scalars", downsample=10**9)[run]
    scalars, hists = expected(records)
    assert set(scalars) <= set(got)
    for key, points in scalars.items():
        series = got[key]
        assert len(series) == len(points), key
        for d, (step, t, v) in zip(series, points):
            assert d.step == step and d.wall_time == t and same(d.value, f32(v)), (key, d, step, t, v)
    histos = p.read_tensors(ctx, experiment_id="", plugin_name="histograms", downsample=10**9).get(run, {})
    assert set(hists) == set(histos)
    for key, hs in hists.items():
        assert len(histos[key]) == len(hs)
        for d, h in zip(histos[key], hs):
            buckets = d.numpy  # [k, 3]: left, right, count (float32), empty end bins dropped
            assert d.step == h["step"] and d.wall_time == h["time"]
            assert buckets[:, 2].sum() == h["count"]
            assert list(buckets[:, 2]) == [c for c in h["counts"] if c][:1] + list(buckets[1:, 2])
            assert buckets[0, 0] == pytest.approx(h["min"], rel=1e-6, abs=1e-6)
            assert buckets[-1, 1] == pytest.approx(h["max"], rel=1e-6, abs=1e-6)
    return got


def by_rank(records, rank):
    """The records of one rank: those after a header of that rank."""
    out, current = [], None
    for r in records:
        if r["kind"] == "header":
            current = r["rank"]
        elif current == rank:
            out.append(r)
    return out


def test_histograms_keep_every_statistic_exactly(cli, exported):
    root, out = exported
    acc = event_accumulator.EventAccumulator(out + "/tb_proj/same_name", size_guidance={event_accumulator.HISTOGRAMS: 0})
    acc.Reload()
    _, hists = expected(by_rank(dump(cli, root + "/tb-1"), 0))
    assert set(acc.Tags()["histograms"]) == set(hists) == {"grads", "weights"}
    for key, hs in hists.items():
        events = acc.Histograms(key)
        assert len(events) == len(hs)
        for e, h in zip(events, hs):
            v = e.histogram_value
            assert (e.step, e.wall_time) == (h["step"], h["time"])
            assert (v.min, v.max, v.num, v.sum, v.sum_squares) == (h["min"], h["max"], h["count"], h["sum"],
                                                                 h["sum_squares"])
            assert list(v.bucket) == h["counts"]
            assert list(v.bucket_limit) == upper_edges(h)


def test_config_is_hparams_and_tags_notes_and_summary_are_text(exported):
    _, out = exported
    p = provider(out)
    ctx = tb_context.RequestContext()
    run = "tb_proj/same_name"
    from tensorboard.plugins.hparams import metadata as hp_metadata
    hp = p.list_tensors(ctx, experiment_id="", plugin_name="hparams")[run]
    info = hp_metadata.parse_session_start_info_plugin_data(hp["_hparams_/session_start_info"].plugin_content)
    values = {k: v.WhichOneof("kind") and getattr(v, v.WhichOneof("kind")) for k, v in info.hparams.items()}
    assert values == {"lr": 0.01, "opt.name": "adam", "on": True, "layers": "[1,2]"}
    texts = p.read_tensors(ctx, experiment_id="", plugin_name="text", downsample=100)[run]
    as_text = {k: [d.numpy.item().decode() for d in v] for k, v in texts.items()}
    assert as_text["runlog/notes"] == ["first *notes*"]
    assert as_text["runlog/tags"] == ["tags: `x`", "added: `y`"]
    assert as_text["runlog/summary"][-1] == "| key | value |\n|-----|-------|\n| label | ok \\| fine |"
    assert as_text["runlog/run"][-1] == "finished (exit code 0)"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("load_fast", ["true", "false"])  # its Rust data server (the default), its Python loader
def test_a_real_tensorboard_server_serves_the_scalars_and_histograms(cli, exported, load_fast):
    root, out = exported
    port = free_port()
    exe = os.path.join(os.path.dirname(sys.executable), "tensorboard")
    server = subprocess.Popen([exe, "--logdir", out, "--host", "127.0.0.1", "--port", str(port),
                               "--samples_per_plugin", "scalars=100000,histograms=1000", "--load_fast", load_fast,
                               "--reload_interval", "1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}/data/plugin"

        def get(path, **query):
            url = f"{base}/{path}?" + urllib.parse.urlencode(query)
            with urllib.request.urlopen(url, timeout=5) as r:
                return json.loads(r.read().decode())

        deadline = time.monotonic() + 60
        tags = None
        while time.monotonic() < deadline:
            if server.poll() is not None:
                pytest.fail("tensorboard exited: " + server.stderr.read().decode()[-2000:])
            try:
                tags = get("scalars/tags")
                if "tb_proj/same_name" in tags and "loss" in tags["tb_proj/same_name"]:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert tags and "loss" in tags.get("tb_proj/same_name", {}), tags
        scalars, hists = expected(by_rank(dump(cli, root + "/tb-1"), 0))
        for key in ("loss", "val/acc", "nan", "inf", "ninf"):
            points = get("scalars/scalars", run="tb_proj/same_name", tag=key)
            assert [(s, w) for w, s, _ in points] == [(s, t) for s, t, _ in scalars[key]]
            for (_, _, v), (_, _, want) in zip(points, scalars[key]):
                v = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}.get(v, v)
                assert same(float(v), f32(want)), (key, v, want)
        got = get("histograms/histograms", run="tb_proj/same_name", tag="grads")
        assert [(s, w) for w, s, _ in got] == [(h["step"], h["time"]) for h in hists["grads"]]
        for (_, _, buckets), h in zip(got, hists["grads"]):
            assert sum(b[2] for b in buckets) == h["count"]
        texts = get("text/tags")["tb_proj/same_name"]
        assert {"runlog/notes", "runlog/tags", "runlog/config", "runlog/summary", "runlog/run"} <= set(texts)
        request = urllib.request.Request(f"{base}/hparams/experiment", data=b'{"experimentName":""}',
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as r:
            experiment = json.loads(r.read().decode())
        assert {"lr", "opt.name", "on", "layers"} <= {h["name"] for h in experiment["hparamInfos"]}
        assert "summary/best" in {m["name"]["tag"] for m in experiment["metricInfos"]}
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# ---------------------------------------------------------------- bad input

def export(cli, out, *paths):
    return subprocess.run([cli, "export", "--tensorboard", out, *paths], capture_output=True, text=True, timeout=120)


def test_a_full_disk_is_one_line_and_status_3(cli, tmp_path, tmpfs):
    root = str(tmp_path / "runs")
    run = runlog.init(project="p", name="big", dir=root, id="big-1")
    for i in range(20000):
        run.log({"a": i * 0.1, "b": i * 0.2}, step=i)
    run.finish()
    out = tmpfs()
    r = export(cli, out, root + "/big-1")
    assert r.returncode == 3
    assert r.stderr == f"runlog: {out}/p/big/events.out.tfevents.{os.listdir(out + '/p/big')[0][20:30]}" \
                       ".runlog-big-1: cannot write: No space left on device\n"


def test_a_read_only_directory_is_one_line_and_status_3(cli, tmp_path, tmpfs):
    root = str(tmp_path / "runs")
    runlog.init(project="p", name="n", dir=root, id="ro-1").finish()
    out = tmpfs("ro")
    r = export(cli, out, root + "/ro-1")
    assert (r.returncode, r.stderr) == (3, f"runlog: {out}/p: cannot create directory: Read-only file system\n")


def test_a_path_through_a_file_is_one_line_and_status_3(cli, tmp_path):
    root = str(tmp_path / "runs")
    runlog.init(project="p", name="n", dir=root, id="f-1").finish()
    (tmp_path / "file").write_text("x")
    r = export(cli, str(tmp_path / "file"), root + "/f-1")
    assert (r.returncode, r.stderr) == (3, f"runlog: {tmp_path}/file/p: cannot create directory: Not a directory\n")


def test_names_and_keys_tensorboard_cannot_take(cli, tmp_path):
    root, out = str(tmp_path / "runs"), str(tmp_path / "tb")
    run = runlog.init(project="../..", name="../../etc", dir=root, id="odd-1")
    run.log({"_hparams_/session_start_info": 1.0, "clash": 2.0}, step=0)
    run.log({"clash": runlog.Histogram([1.0, 2.0], num_bins=2)}, step=1)
    run.finish()
    r = export(cli, out, root + "/odd-1")
    path = f"{out}/.._../.._.._etc/" + os.listdir(f"{out}/.._../.._.._etc")[0]
    assert (r.returncode, r.stderr) == (0, f'runlog: {path}: key "clash" is both a metric and a histogram: the later '
                                           'kind is written as "clash/metric" or "clash/histogram"\n')
    p = provider(out)
    ctx = tb_context.RequestContext()
    got = p.read_scalars(ctx, experiment_id="", plugin_name="scalars", downsample=100)[".._../.._.._etc"]
    assert {k: [(d.step, d.value) for d in v] for k, v in got.items()} == {
        "__hparams_/session_start_info": [(0, 1.0)], "clash": [(0, 2.0)]}
    histos = p.read_tensors(ctx, experiment_id="", plugin_name="histograms", downsample=100)[".._../.._.._etc"]
    assert [d.step for d in histos["clash/histogram"]] == [1]
    assert sorted(os.listdir(tmp_path)) == ["runs", "tb"]


@pytest.mark.parametrize("args,message", [
    (["export", "x"], "Error: say which format: --csv or --tensorboard OUTDIR"),
    (["export", "--csv", "a", "b"], "Error: --csv exports one PATH"),
    (["export", "--tensorboard", "o", "--wide", "a"], "Error: --wide, --key and --steps go with --csv"),
    (["export", "--tensorboard", "o", "--csv", "a"], "Error: say which format: --csv or --tensorboard OUTDIR"),
])
def test_usage_errors(cli, args, message):
    r = subprocess.run([cli, *args], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.splitlines()[0] == message


def test_a_missing_path_writes_nothing(cli, tmp_path):
    r = export(cli, str(tmp_path / "tb"), str(tmp_path / "nope"))
    assert (r.returncode, r.stderr) == (2, f"runlog: {tmp_path}/nope: No such file or directory\n")
    assert not os.path.exists(tmp_path / "tb")


def test_damaged_input_is_exported_as_far_as_it_reads_and_gives_status_1(cli, tmp_path):
    root, out = str(tmp_path / "runs"), str(tmp_path / "tb")
    run = runlog.init(project="p", name="d", dir=root, id="dmg-1", flush_interval=1000)
    for i in range(3000):
        run.log({"a": float(i)}, step=i)
        if i % 1000 == 999:
            run.flush()
    run.finish()
    log = os.path.join(root, "dmg-1", "logs", os.listdir(os.path.join(root, "dmg-1", "logs"))[0])
    data = bytearray(open(log, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(log, "wb").write(bytes(data))
    r = export(cli, out, root + "/dmg-1")
    assert r.returncode == 1 and "bytes dropped" in r.stderr and len(r.stderr.splitlines()) == 1
    got = provider(out).read_scalars(tb_context.RequestContext(), experiment_id="", plugin_name="scalars",
                                     downsample=10**6)["p/d"]["a"]
    want = [d["step"] for d in dump_lenient(cli, root + "/dmg-1") if d["kind"] == "metrics"]
    assert 0 < len(got) < 3000 and [d.step for d in got] == want


def dump_lenient(cli, path):
    out = subprocess.run([cli, "dump", "--json", path], capture_output=True, text=True, timeout=60)
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_a_progress_line_on_a_terminal_only(cli, exported, tmp_path):
    import pty

    root, _ = exported
    out = str(tmp_path / "tb")
    leader, follower = pty.openpty()
    p = subprocess.Popen([cli, "export", "--tensorboard", out, root + "/tb-1"], stdout=subprocess.DEVNULL,
                         stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert p.wait(timeout=60) == 0
    os.close(leader)
    text = b"".join(chunks).decode()
    size = sum(os.path.getsize(os.path.join(root, "tb-1", "logs", f)) for f in os.listdir(root + "/tb-1/logs"))
    assert "\r\x1b[2Kexported " in text and text.endswith("\r\x1b[2K")
    assert f" of {size / 1024:.1f} KiB" in text
