# SPDX-License-Identifier: Apache-2.0
"""The records of a run log (spec/format.md section 4) and their encoding.

Each record class has `encode() -> bytes` (the whole record: kind, length,
body) and a `decode(buf, start, end)` class method for its body that raises
`Malformed` when the body breaks the format.
"""

import struct
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from . import _wire as w
from ._wire import Malformed, as_double, as_sint, as_span, as_uint, text
from .metrics import MetricsBlock
from .values import decode_entries, encode_entries, encode_entry

RUN_START, CONFIG, METRICS, HISTOGRAM, CHECKPOINT, TAGS, SUMMARY, RUN_END, CHECKPOINT_REMOVED = range(1, 10)
CONSOLE = 10
ENVIRONMENT = 11
KIND_NAMES = {1: "run_start", 2: "config", 3: "metrics", 4: "histogram", 5: "checkpoint", 6: "tags", 7: "summary", 8: "run_end",
              9: "checkpoint_removed", 10: "console", 11: "environment"}

# ---------------------------------------------------------------- records


@dataclass
class RunStart:
    run_id: str
    project: str = ""
    name: str = ""
    group: str = ""
    tags: List[str] = field(default_factory=list)
    notes: str = ""
    host: str = ""
    pid: int = 0
    start_time: int = 0
    attempt: int = 1
    rank: int = 0
    world_size: int = 0
    job_id: str = ""
    argv: List[str] = field(default_factory=list)
    writer: str = ""
    kind = RUN_START

    def encode(self):
        f = w.FieldWriter()
        f.string(1, self.run_id, True)
        f.string(2, self.project)
        f.string(3, self.name)
        f.string(4, self.group)
        for t in self.tags:
            f.string(5, t, True)
        f.string(6, self.notes)
        f.string(7, self.host)
        f.uint(8, self.pid)
        f.sint(9, self.start_time)
        f.uint(10, self.attempt)
        f.uint(11, self.rank)
        f.uint(12, self.world_size)
        f.string(13, self.job_id)
        for a in self.argv:
            f.string(14, a, True)
        f.string(15, self.writer)
        return w.record(RUN_START, f.out)

    @classmethod
    def decode(cls, buf, start, end):
        s = cls(run_id="", attempt=0)
        saw_id = False
        strings = {1: "run_id", 2: "project", 3: "name", 4: "group", 6: "notes", 7: "host", 13: "job_id", 15: "writer"}
        uints = {8: "pid", 10: "attempt", 11: "rank", 12: "world_size"}
        for fnum, wire, v in w.fields(buf, start, end):
            if fnum in strings:
                setattr(s, strings[fnum], text(buf, as_span(wire, v)))
                saw_id = saw_id or fnum == 1
            elif fnum in uints:
                setattr(s, uints[fnum], as_uint(wire, v))
            elif fnum == 9:
                s.start_time = as_sint(wire, v)
            elif fnum == 5:
                s.tags.append(text(buf, as_span(wire, v)))
            elif fnum == 14:
                s.argv.append(text(buf, as_span(wire, v)))
        if not saw_id:
            raise Malformed("run start without run_id")
        return s


@dataclass
class Config:
    """Entries merged into the run's config, as (key, value) pairs in order."""

    entries: List[Tuple[str, object]]
    kind = CONFIG

    def encode(self):
        return w.record(self.kind, encode_entries(self.entries))

    @classmethod
    def decode(cls, buf, start, end):
        return cls(decode_entries(buf, start, end))


@dataclass
class Summary(Config):
    kind = SUMMARY


@dataclass
class Environment(Config):
    """The machine, program and job an attempt runs in (spec section 4.10)."""

    kind = ENVIRONMENT


@dataclass
class Metrics:
    block: MetricsBlock
    kind = METRICS

    def encode(self):
        return w.record(METRICS, self.block.encode_body())

    @classmethod
    def decode(cls, buf, start, end):
        return cls(MetricsBlock.decode(buf, start, end))


@dataclass
class Histogram:
    """A histogram record. `edges` set means explicit bins, else uniform
    bins from `low` to `high`."""

    key: str
    step: int
    time: int
    counts: List[int]
    low: float = 0.0
    high: float = 0.0
    edges: Optional[List[float]] = None
    count: int = 0
    min: float = 0.0
    max: float = 0.0
    sum: float = 0.0
    sum_squares: float = 0.0
    nonfinite: int = 0
    kind = HISTOGRAM

    def encode(self):
        f = w.FieldWriter()
        f.string(1, self.key, True)
        f.sint(2, self.step)
        f.sint(3, self.time)
        f.bytes(4, w.varints(self.counts), True)
        if self.edges is None:
            f.double(5, self.low)
            f.double(6, self.high)
        else:
            f.bytes(7, struct.pack(f"<{len(self.edges)}d", *self.edges), True)
        f.uint(8, self.count)
        f.double(9, self.min)
        f.double(10, self.max)
        f.double(11, self.sum)
        f.double(12, self.sum_squares)
        f.uint(13, self.nonfinite)
        return w.record(HISTOGRAM, f.out)

    @classmethod
    def decode(cls, buf, start, end):
        h = cls(key="", step=0, time=0, counts=[])
        counts = edges = None
        doubles = {5: "low", 6: "high", 9: "min", 10: "max", 11: "sum", 12: "sum_squares"}
        for fnum, wire, v in w.fields(buf, start, end):
            if fnum == 1:
                h.key = text(buf, as_span(wire, v))
            elif fnum == 2:
                h.step = as_sint(wire, v)
            elif fnum == 3:
                h.time = as_sint(wire, v)
            elif fnum == 4:
                counts = as_span(wire, v)
            elif fnum == 7:
                edges = as_span(wire, v)
            elif fnum in doubles:
                setattr(h, doubles[fnum], as_double(wire, v))
            elif fnum == 8:
                h.count = as_uint(wire, v)
            elif fnum == 13:
                h.nonfinite = as_uint(wire, v)
        if not h.key:
            raise Malformed("histogram without key")
        if counts is None or counts[0] == counts[1]:
            raise Malformed("histogram without counts")
        i, e = counts
        while i < e:
            c, i = w.read_varint(buf, i, e)
            h.counts.append(c)
        if edges is not None:
            a, b = edges
            if b - a != 8 * (len(h.counts) + 1):
                raise Malformed("histogram edges do not match its counts")
            h.edges = list(struct.unpack(f"<{len(h.counts) + 1}d", bytes(buf[a:b])))
        return h


def is_valid_checkpoint_path(path):
    """spec section 4.5: relative, `/`-separated, no empty, `.` or `..` part."""
    if not path or path.startswith("/"):
        return False
    return all(p and p not in (".", "..") and "\0" not in p for p in path.split("/"))


@dataclass
class Checkpoint:
    name: str
    step: int
    time: int
    path: str
    size: int
    sha256: bytes
    aliases: List[str] = field(default_factory=list)
    metadata: List[Tuple[str, object]] = field(default_factory=list)
    kind = CHECKPOINT

    def encode(self):
        f = w.FieldWriter()
        f.string(1, self.name, True)
        f.sint(2, self.step)
        f.sint(3, self.time)
        f.string(4, self.path, True)
        f.uint(5, self.size)
        f.bytes(6, bytes(self.sha256), True)
        for a in self.aliases:
            f.string(7, a, True)
        for k, v in self.metadata:
            f.bytes(8, encode_entry(k, v), True)
        return w.record(CHECKPOINT, f.out)

    @classmethod
    def decode(cls, buf, start, end):
        c = cls(name="", step=0, time=0, path="", size=0, sha256=b"")
        for fnum, wire, v in w.fields(buf, start, end):
            if fnum == 1:
                c.name = text(buf, as_span(wire, v))
            elif fnum == 2:
                c.step = as_sint(wire, v)
            elif fnum == 3:
                c.time = as_sint(wire, v)
            elif fnum == 4:
                c.path = text(buf, as_span(wire, v))
            elif fnum == 5:
                c.size = as_uint(wire, v)
            elif fnum == 6:
                a, b = as_span(wire, v)
                c.sha256 = bytes(buf[a:b])
            elif fnum == 7:
                c.aliases.append(text(buf, as_span(wire, v)))
            elif fnum == 8:
                a, b = as_span(wire, v)
                # An entry: reuse the list decoder on a one-entry body.
                c.metadata.extend(decode_entries(b"\x0a" + w.varint(b - a) + bytes(buf[a:b]), 0, None))
        if not c.name or not is_valid_checkpoint_path(c.path) or len(c.sha256) != 32:
            raise Malformed("checkpoint with an empty name, a bad path or a bad sha256")
        return c


@dataclass
class CheckpointRemoved:
    """The file of an earlier checkpoint record (its `path`) deleted on
    purpose; written durably before the file is deleted (spec section 4.11)."""

    path: str
    time: int = 0
    kind = CHECKPOINT_REMOVED

    def encode(self):
        f = w.FieldWriter()
        f.string(1, self.path, True)
        f.sint(2, self.time)
        return w.record(CHECKPOINT_REMOVED, f.out)

    @classmethod
    def decode(cls, buf, start, end):
        c = cls(path="")
        for fnum, wire, v in w.fields(buf, start, end):
            if fnum == 1:
                c.path = text(buf, as_span(wire, v))
            elif fnum == 2:
                c.time = as_sint(wire, v)
        if not is_valid_checkpoint_path(c.path):
            raise Malformed("checkpoint_removed with a bad path")
        return c


@dataclass
class Tags:
    add: List[str] = field(default_factory=list)
    remove: List[str] = field(default_factory=list)
    notes: Optional[str] = None
    kind = TAGS

    def encode(self):
        f = w.FieldWriter()
        for t in self.add:
            f.string(1, t, True)
        for t in self.remove:
            f.string(2, t, True)
        if self.notes is not None:
            f.string(3, self.notes, True)
        return w.record(TAGS, f.out)

    @classmethod
    def decode(cls, buf, start, end):
        t = cls()
        for fnum, wire, v in w.fields(buf, start, end):
            if fnum == 1:
                t.add.append(text(buf, as_span(wire, v)))
            elif fnum == 2:
                t.remove.append(text(buf, as_span(wire, v)))
            elif fnum == 3:
                t.notes = text(buf, as_span(wire, v))
        return t


FINISHED, FAILED, KILLED = 1, 2, 3
STATUS_NAMES = {FINISHED: "finished", FAILED: "failed", KILLED: "killed"}


@dataclass
class RunEnd:
    status: int
    exit_code: int = 0
    end_time: int = 0
    message: str = ""
    kind = RUN_END

    def encode(self):
        f = w.FieldWriter()
        f.uint(1, self.status, True)
        f.sint(2, self.exit_code)
        f.sint(3, self.end_time)
        f.string(4, self.message)
        return w.record(RUN_END, f.out)

    @classmethod
    def decode(cls, buf, start, end):
        e = cls(status=0)
        saw = False
        for fnum, wire, v in w.fields(buf, start, end):
            if fnum == 1:
                e.status = as_uint(wire, v)
                saw = True
            elif fnum == 2:
                e.exit_code = as_sint(wire, v)
            elif fnum == 3:
                e.end_time = as_sint(wire, v)
            elif fnum == 4:
                e.message = text(buf, as_span(wire, v))
        if not saw:
            raise Malformed("run end without status")
        return e


STDOUT, STDERR = 1, 2
STREAM_NAMES = {STDOUT: "stdout", STDERR: "stderr"}


@dataclass
class Console:
    """Text written to standard output (stream 1) or standard error (2),
    spec section 4.9. `dropped` counts bytes of the stream lost just before
    `text`."""

    stream: int
    time: int
    text: str
    dropped: int = 0
    kind = CONSOLE

    def encode(self):
        f = w.FieldWriter()
        f.uint(1, self.stream, True)
        f.sint(2, self.time)
        f.string(3, self.text)
        f.uint(4, self.dropped)
        return w.record(CONSOLE, f.out)

    @classmethod
    def decode(cls, buf, start, end):
        c = cls(stream=0, time=0, text="")
        for fnum, wire, v in w.fields(buf, start, end):
            if fnum == 1:
                c.stream = as_uint(wire, v)
            elif fnum == 2:
                c.time = as_sint(wire, v)
            elif fnum == 3:
                c.text = text(buf, as_span(wire, v))
            elif fnum == 4:
                c.dropped = as_uint(wire, v)
        if c.stream == 0:
            raise Malformed("console record without a stream")
        return c


@dataclass
class Unknown:
    """A record of a kind this library does not know; kept as raw bytes."""

    kind: int
    body: bytes

    def encode(self):
        return w.record(self.kind, self.body)


_DECODERS = {RUN_START: RunStart, CONFIG: Config, METRICS: Metrics, HISTOGRAM: Histogram, CHECKPOINT: Checkpoint,
             TAGS: Tags, SUMMARY: Summary, RUN_END: RunEnd, CHECKPOINT_REMOVED: CheckpointRemoved, CONSOLE: Console,
             ENVIRONMENT: Environment}


def decode_records(content, malformed):
    """The records of a frame's content, in order. Calls
    `malformed(offset, reason)` for each record it cannot decode and goes on
    (rule 5 of spec section 2)."""
    records = []
    i, n = 0, len(content)
    while i < n:
        start = i
        kind = content[i]
        try:
            length, body = w.read_varint(content, i + 1, n)
            if length > n - body:
                raise Malformed("too long")
        except Malformed:
            malformed(start, "record length runs past the end of the frame")
            break
        i = body + length
        if kind == 0:
            malformed(start, "malformed unknown record (kind 0)")
            continue
        decoder = _DECODERS.get(kind)
        if decoder is None:
            records.append(Unknown(kind, bytes(content[body:i])))
            continue
        try:
            records.append(decoder.decode(content, body, i))
        except (Malformed, struct.error, ValueError):
            malformed(start, f"malformed {KIND_NAMES[kind]} record (kind {kind})")
    return records
