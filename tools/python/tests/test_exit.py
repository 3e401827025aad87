# SPDX-License-Identifier: Apache-2.0
"""How a Python program ends decides how its run ends: `sys.exit(n)`,
`SystemExit` in a `with` block, exit handlers, `os._exit`, signals."""

import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

import runlog
from runlog.records import RUN_END, METRICS

PROLOGUE = "import atexit, os, signal, sys, threading, time, runlog\n"


def run_script(rundir, body, signal_after_ready=None):
    """Runs `body` in a new interpreter with run `s1` under `rundir`; returns
    (exit status, stderr, run end or None, metrics rows)."""
    script = PROLOGUE + textwrap.dedent(body)
    env = dict(os.environ, RUNLOG_DIR=rundir, RUNLOG_RUN_ID="s1", RUNLOG_CONSOLE="off", PYTHONFAULTHANDLER="1")
    # A shell without job control starts background commands with SIGINT
    # ignored, and an ignored signal stays ignored across exec: the child would
    # ignore Ctrl-C, as Python does then. Start it as a terminal would.
    ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        child = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
    finally:
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
    if signal_after_ready is not None:
        assert child.stdout.readline().strip() == "ready"
        child.send_signal(signal_after_ready)
    try:
        _, err = child.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGABRT)  # the fault handler prints every thread's stack
        _, err = child.communicate(timeout=10)
        pytest.fail(f"the script did not end in 30 s; its threads then:\n{err}")
    path = os.path.join(rundir, "s1", "logs", "a0001-r0000-s0000.rlog")
    records = list(runlog.LogReader(path).records())
    ends = [r for r in records if r.kind == RUN_END]
    rows = [row for r in records if r.kind == METRICS for row in r.block.rows()]
    return child.returncode, err, (ends[0] if ends else None), rows


@pytest.mark.parametrize("call, status, code, message", [
    ("sys.exit(3)", 2, 3, "sys.exit(3)"),
    ("sys.exit(0)", 1, 0, ""),
    ("sys.exit()", 1, 0, ""),
    ("sys.exit('bad input')", 2, 1, "sys.exit('bad input')"),
])
def test_sys_exit_gives_the_status_the_process_exits_with(rundir, call, status, code, message):
    returncode, _, end, rows = run_script(rundir, f"""
        run = runlog.init()
        run.log({{"a": 1.0}})
        {call}
    """)
    assert returncode == code
    assert (end.status, end.exit_code, end.message) == (status, code, message)
    assert len(rows) == 1


def test_system_exit_in_a_with_block_gives_its_status(rundir):
    returncode, _, end, _ = run_script(rundir, """
        with runlog.init() as run:
            raise SystemExit(4)
    """)
    assert returncode == 4 and (end.status, end.exit_code, end.message) == (2, 4, "SystemExit: 4")


def test_system_exit_0_in_a_with_block_is_finished(rundir):
    returncode, _, end, _ = run_script(rundir, """
        with runlog.init() as run:
            sys.exit(0)
    """)
    assert returncode == 0 and (end.status, end.exit_code) == (1, 0)


def test_sys_exit_in_a_thread_ends_only_the_thread(rundir):
    returncode, _, end, _ = run_script(rundir, """
        run = runlog.init()
        t = threading.Thread(target=sys.exit, args=(5,))
        t.start(); t.join()
    """)
    assert returncode == 0 and (end.status, end.exit_code) == (1, 0)


def test_exit_handlers_registered_after_init_still_log(rundir):
    returncode, err, end, rows = run_script(rundir, """
        run = runlog.init()
        atexit.register(lambda: run.log({"at_exit": 1.0}))
        run.log({"a": 1.0})
    """)
    assert returncode == 0 and err == "" and end.status == 1
    assert [dict(v) for _, _, v in rows] == [{"a": 1.0}, {"at_exit": 1.0}]


def test_os_exit_leaves_the_attempt_crashed(rundir):
    returncode, _, end, rows = run_script(rundir, """
        run = runlog.init()
        run.log({"a": 1.0})
        run.flush()
        os._exit(5)
    """)
    assert returncode == 5 and end is None and len(rows) == 1
    # The writer is gone and released its lock: readers judge the attempt crashed.
    assert os.path.exists(os.path.join(rundir, "s1", "logs", "a0001-r0000.live"))


@pytest.mark.parametrize("sig, status, code, message, returncode", [
    (signal.SIGTERM, 3, 143, "SIGTERM", 143),
    # As without runlog: the interpreter dies by SIGINT, so a shell loop stops.
    (signal.SIGINT, 3, 130, "KeyboardInterrupt", -signal.SIGINT),
])
def test_sigterm_and_ctrl_c_end_the_run_killed(rundir, sig, status, code, message, returncode):
    exit_status, _, end, _ = run_script(rundir, """
        run = runlog.init()
        print("ready", flush=True)
        time.sleep(60)
    """, signal_after_ready=sig)
    assert (end.status, end.exit_code, end.message) == (status, code, message)
    assert exit_status == returncode


def test_sigterm_inside_a_with_block_is_killed_not_failed(rundir):
    returncode, _, end, _ = run_script(rundir, """
        with runlog.init() as run:
            print("ready", flush=True)
            time.sleep(60)
    """, signal_after_ready=signal.SIGTERM)
    assert (end.status, end.exit_code, end.message) == (3, 143, "SIGTERM") and returncode == 143


def _blocked_signals(native_id):
    """The signals thread `native_id` of this process blocks (its SigBlk)."""
    with open(f"/proc/self/task/{native_id}/status", encoding="ascii") as f:
        mask = int(next(line for line in f if line.startswith("SigBlk:")).split()[1], 16)
    return {s for s in signal.valid_signals() if mask >> (s - 1) & 1}


def test_the_clients_threads_leave_signals_to_the_main_thread(rundir):
    # A signal sent to the process goes to any thread that does not block it, and
    # CPython runs its handlers on the main thread only: a Ctrl-C that landed on
    # the writer thread would wait for a main thread in time.sleep(60) to wake.
    main_before = _blocked_signals(threading.get_native_id())
    run = runlog.init(dir=rundir, console="wrap", system_metrics_interval=0.1)
    try:
        # The threads that live as long as the run (the environment's may have ended).
        ours = [t for t in threading.enumerate() if t.name in ("runlog-writer", "runlog-system-metrics", "runlog-console")]
        assert len(ours) == 3
        for t in ours:
            assert {signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1} <= _blocked_signals(t.native_id), t.name
            assert signal.SIGSEGV not in _blocked_signals(t.native_id), t.name
        assert _blocked_signals(threading.get_native_id()) == main_before
    finally:
        run.finish()


def test_no_thread_of_a_fresh_process_but_the_main_one_takes_sigterm(rundir):
    # Native libraries start threads too: OpenBLAS starts its workers when numpy
    # is imported, and a worker that took the SIGTERM would leave the main thread
    # asleep. In a fresh interpreter, after `import runlog` and `init`, every thread
    # but the main one blocks SIGINT and SIGTERM.
    pytest.importorskip("numpy")
    _, err, end, _ = run_script(rundir, """
        run = runlog.init(system_metrics_interval=0.1)
        time.sleep(0.3)
        for tid in sorted(os.listdir("/proc/self/task")):
            if int(tid) != threading.get_native_id():
                with open(f"/proc/self/task/{tid}/status") as f:
                    mask = int(next(l for l in f if l.startswith("SigBlk:")).split()[1], 16)
                print(tid, mask >> (signal.SIGINT - 1) & 1, mask >> (signal.SIGTERM - 1) & 1, file=sys.stderr)
    """)
    lines = err.split("\n")[:-1]
    assert len(lines) >= 3, err  # the writer, the sampler, numpy's own
    assert all(line.split()[1:] == ["1", "1"] for line in lines), err
    assert end.status == 1
