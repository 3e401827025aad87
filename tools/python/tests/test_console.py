# SPDX-License-Identifier: Apache-2.0
"""Console capture: every mode, every way a training process can end, the
terminal unchanged, progress bars folded, and memory bounded."""

import glob
import os
import subprocess
import sys
import textwrap
import time

import pytest
from runlog import read_log
from runlog._console_text import render
from runlog.records import CONSOLE, METRICS, RUN_END, STDERR, STDOUT

PKG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def run_script(tmp_path, body, env=None, timeout=60):
    script = tmp_path / "train.py"
    script.write_text("import os, sys, time\nimport runlog\n" + textwrap.dedent(body))
    e = dict(os.environ, PYTHONPATH=PKG, RUNLOG_DIR=str(tmp_path / "runs"), RUNLOG_RUN_ID="r1")
    e.pop("RUNLOG_CONSOLE", None)
    e.update(env or {})
    return subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=e, capture_output=True, timeout=timeout, check=False)


def console(tmp_path, wait_for=None, timeout=15):
    """{stream: [record, …]} of the run's logs, once `wait_for` is in the output (the helper may still be writing)."""
    deadline = time.monotonic() + timeout
    while True:
        out = {STDOUT: [], STDERR: []}
        for path in sorted(glob.glob(str(tmp_path / "runs" / "r1" / "logs" / "*.rlog"))):
            try:
                for r in read_log(path)[1]:
                    if r.kind == CONSOLE:
                        out[r.stream].append(r)
            except Exception:  # noqa: BLE001 - header not written yet
                pass
        text = "".join(r.text for rs in out.values() for r in rs)
        if wait_for is None or wait_for in text or time.monotonic() > deadline:
            return out
        time.sleep(0.1)


def shown(records):
    return render([r.text for r in records])


def test_normal_exit_keeps_everything_and_the_terminal_sees_it_unchanged(tmp_path):
    p = run_script(tmp_path, """
        run = runlog.init(project="p")
        for i in range(1000):
            print(f"line {i}")
        print("to stderr", file=sys.stderr)
        os.write(1, b"written to fd 1 directly\\n")
        os.system("echo from a child process")
        sys.stdout.write("no newline at the end")
    """)
    assert p.returncode == 0, p.stderr
    expected = "".join(f"line {i}\n" for i in range(1000)) + "written to fd 1 directly\nfrom a child process\nno newline at the end"
    assert p.stdout.decode() == expected
    assert p.stderr.decode() == "to stderr\n"
    c = console(tmp_path)
    assert shown(c[STDOUT]) == expected
    assert shown(c[STDERR]) == "to stderr\n"
    assert len(glob.glob(str(tmp_path / "runs/r1/logs/a0001-r0000-c0000.rlog"))) == 1


@pytest.mark.parametrize("death", ["kill -9", "segfault", "os._exit"])
def test_the_last_line_before_a_hard_death_is_kept(tmp_path, death):
    how = {"kill -9": "os.kill(os.getpid(), 9)", "segfault": "import ctypes; ctypes.string_at(0)",
           "os._exit": "os._exit(3)"}[death]
    p = run_script(tmp_path, f"""
        run = runlog.init(project="p")
        run.log({{"loss": 0.5}})
        for i in range(100):
            print(f"step {{i}}")
        sys.stdout.write("epoch 1: 40%")
        sys.stdout.flush()
        print("CUDA out of memory: the last line", file=sys.stderr)
        {how}
    """)
    assert p.returncode != 0
    c = console(tmp_path, wait_for="the last line")
    assert shown(c[STDERR]) == "CUDA out of memory: the last line\n"
    assert shown(c[STDOUT]) == "".join(f"step {i}\n" for i in range(100)) + "epoch 1: 40%"


def test_a_burst_of_lines_is_recorded_in_few_records_in_the_order_printed(tmp_path):
    # The helper reads large chunks and records text of one stream in a row
    # together: records come from the text and the time it took, not from the
    # number of lines or writes; a switch of stream starts a record.
    p = run_script(tmp_path, """
        run = runlog.init(project="p")
        t0 = time.monotonic()
        for i in range(100000):
            print(f"step {i}")
        sys.stdout.flush()
        sys.stderr.write(f"took {time.monotonic() - t0}\\n")
        sys.stderr.flush()
        time.sleep(0.3)
        for word in ("one", "two", "three"):
            print(word, flush=True)
            print(word.upper(), file=sys.stderr, flush=True)
            time.sleep(0.3)
    """)
    assert p.returncode == 0, p.stderr
    took = float(p.stderr.decode().split()[1])
    c = console(tmp_path)
    lines = "".join(f"step {i}\n" for i in range(100000))
    assert shown(c[STDOUT]) == lines + "one\ntwo\nthree\n"
    burst = [r for r in c[STDOUT] if r.text.startswith("step")]
    assert len(burst) <= len(lines) / (256 << 10) + took / 0.1 + 4, (len(burst), took)
    ordered = [r.text for r in read_log(str(tmp_path / "runs/r1/logs/a0001-r0000-c0000.rlog"))[1][-6:]]
    assert ordered == ["one\n", "ONE\n", "two\n", "TWO\n", "three\n", "THREE\n"]


@pytest.mark.parametrize("text,dropped", [("", 77), ("plain line\n", 0), ("é ✓ \U0001F600\r\n", 3), ("x" * 300000, 1 << 40)])
def test_the_helpers_console_records_are_the_formats(text, dropped):
    from runlog._console_helper import console_record
    from runlog.records import Console

    for stream, at in ((STDOUT, 1_764_000_000_000_001), (STDERR, -5)):
        assert console_record(stream, at, text.encode(), dropped) == Console(stream, at, text, dropped).encode()


def test_a_character_cut_between_reads_is_kept_whole_and_bad_bytes_become_u_fffd(tmp_path):
    p = run_script(tmp_path, """
        run = runlog.init(project="p")
        os.write(1, b"ascii first\\ncaf\\xc3")
        time.sleep(0.5)  # the helper reads the cut character apart
        os.write(1, b"\\xa9 \\xe2\\x9c\\x93\\n\\xff\\xfe bad\\n")
        time.sleep(0.5)
        os.write(1, b"x\\xc3")
        time.sleep(0.5)
        os.write(1, b"plain ascii after a cut\\n")  # not a character's end: the cut one is bad
        time.sleep(0.5)
        os.write(1, b"ascii again\\n\\xc3")  # cut at the end for good
    """)
    assert p.returncode == 0, p.stderr
    assert p.stdout == (b"ascii first\ncaf\xc3\xa9 \xe2\x9c\x93\n\xff\xfe bad\nx\xc3plain ascii after a cut\n"
                        b"ascii again\n\xc3")  # passed on as it was
    c = console(tmp_path)
    assert shown(c[STDOUT]) == "ascii first\ncafé ✓\n\ufffd\ufffd bad\nx\ufffdplain ascii after a cut\nascii again\n\ufffd"


def test_an_uncaught_exception_keeps_its_traceback(tmp_path):
    p = run_script(tmp_path, """
        run = runlog.init(project="p")
        print("before")
        def train():
            raise RuntimeError("NCCL timeout")
        train()
    """)
    assert p.returncode == 1
    err = shown(console(tmp_path, wait_for="NCCL timeout")[STDERR])
    assert err == p.stderr.decode()
    assert err.startswith("Traceback (most recent call last):") and "in train" in err
    assert err.endswith("RuntimeError: NCCL timeout\n")
    records = read_log(str(tmp_path / "runs/r1/logs/a0001-r0000-s0000.rlog"))[1]
    assert records[-1].kind == RUN_END and records[-1].status == 2


@pytest.mark.parametrize("mode", ["redirect", "wrap"])
def test_an_exception_leaving_a_with_block_keeps_its_traceback(tmp_path, mode):
    p = run_script(tmp_path, """
        with runlog.init(project="p") as run:
            print("inside")
            raise ValueError("bad batch")
    """, env={"RUNLOG_CONSOLE": mode})
    assert p.returncode == 1
    c = console(tmp_path, wait_for="bad batch")
    assert shown(c[STDOUT]) == "inside\n"
    err = shown(c[STDERR])
    assert err.startswith("Traceback (most recent call last):") and err.endswith("ValueError: bad batch\n")
    assert err == p.stderr.decode()


def test_a_progress_bar_is_kept_in_its_final_state(tmp_path):
    p = run_script(tmp_path, """
        from tqdm import tqdm
        run = runlog.init(project="p")
        for i in tqdm(range(20000), desc="train", mininterval=0):
            pass
        print("done")
    """)
    assert p.returncode == 0, p.stderr
    assert p.stderr.count(b"\r") > 1000  # the terminal saw every redraw
    c = console(tmp_path)
    err = "".join(r.text for r in c[STDERR])
    assert "\r" not in err and err.count("\n") == 1
    assert err.startswith("train: 100%|") and "20000/20000" in err
    assert len(c[STDERR]) <= 3
    assert shown(c[STDOUT]) == "done\n"


def test_wrap_mode_records_into_the_run_log_and_off_records_nothing(tmp_path):
    body = """
        run = runlog.init(project="p")
        print("hello")
        print("oops", file=sys.stderr)
        os.write(1, b"fd level\\n")
    """
    p = run_script(tmp_path, body, env={"RUNLOG_CONSOLE": "wrap"})
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode() == "fd level\nhello\n" or p.stdout.decode() == "hello\nfd level\n"
    assert not glob.glob(str(tmp_path / "runs/r1/logs/*-c*.rlog"))
    c = console(tmp_path)
    assert shown(c[STDOUT]) == "hello\n" and shown(c[STDERR]) == "oops\n"  # fd writes are not seen by wrap
    q = run_script(tmp_path / ".." / tmp_path.name, body.replace('project="p"', 'project="p", console="off"'),
                   env={"RUNLOG_RUN_ID": "r2"})
    assert q.returncode == 0, q.stderr
    assert not glob.glob(str(tmp_path / "runs/r2/logs/*-c*.rlog"))
    records = [r for path in glob.glob(str(tmp_path / "runs/r2/logs/*.rlog")) for r in read_log(path)[1]]
    assert records and not [r for r in records if r.kind == CONSOLE]


@pytest.mark.parametrize("unbuffered", [True, False])
def test_wrap_mode_keeps_the_streams_buffering_and_attributes(tmp_path, unbuffered):
    # Written through at once with `python -u`, held until a flush without;
    # the stand-ins answer as the originals did (descriptor, encoding, buffering).
    p = run_script(tmp_path, """
        import fcntl
        r, w = os.pipe()
        os.dup2(w, 1)
        fcntl.fcntl(r, fcntl.F_SETFL, os.O_NONBLOCK)
        def now():
            try:
                return os.read(r, 1000).decode()
            except BlockingIOError:
                return ""
        def seen():
            return (sys.stdout.line_buffering, sys.stdout.write_through, sys.stdout.encoding, sys.stdout.errors,
                    sys.stdout.fileno(), sys.stdout.isatty(), sys.stderr.write_through)
        before = seen()
        run = runlog.init(project="p", console="wrap")
        assert sys.stdout is not sys.__stdout__
        assert seen() == before, (seen(), before)
        sys.stdout.write("no newline yet")
        at_once = now()
        sys.stdout.flush()
        after_flush = at_once + now()
        sys.stderr.write(f"{at_once!r} {after_flush!r}")
        run.finish()
    """, env={"PYTHONUNBUFFERED": "1"} if unbuffered else {"PYTHONUNBUFFERED": ""})
    assert p.returncode == 0, p.stderr
    expected = "'no newline yet' 'no newline yet'" if unbuffered else "'' 'no newline yet'"
    assert p.stderr.decode() == expected
    assert shown(console(tmp_path)[STDOUT]) == "no newline yet"


def test_a_bad_console_mode_is_refused(tmp_path):
    p = run_script(tmp_path, "runlog.init(project='p')\n", env={"RUNLOG_CONSOLE": "sideways"})
    assert p.returncode == 1
    assert b"console must be one of redirect, wrap, off, got 'sideways'" in p.stderr


def test_printing_faster_than_the_disk_drops_text_counted_never_metrics(tmp_path):
    # A disk that takes 0.2 s per write and 1 MiB of memory for console text:
    # 40 MiB printed as fast as possible must neither block nor grow memory.
    p = run_script(tmp_path, """
        run = runlog.init(project="p")
        line = "x" * 1023 + "\\n"
        t0 = time.monotonic()
        for i in range(40 * 1024):
            sys.stdout.write(line)
            if i % 64 == 0:
                run.log({"i": float(i)})
        sys.stderr.write(f"took {time.monotonic() - t0}\\n")
        run.finish()
    """, env={"RUNLOG_CONSOLE_TEST_WRITE_DELAY": "0.2", "RUNLOG_CONSOLE_MAX_HELD": str(1 << 20)}, timeout=120)
    assert p.returncode == 0, p.stderr
    assert len(p.stdout) == 40 << 20  # the terminal got everything
    c = console(tmp_path)
    kept = sum(len(r.text) for r in c[STDOUT])
    dropped = sum(r.dropped for r in c[STDOUT])
    assert dropped > 0 and kept > 0
    assert kept + dropped == 40 << 20
    assert set(shown(c[STDOUT]).replace("\n", "")) == {"x"}
    rows = [row for r in read_log(str(tmp_path / "runs/r1/logs/a0001-r0000-s0000.rlog"))[1] if r.kind == METRICS
            for row in r.block.rows()]
    assert [row[2][0][1] for row in rows] == [float(i) for i in range(0, 40 * 1024, 64)]
