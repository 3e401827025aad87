# SPDX-License-Identifier: Apache-2.0
"""What must hold in every crash state of a run root, and of a sync-state
directory. Each check returns a list of violations (empty: the state is fine)."""

import hashlib
import json
import os
import subprocess
from collections import OrderedDict
from typing import Dict, List, Optional

from runlog import canonical
from runlog.logfile import FormatError
from runlog.reader import LogReader


_READ_CACHE: "OrderedDict[bytes, tuple]" = OrderedDict()


def read_records(path: str):
    """(canonical lines, damage) of one log; lines is None when it has no
    complete header. Crash states share most of their logs' contents, so
    the answer is kept for the last few hundred contents read."""
    with open(path, "rb") as fh:
        key = hashlib.sha256(fh.read()).digest()
    if key in _READ_CACHE:
        _READ_CACHE.move_to_end(key)
        return _READ_CACHE[key]
    answer = _read_records(path)
    _READ_CACHE[key] = answer
    if len(_READ_CACHE) > 256:
        _READ_CACHE.popitem(last=False)
    return answer


def _read_records(path: str):
    try:
        reader = LogReader(path)
    except FormatError as e:
        if e.offset is None:
            return None, []
        return None, [str(e)]
    lines = [line for line in "".join(canonical.dump(reader)).splitlines() if line]
    return lines, [str(d) for d in reader.damage]


def logs_under(root: str) -> Dict[str, str]:
    """Relative name → absolute path of every .rlog under root."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            if f.endswith(".rlog"):
                p = os.path.join(dirpath, f)
                out[os.path.relpath(p, root)] = p
    return out


class LogChecks:
    """Checks a crash state of a run root against the logs the program left
    when it ran to the end (`reference`) and against what was durable."""

    def __init__(self, runlog_bin: str, reference_root: str):
        self.runlog = runlog_bin
        self.reference: Dict[str, List[str]] = {}
        for rel, path in logs_under(reference_root).items():
            lines, damage = read_records(path)
            if lines is None or damage:
                raise SystemExit(f"crashstates: the reference log {path} is not intact: {damage}")
            self.reference[rel] = lines

    def records(self, root: str) -> Dict[str, Optional[List[str]]]:
        return {rel: read_records(p)[0] for rel, p in logs_under(root).items()}

    def check(self, root: str, durable: Dict[str, Optional[List[str]]], run_cli: bool) -> List[str]:
        problems: List[str] = []
        ended = False
        for rel, path in logs_under(root).items():
            lines, damage = read_records(path)
            for d in damage:
                problems.append(f"{rel}: damage: {d}")
            ref = self.reference.get(rel)
            if ref is None:
                problems.append(f"{rel}: a log the program never wrote")
                continue
            got = lines or []
            if got != ref[:len(got)]:
                first = next((i for i, (a, b) in enumerate(zip(got, ref, strict=False)) if a != b), len(ref))
                problems.append(f"{rel}: record {first} was never written: {got[first][:120]}")
            need = durable.get(rel) or []
            if len(got) < len(need):
                problems.append(f"{rel}: {len(need) - len(got)} durable records missing ({len(got)} of {len(need)})")
            if got and '"kind":"run_end"' in got[-1]:
                ended = True
        for rel, need in durable.items():
            if need and rel not in logs_under(root):
                problems.append(f"{rel}: a durable log is gone")
        if run_cli:
            problems += self.cli(root, ended)
        return problems

    def ended(self, root: str) -> bool:
        """Whether some log under root ends with its run end."""
        for path in logs_under(root).values():
            lines = read_records(path)[0]
            if lines and '"kind":"run_end"' in lines[-1]:
                return True
        return False

    def cli(self, root: str, ended: bool) -> List[str]:
        problems = []
        runs = sorted({rel.split(os.sep)[0] for rel in logs_under(root)})
        for run in runs:
            v = subprocess.run([self.runlog, "verify", os.path.join(root, run)], capture_output=True, text=True,
                               timeout=60)
            if v.returncode != 0:
                problems.append(f"runlog verify exit {v.returncode}: {(v.stdout + v.stderr).strip()[-300:]}")
        ls = subprocess.run([self.runlog, "ls", root, "--json"], capture_output=True, text=True, timeout=60)
        if ls.returncode != 0:
            problems.append(f"runlog ls exit {ls.returncode}: {ls.stderr.strip()[-200:]}")
            return problems
        for line in ls.stdout.splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            want = "finished" if ended else "crashed"
            if row.get("status") != want:
                problems.append(f"runlog ls: {row.get('id') or row.get('run')} is {row.get('status')}, not {want}")
        return problems


def appends_past_unsynced(trace, root: str) -> List[str]:
    """The append rule (spec/format.md section 5) on a whole trace: each
    write to a log (a file created as `*.rlog`) that lands while an earlier
    write to it, or a truncation, is not fsynced yet. Under a model where
    unsynced writes persist in any order, each is a state with a hole
    before a kept frame."""
    logs = {op.inode: op.name for op in trace.ops if op.kind == "create" and op.name.endswith(".rlog")}
    unsynced = set()
    out = []
    for i, op in enumerate(trace.ops):
        if op.inode not in logs:
            continue
        if op.kind in ("write", "truncate"):
            if op.kind == "write" and op.inode in unsynced:
                out.append(f"{os.path.relpath(logs[op.inode], root)}: the write at offset {op.offset} "
                           f"(op {i}) lands past a write not fsynced yet")
            unsynced.add(op.inode)
        elif op.kind == "fsync":
            unsynced.discard(op.inode)
    return out


def reopen(runlog_bin: str, root: str, argv: List[str]) -> List[str]:
    """Runs the writer again on the crash state (a requeued job: a new
    attempt) and checks that the earlier logs are unchanged and the whole
    run reads back intact."""
    before = {rel: open(p, "rb").read() for rel, p in logs_under(root).items()}
    r = subprocess.run(argv, capture_output=True, text=True, errors="replace", timeout=120)
    if r.returncode != 0:
        return [f"reopening failed (exit {r.returncode}): {(r.stdout + r.stderr).strip()[-300:]}"]
    problems = []
    after = logs_under(root)
    for rel, data in before.items():
        if open(after[rel], "rb").read() != data:
            problems.append(f"reopening changed {rel}")
    if len(after) <= len(before):
        problems.append("reopening wrote no new log")
    for run in sorted({rel.split(os.sep)[0] for rel in after}):
        v = subprocess.run([runlog_bin, "verify", os.path.join(root, run)], capture_output=True, text=True,
                           timeout=60)
        if v.returncode != 0:
            problems.append(f"after reopening, runlog verify exit {v.returncode}: {v.stdout.strip()[-200:]}")
    return problems
