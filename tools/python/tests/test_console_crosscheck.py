# SPDX-License-Identifier: Apache-2.0
"""The Swift logger's console capture and the Python client's helper, given
the same bytes, write console logs that read the same: the same text per
stream (cut characters whole, bytes that are not UTF-8 as U+FFFD) and the
same `runlog logs` output.

The Swift side is `RunLogTestWriter console-bytes`, built next to the
`runlog` tool (`.build/debug`, or $RUNLOG_BIN's directory)."""

import glob
import os
import subprocess
import sys
import textwrap

from conftest import BIN, REPO, built
from runlog import read_log
from runlog.records import CONSOLE, STDOUT

# The pieces RunLogTestWriter's console-bytes mode writes, 50 ms apart (Sources/RunLogTestWriter/ConsoleMode.swift).
PIECES = [b"caf\xc3", b"\xa9 ok \xe2\x9c", b"\x93\xf0\x9f", b"\x98\x80\n",
          b"\xffa\xc0\x80b\xed\xa0\x80c\xf4\x90\x80\x80d\x80\n", b"\xe2\x82", b"x\n", b"end \xe2\x82"]


def console_texts(run):
    """({stream: text}, [writers]) of a run's console logs."""
    texts, writers = {}, []
    for path in sorted(glob.glob(os.path.join(run, "logs", "*-c*.rlog"))):
        header, records, damage, _ = read_log(path)
        assert damage == []
        writers.append(header.writer)
        for r in records:
            if r.kind == CONSOLE:
                texts[r.stream] = texts.get(r.stream, "") + r.text
    return texts, writers


def test_swift_and_python_console_logs_of_the_same_bytes_read_the_same(cli, tmp_path):
    writer = os.path.join(os.path.dirname(BIN), "RunLogTestWriter")
    built(writer, "RUNLOG_BIN")
    root = str(tmp_path / "runs")
    env = dict(os.environ, SWIFT_BACKTRACE="enable=no")
    swift = subprocess.run([writer, "console-bytes", root, "swift"], env=env, capture_output=True, timeout=60, check=False)
    script = tmp_path / "print.py"
    script.write_text(textwrap.dedent(f"""
        import os, time, runlog
        run = runlog.init(project="p", id="python", dir={root!r}, console="redirect")
        for piece in {PIECES!r}:
            os.write(1, piece)
            time.sleep(0.05)
        run.finish()
    """))
    env.update(PYTHONPATH=os.path.join(REPO, "tools", "python"))
    python = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, timeout=60, check=False)
    raw = b"".join(PIECES)
    assert (swift.returncode, swift.stdout) == (0, raw), swift.stderr
    assert (python.returncode, python.stdout) == (0, raw), python.stderr
    swift_texts, swift_writers = console_texts(os.path.join(root, "swift"))
    python_texts, python_writers = console_texts(os.path.join(root, "python"))
    assert swift_writers == ["runlog-swift-console/0.1.0"]
    assert python_writers == ["runlog-python-console/0.1.0"]
    assert swift_texts == python_texts == {STDOUT: raw.decode("utf-8", "replace")}
    shown = [subprocess.run([cli, "logs", os.path.join(root, run)], capture_output=True, text=True, timeout=60, check=False)
             for run in ("swift", "python")]
    assert shown[0].returncode == shown[1].returncode == 0
    expected = ("café ok ✓😀\n\ufffda\ufffd\ufffdb\ufffd\ufffd\ufffdc\ufffd\ufffd\ufffd\ufffdd\ufffd\n"
                "\ufffdx\nend \ufffd\n")
    assert shown[0].stdout == shown[1].stdout == expected
