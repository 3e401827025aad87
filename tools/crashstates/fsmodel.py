# SPDX-License-Identifier: Apache-2.0
"""The crash states a file system may leave after a trace of operations.

Two models (README.md says what each assumes):

- "ordered", ext4 with data=ordered as ALICE models it: metadata operations
  (create, mkdir, rename, link, unlink, truncate) reach the disk in the order
  they were made, and every fsync or fdatasync commits all metadata made
  before it; a file's data is durable up to its own last fsync, and the
  writes made since persist as a prefix, in the order they were made, the
  last one possibly torn.
- "weak", closer to what POSIX promises: only an fsync of a directory
  commits metadata, and any subset of a file's unsynced writes may persist,
  each possibly torn, leaving zeros where a write did not land.

A crash state is a set of files (absolute name → bytes) and directories."""

import hashlib
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Set, Tuple

from fstrace import Op, Trace

SECTOR = 512        # a torn write keeps a prefix that ends at a sector boundary, or after its first byte
MAX_TEARS = 48      # tear points per write at most, spread evenly over its sectors


def tear_points(size: int) -> list:
    """Where a write of `size` bytes may be torn: after 1 byte, at each
    sector boundary (at most MAX_TEARS of them, evenly spread), in its middle."""
    sectors = list(range(SECTOR, size, SECTOR))
    if len(sectors) > MAX_TEARS:
        step = len(sectors) / MAX_TEARS
        sectors = [sectors[int(i * step)] for i in range(MAX_TEARS)]
    return sorted({b for b in [1, size // 2] + sectors if 0 < b < size})


@dataclass
class State:
    point: int                 # crash before this operation (index in Trace.ops)
    files: Dict[str, bytes]
    dirs: Set[str]
    what: str                  # how the state came about, for reports

    def digest(self) -> str:
        h = hashlib.sha256()
        for name in sorted(self.files):
            h.update(name.encode("utf-8", "surrogateescape") + b"\0")
            h.update(hashlib.sha256(self.files[name]).digest())
        for d in sorted(self.dirs):
            h.update(b"d" + d.encode("utf-8", "surrogateescape") + b"\0")
        return h.hexdigest()


@dataclass
class _Cut:
    """Which pending writes of one inode persist: indices into its pending
    list, and for one of them, how many of its bytes."""

    keep: Tuple[int, ...]
    torn: Optional[Tuple[int, int]] = None  # (index, bytes kept)


class Explorer:
    def __init__(self, trace: Trace, model: str = "ordered"):
        if model not in ("ordered", "weak"):
            raise ValueError(f"unknown model {model!r}")
        self.trace = trace
        self.model = model
        self.ops = trace.ops

    # --- what is durable at a point -------------------------------------

    def _barrier(self, k: int) -> int:
        """The number of metadata operations committed before point k."""
        count, committed = 0, 0
        for op in self.ops[:k]:
            if op.is_metadata:
                count += 1
            elif op.kind == "fsync" and (self.model == "ordered" or op.inode is None):
                committed = count
        return committed

    def _synced_upto(self, k: int) -> Dict[int, int]:
        """Per inode, the index of its last fsync before point k."""
        last: Dict[int, int] = {}
        for i, op in enumerate(self.ops[:k]):
            if op.kind == "fsync" and op.inode is not None:
                last[op.inode] = i
        return last

    # --- building a state -------------------------------------------------

    def build(self, k: int, m: int, cuts: Dict[int, _Cut], what: str) -> State:
        """The state with the first m metadata operations before k, each
        inode's data durable to its last fsync, and its pending writes as
        `cuts` says (an inode absent from `cuts` keeps all of them)."""
        names: Dict[str, int] = dict(self.trace.initial_inodes)
        dirs: Set[str] = set(self.trace.initial_dirs)
        content: Dict[int, bytearray] = {i: bytearray(self.trace.initial[n]) for n, i in names.items()}
        synced = self._synced_upto(k)
        pending_seen: Dict[int, int] = {}
        meta = 0
        for i, op in enumerate(self.ops[:k]):
            if op.is_metadata:
                persisted = meta < m
                meta += 1
                if not persisted:
                    continue
                if op.kind == "create":
                    names[op.name] = op.inode
                    content.setdefault(op.inode, bytearray())
                elif op.kind == "mkdir":
                    dirs.add(op.name)
                elif op.kind == "rmdir":
                    dirs.discard(op.name)
                elif op.kind == "unlink":
                    names.pop(op.name, None)
                elif op.kind in ("rename", "link"):
                    moved = {p: v for p, v in names.items() if p == op.name or p.startswith(op.name + "/")}
                    for p, v in moved.items():
                        if op.kind == "rename":
                            del names[p]
                        names[op.to + p[len(op.name):]] = v
                    if op.kind == "rename":
                        for d in [d for d in dirs if d == op.name or d.startswith(op.name + "/")]:
                            dirs.discard(d)
                            dirs.add(op.to + d[len(op.name):])
                elif op.kind == "truncate":
                    buf = content.setdefault(op.inode, bytearray())
                    del buf[op.size:]
                    buf.extend(b"\0" * (op.size - len(buf)))
            elif op.kind == "write":
                buf = content.setdefault(op.inode, bytearray())
                data = op.data
                if i > synced.get(op.inode, -1):
                    n = pending_seen.get(op.inode, 0)
                    pending_seen[op.inode] = n + 1
                    cut = cuts.get(op.inode)
                    if cut is not None:
                        if cut.torn is not None and cut.torn[0] == n:
                            data = data[:cut.torn[1]]
                        elif n not in cut.keep:
                            continue
                end = op.offset + len(data)
                if len(buf) < op.offset:
                    buf.extend(b"\0" * (op.offset - len(buf)))
                buf[op.offset:end] = data
        files = {name: bytes(content.get(inode, b"")) for name, inode in names.items()}
        return State(k, files, dirs, what)

    def _pending(self, k: int) -> Dict[int, List[Op]]:
        synced = self._synced_upto(k)
        out: Dict[int, List[Op]] = {}
        for i, op in enumerate(self.ops[:k]):
            if op.kind == "write" and i > synced.get(op.inode, -1):
                out.setdefault(op.inode, []).append(op)
        return out

    def _cuts(self, writes: List[Op]) -> Iterator[Tuple[_Cut, str]]:
        n = len(writes)
        for c in range(n + 1):                      # a prefix of the writes
            yield _Cut(tuple(range(c))), f"{c}/{n} writes"
            if c < n:
                for b in tear_points(len(writes[c].data)):
                    yield _Cut(tuple(range(c)), (c, b)), f"{c}/{n} writes, the next torn at {b}"
        if self.model == "weak":
            for skip in range(n - 1):               # a later write without an earlier one
                yield _Cut(tuple(j for j in range(n) if j != skip)), f"all writes but #{skip}"

    def states(self, points: Optional[List[int]] = None) -> Iterator[State]:
        """Every crash state, point by point. The first state of each point
        is the one with only what was made durable (`durable(k)`)."""
        n = len(self.ops)
        for k in (points if points is not None else range(n + 1)):
            barrier = self._barrier(k)
            total = sum(1 for op in self.ops[:k] if op.is_metadata)
            pending = self._pending(k)
            none = {inode: _Cut(()) for inode in pending}
            for m in range(barrier, total + 1):
                yield self.build(k, m, none, f"metadata {m}/{total}, no unsynced data")
                yield self.build(k, m, {}, f"metadata {m}/{total}, all unsynced data")
                for inode, writes in pending.items():
                    for cut, how in self._cuts(writes):
                        for rest, rest_how in ((none, "others none"), ({}, "others all")):
                            cuts = dict(rest)
                            cuts[inode] = cut
                            yield self.build(k, m, cuts, f"metadata {m}/{total}, inode {inode}: {how}, {rest_how}")

    def durable(self, k: int) -> State:
        """What must survive a crash at point k: committed metadata, synced data."""
        pending = self._pending(k)
        return self.build(k, self._barrier(k), {i: _Cut(()) for i in pending}, "durable")
