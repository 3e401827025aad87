# SPDX-License-Identifier: Apache-2.0
"""Crash states of syncd's state directory.

syncd uploads a finished run to a real MLflow server (started here on
127.0.0.1) through a counting proxy, under strace. Every crash state of its
state directory is then checked:

- `syncd status` reads it without error;
- the state a reader takes (spec/sync-state.md §2) is one that syncd wrote
  in full, never a torn one, and not older than the last one made durable;
- for a sample of states, syncd restarted on it ends with exit 0, and the
  metric points it sends are exactly those MLflow had not acknowledged when
  that state was written, give or take the one request in flight:
  nothing lost, nothing sent twice beyond that request."""

import json
import os
import subprocess
import sys
from typing import Dict, List, Optional, Tuple

import fstrace
from fsmodel import Explorer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "soak.d"))
from proxy import FaultProxy  # noqa: E402
from servers import MLflowServer  # noqa: E402

BATCH = 1000  # metric points in one log-batch request: what one request in flight may resend


def versions_written(trace: fstrace.Trace, name: str) -> List[Tuple[bytes, float, float]]:
    """Each state syncd wrote to `name` in full: (bytes, time its temporary
    file was opened, time it was renamed into place)."""
    content: Dict[int, bytearray] = {}
    opened: Dict[int, float] = {}
    names: Dict[str, int] = dict(trace.initial_inodes)
    out = []
    for op in trace.ops:
        if op.kind == "create":
            names[op.name] = op.inode
            content[op.inode] = bytearray()
            opened[op.inode] = op.time
        elif op.kind == "truncate":
            del content.setdefault(op.inode, bytearray())[op.size:]
            opened[op.inode] = op.time
        elif op.kind == "write":
            buf = content.setdefault(op.inode, bytearray())
            buf.extend(b"\0" * max(0, op.offset - len(buf)))
            buf[op.offset:op.offset + len(op.data)] = op.data
        elif op.kind == "rename" and op.name in names:
            inode = names.pop(op.name)
            names[op.to] = inode
            if op.to == name:
                out.append((bytes(content.get(inode, b"")), opened.get(inode, op.time), op.time))
    return out


def effective(files: Dict[str, bytes], name: str, run_id: str) -> Optional[bytes]:
    """The state a reader takes by spec/sync-state.md §2."""
    tmp = files.get(name + ".tmp")
    if tmp is not None:
        try:
            if json.loads(tmp).get("run_id") == run_id:
                return tmp
        except ValueError:
            pass
    return files.get(name)


def count_points(runlog_bin: str, run_dir: str) -> int:
    out = subprocess.run([runlog_bin, "dump", "--json", "--kind", "metrics", run_dir], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    return sum(len(json.loads(line)["values"]) for line in out.splitlines() if line.strip())


def explore(args, work: str, report) -> None:
    root = os.path.join(work, "runs")
    state_dir = os.path.join(work, "state")
    os.makedirs(state_dir)
    steps = "6000" if args.full else "2500"
    subprocess.run([args.runlog, "demo", "--steps", steps, "--histograms-every", "1000", "--checkpoint-every", "0",
                    "--dir", root, "--id", "sync1"], check=True, capture_output=True, timeout=300)
    total = count_points(args.runlog, os.path.join(root, "sync1"))
    mlflow_dir = os.path.join(work, "mlflow")
    mlflow = MLflowServer(mlflow_dir, f"sqlite:///{mlflow_dir}/mlflow.db", 1)
    try:
        proxy = FaultProxy(mlflow.port)
        url = f"http://127.0.0.1:{proxy.port}"
        start = fstrace.snapshot(state_dir)
        trace_path = os.path.join(work, "trace")
        status = fstrace.record([args.syncd, "--once", "--root", root, "--state", state_dir, "--mlflow", url],
                                trace_path, timed=True)
        if status != 0:
            raise SystemExit(f"crashstates: syncd --once exited {status} under strace")
        traced = len(proxy.acks)
        if proxy.sent_since(0) != total:
            report.violations.append(f"syncd: sent {proxy.sent_since(0)} metric points for a log of {total}")
        trace = fstrace.parse(trace_path, state_dir, start)
        name = os.path.join(state_dir, "sync1.json")
        versions = versions_written(trace, name)
        for model in args.models:
            explore_model(args, model, trace, root, state_dir, name, versions, proxy, url, total, traced, work,
                          report)
    finally:
        mlflow.stop()


def explore_model(args, model: str, trace: fstrace.Trace, root: str, state_dir: str, name: str,
                  versions: List[Tuple[bytes, float, float]], proxy, url: str, total: int, traced: int, work: str,
                  report) -> None:
    """Checks every crash state of the traced state directory under one model."""
    import crashstates
    by_bytes = {v[0]: i for i, v in enumerate(versions)}
    explorer = Explorer(trace, model)
    seen = set()
    explored = 0
    restarts = 0
    n_ops = len(trace.ops)
    restart_every = 1 if args.full else max(1, n_ops // 6)
    materialized = os.path.join(work, "crash-state")
    blobs = crashstates.Blobs(os.path.join(work, "blobs"))
    for k in range(n_ops + 1):
        durable = effective(explorer.durable(k).files, name, "sync1")
        floor = by_bytes.get(durable, -1) if durable is not None else -1
        restart_here = k % restart_every == 0
        for state in explorer.states([k]):
            digest = state.digest()
            if digest in seen:
                continue
            seen.add(digest)
            explored += 1
            problems = []
            got = effective(state.files, name, "sync1")
            index = -1
            if got is not None:
                if got not in by_bytes:
                    problems.append(f"the state read is one syncd never wrote in full ({len(got)} bytes)")
                else:
                    index = by_bytes[got]
            if index < floor:
                problems.append(f"the state read is version {index}, older than the durable version {floor}")
            crashstates.materialize(state, state_dir, materialized, blobs)
            st = subprocess.run([args.syncd, "status", "--root", root, "--state", materialized, "--json"],
                                capture_output=True, text=True, timeout=60)
            if st.returncode != 0:
                problems.append(f"syncd status exit {st.returncode}: {st.stderr.strip()[-200:]}")
            if not problems and restart_here:
                restart_here = False
                restarts += 1
                mark = len(proxy.acks)
                r = subprocess.run([args.syncd, "--once", "--root", root, "--state", materialized,
                                    "--mlflow", url], capture_output=True, text=True, timeout=600)
                sent = proxy.sent_since(mark)
                if r.returncode != 0:
                    problems.append(f"syncd restarted on it exited {r.returncode}: {r.stderr.strip()[-200:]}")
                else:
                    # Points MLflow had acknowledged when the crash came: all the
                    # rest must be sent again, and at most one request more.
                    at = trace.ops[k].time if k < n_ops else float("inf")
                    owed = total - proxy.acked_before(at, traced)
                    if sent < owed:
                        problems.append(f"restarted, it sent {sent} points, but MLflow lacked {owed}: "
                                        "a cursor moved past unacknowledged data")
                    elif sent > owed + BATCH:
                        problems.append(f"restarted, it sent {sent} points for {owed} that MLflow lacked: "
                                        "more than the one request in flight sent twice")
            if problems:
                report.add(f"syncd state ({model})", state, problems)
    report.explored(model, "syncd state", explored)
    print(f"  syncd state ({model}): {n_ops} operations, {len(versions)} states saved, "
          f"{explored} distinct crash states, {restarts} restarts against MLflow", flush=True)
