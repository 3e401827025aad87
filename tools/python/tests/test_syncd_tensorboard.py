# SPDX-License-Identifier: Apache-2.0
"""syncd's TensorBoard destination (`syncd --tensorboard DIR`), checked by
TensorBoard's own loader against `runlog dump --json`: once, live while a
run is written, and exactly once across `kill -9`s of syncd at random
instants. Needs the `runlog` and `syncd` binaries (.build/debug, or
$RUNLOG_BIN and $SYNCD_BIN)."""

import json
import os
import random
import signal
import subprocess
import sys
import time


from tensorboard import context as tb_context
from test_tensorboard import assert_matches_dump, by_rank, dump, provider

def demo(cli, root, run_id, steps, rate=None, histograms_every=50):
    args = [cli, "demo", "--steps", str(steps), "--histograms-every", str(histograms_every), "--project", "p",
            "--name", run_id,
            "--id", run_id, "--dir", root, "--seed", "5"]
    if rate:
        args += ["--rate", str(rate)]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def state(root, run_id):
    with open(os.path.join(root, ".syncd", run_id + ".json"), encoding="utf-8") as f:
        return json.load(f)


def test_once_delivers_every_point_and_says_synced(cli, syncd, tmp_path):
    root, out = str(tmp_path / "runs"), str(tmp_path / "tb")
    assert demo(cli, root, "once-1", 1500).wait(timeout=120) == 0
    r = subprocess.run([syncd, "--root", root, "--tensorboard", out, "--once"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert_matches_dump(provider(out), "p/once-1", dump(cli, root + "/once-1"))
    s = state(root, "once-1")["destinations"]["tensorboard"]
    assert (s["status"], s["sent_status"], s["pending_bytes"]) == ("synced", "FINISHED", 0)
    f = s["event_files"]["0"]
    assert os.path.getsize(os.path.join(out, f["directory"], f["file"])) == f["length"]
    # Nothing new: a second pass writes nothing.
    before = os.path.getsize(os.path.join(out, f["directory"], f["file"]))
    assert subprocess.run([syncd, "--root", root, "--tensorboard", out, "--once"], capture_output=True,
                          timeout=120).returncode == 0
    assert os.path.getsize(os.path.join(out, f["directory"], f["file"])) == before


def kill_9_while_writing(syncd, root, out, writers, rng):
    """Starts syncd --tensorboard and kills it with SIGKILL after a random 0.05 to 0.6 s, again and
    again while a writer runs (at most 120 s); then lets `syncd --once` finish the job. The kills."""
    kills = 0
    deadline = time.monotonic() + 120
    while any(w.poll() is None for w in writers) and time.monotonic() < deadline:
        d = subprocess.Popen([syncd, "--root", root, "--tensorboard", out, "--poll"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, 0.6))
        d.send_signal(signal.SIGKILL)
        d.wait()
        kills += 1
    for w in writers:
        w.wait(timeout=60)
    r = subprocess.run([syncd, "--root", root, "--tensorboard", out, "--once"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return kills


def test_kill_9_at_random_instants_loses_nothing_and_duplicates_nothing(cli, syncd, tmp_path):
    root, out = str(tmp_path / "runs"), str(tmp_path / "tb")
    os.makedirs(root)
    rng = random.Random(int(os.environ.get("RUNLOG_TEST_SEED", "14")))
    writer = demo(cli, root, "kill-1", 4000, rate=1000, histograms_every=400)  # about 4 s of live writing
    kills = kill_9_while_writing(syncd, root, out, [writer], rng)
    assert writer.wait(timeout=60) == 0
    assert kills >= 3
    assert_matches_dump(provider(out), "p/kill-1", dump(cli, root + "/kill-1"))
    assert state(root, "kill-1")["destinations"]["tensorboard"]["status"] == "synced"


# One rank of a run, written live by the Python client: 3,000 steps of two keys in about 3 s,
# and a line printed every 100 steps (the default console capture: a console log of its own).
RANK_WRITER = """
import sys, time, runlog
rank = int(sys.argv[2])
run = runlog.init(project="p", name="ranks", dir=sys.argv[1], id="ranks-1", rank=rank, world_size=2, flush_interval=0.1,
                  console="redirect")
for i in range(3000):
    run.log({"loss": 1 / (i + 1) + rank, "acc": i / 3000}, step=i)
    if i % 100 == 99:
        print(f"rank {rank} line {i // 100}", flush=True)
        time.sleep(0.1)
run.finish()
"""


def test_two_live_ranks_taking_turns_across_kill_9_lose_nothing_and_duplicate_nothing(cli, syncd, tmp_path):
    """The ranks of a run take turns, each into its own event file: kill -9s of syncd at random
    instants leave each rank's file with every point of that rank once, and every line it printed
    (its console log) once."""
    root, out = str(tmp_path / "runs"), str(tmp_path / "tb")
    os.makedirs(root)
    rng = random.Random(int(os.environ.get("RUNLOG_TEST_SEED", "15")))
    writers = [subprocess.Popen([sys.executable, "-c", RANK_WRITER, root, str(rank)], stderr=subprocess.PIPE)
               for rank in (0, 1)]
    kills = kill_9_while_writing(syncd, root, out, writers, rng)
    assert [w.wait(timeout=60) for w in writers] == [0, 0], [w.stderr.read() for w in writers]
    assert kills >= 3
    p, records = provider(out), dump(cli, root + "/ranks-1")
    for rank, run in ((0, "p/ranks"), (1, "p/ranks/rank1")):
        mine = by_rank(records, rank)
        scalars = assert_matches_dump(p, run, mine)
        assert len(scalars["loss"]) == 3000 and len(scalars["acc"]) == 3000
        texts = p.read_tensors(tb_context.RequestContext(), experiment_id="", plugin_name="text", downsample=10**9)[run]
        printed = "".join(t.numpy.item().decode() for t in texts["runlog/console/stdout"])
        assert [printed.count(f"rank {rank} line {n}\n") for n in range(30)] == [1] * 30, printed
    assert state(root, "ranks-1")["destinations"]["tensorboard"]["status"] == "synced"


def test_an_unwritable_directory_is_one_line_and_status_2(cli, syncd, tmp_path):
    root = str(tmp_path / "runs")
    assert demo(cli, root, "ro-1", 10).wait(timeout=60) == 0
    (tmp_path / "file").write_text("x")
    r = subprocess.run([syncd, "--root", root, "--tensorboard", str(tmp_path / "file" / "tb"), "--once"],
                       capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stderr) == (2, f"syncd: tensorboard: {tmp_path}/file/tb: cannot create directory: "
                                           "Not a directory\n")


def test_a_full_disk_is_retried_and_shown_and_the_run_completes_once_there_is_room(cli, syncd, tmp_path, tmpfs):
    root = str(tmp_path / "runs")
    assert demo(cli, root, "full-1", 3000, histograms_every=1000).wait(timeout=60) == 0
    out = tmpfs()
    r = subprocess.run([syncd, "--root", root, "--tensorboard", out, "--once"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 6 and "No space left on device; trying again in 5 s" in r.stderr
    s = state(root, "full-1")["destinations"]["tensorboard"]
    name = os.listdir(os.path.join(out, "p", "full-1"))[0]
    path = os.path.join(out, "p", "full-1", name)
    assert s["status"] == "pending" and s["last_error"] == f"{path}: cannot write: No space left on device (retrying)"
    assert "event_files" not in s and os.path.getsize(path) == 0  # nothing acknowledged; the failed batch cut off
    status = subprocess.run([syncd, "status", "--root", root], capture_output=True, text=True, timeout=60).stdout
    assert status.splitlines()[1].endswith(f"{path}: cannot write: No space left on device (retrying)")
    subprocess.run(["mount", "-o", "remount,size=4m", out], check=True)
    r = subprocess.run([syncd, "--root", root, "--tensorboard", out, "--once"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert_matches_dump(provider(out), "p/full-1", dump(cli, root + "/full-1"))


def test_the_config_file_names_the_directory(cli, syncd, tmp_path):
    root, out = str(tmp_path / "runs"), str(tmp_path / "tb")
    assert demo(cli, root, "conf-1", 200, histograms_every=100).wait(timeout=60) == 0
    config = tmp_path / "syncd.toml"
    config.write_text(f'roots = ["{root}"]\ntensorboard = "{out}"\n')
    r = subprocess.run([syncd, "--config", str(config), "--once"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert_matches_dump(provider(out), "p/conf-1", dump(cli, root + "/conf-1"))
    config.write_text(f'roots = ["{root}"]\ntensorboard = 3\n')
    r = subprocess.run([syncd, "--config", str(config), "--once"], capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stderr) == (2, f"syncd: {config}:2: tensorboard: wrong type\n")


def test_clean_keeps_a_run_until_its_console_log_is_in_tensorboard(syncd, tmp_path):
    """A run synced to TensorBoard by a syncd that did not read its console log yet (no cursor for
    it in the state, as a syncd before console logs left it) stays until the console is there."""
    root, out = str(tmp_path / "runs"), str(tmp_path / "tb")
    os.makedirs(root)
    assert subprocess.run([sys.executable, "-c", RANK_WRITER, root, "0"], stdout=subprocess.DEVNULL, timeout=60).returncode == 0
    once = [syncd, "--root", root, "--tensorboard", out, "--once"]
    clean = [syncd, "clean", "--root", root, "--older-than", "0", "--dry-run", "--verbose"]
    assert subprocess.run(once, capture_output=True, timeout=120).returncode == 0
    path = os.path.join(root, ".syncd", "ranks-1.json")
    saved = state(root, "ranks-1")
    del saved["destinations"]["tensorboard"]["segments"]["a0001-r0000-c0000.rlog"]
    with open(path, "w", encoding="utf-8") as f:
        json.dump(saved, f)
    kept = subprocess.run(clean, capture_output=True, text=True, timeout=60)
    assert "kept\tranks-1\tconsole log a0001-r0000-c0000.rlog not in tensorboard yet\n" in kept.stdout, kept
    assert subprocess.run(once, capture_output=True, timeout=120).returncode == 0
    assert "would remove\tranks-1\t" in subprocess.run(clean, capture_output=True, text=True, timeout=60).stdout
