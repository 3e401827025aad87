# SPDX-License-Identifier: Apache-2.0
"""The canonical JSON Lines form of a log (spec/format.md section 6), as
`runlog dump --json` writes it."""

import math

from .records import (CHECKPOINT, CHECKPOINT_REMOVED, CONFIG, CONSOLE, ENVIRONMENT, HISTOGRAM, KIND_NAMES, METRICS, RUN_END, RUN_START,
                      STATUS_NAMES, STREAM_NAMES, SUMMARY, TAGS, Unknown)

_ESCAPES = {i: f"\\u{i:04x}" for i in range(0x20)}
_ESCAPES.update({0x08: "\\b", 0x0C: "\\f", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x22: '\\"', 0x5C: "\\\\"})


def string(s):
    return '"' + s.translate(_ESCAPES) + '"'


def strings(xs):
    return "[" + ",".join(string(x) for x in xs) + "]"


def time(micros):
    """Microseconds as seconds with exactly six fraction digits."""
    sign = "-" if micros < 0 else ""
    m = abs(micros)
    return f"{sign}{m // 1_000_000}.{m % 1_000_000:06d}"


def double(d):
    """Shortest round-trip digits, as Python's repr; NaN and infinities as strings."""
    if d != d:
        return '"NaN"'
    if math.isinf(d):
        return '"Infinity"' if d > 0 else '"-Infinity"'
    return repr(float(d))


def value(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return double(v)
    if isinstance(v, str):
        return string(v)
    if isinstance(v, list):
        return "[" + ",".join(value(x) for x in v) + "]"
    if isinstance(v, dict):
        return entries(v.items())
    raise TypeError(f"not a decoded value: {type(v).__name__}")


def entries(pairs):
    """An object; a key repeated keeps its last value at its first position."""
    collapsed = {}
    for k, v in pairs:
        collapsed[k] = v
    return "{" + ",".join(string(k) + ":" + value(v) for k, v in collapsed.items()) + "}"


def header_line(h):
    return (f'{{"kind":"header","version":1,"run_id":{string(h.run_id)},"attempt":{h.attempt},"rank":{h.rank},'
            f'"segment":{h.segment},"created":{time(h.created)},"writer":{string(h.writer)}}}\n')


def record_lines(r):
    """The canonical lines of one record: one per row for metrics."""
    k = r.kind
    if isinstance(r, Unknown):
        return [f'{{"kind":"unknown","type":{r.kind},"length":{len(r.body)}}}\n']
    if k == METRICS:
        b = r.block
        keys = [string(key) + ":" for key in b.keys]
        index = {key: j for j, key in enumerate(b.keys)}
        out = []
        for step, t, vals in b.rows():
            body = ",".join(keys[index[key]] + double(x) for key, x in vals)
            out.append(f'{{"kind":"metrics","step":{step},"time":{time(t)},"values":{{{body}}}}}\n')
        return out
    if k == RUN_START:
        return [
            f'{{"kind":"run_start","run_id":{string(r.run_id)},"project":{string(r.project)},"name":{string(r.name)},'
            f'"group":{string(r.group)},"tags":{strings(r.tags)},"notes":{string(r.notes)},"host":{string(r.host)},'
            f'"pid":{r.pid},"start_time":{time(r.start_time)},"attempt":{r.attempt},"rank":{r.rank},'
            f'"world_size":{r.world_size},"job_id":{string(r.job_id)},"argv":{strings(r.argv)},'
            f'"writer":{string(r.writer)}}}\n'
        ]
    if k in (CONFIG, SUMMARY, ENVIRONMENT):
        name = KIND_NAMES[k]
        return [f'{{"kind":"{name}","values":{entries(r.entries)}}}\n']
    if k == HISTOGRAM:
        if r.edges is None:
            bins = f'"range":[{double(r.low)},{double(r.high)}]'
        else:
            bins = '"edges":[' + ",".join(double(e) for e in r.edges) + "]"
        counts = ",".join(str(c) for c in r.counts)
        return [
            f'{{"kind":"histogram","key":{string(r.key)},"step":{r.step},"time":{time(r.time)},{bins},'
            f'"counts":[{counts}],"count":{r.count},"min":{double(r.min)},"max":{double(r.max)},'
            f'"sum":{double(r.sum)},"sum_squares":{double(r.sum_squares)},"nonfinite":{r.nonfinite}}}\n'
        ]
    if k == CHECKPOINT:
        return [
            f'{{"kind":"checkpoint","name":{string(r.name)},"step":{r.step},"time":{time(r.time)},'
            f'"path":{string(r.path)},"size":{r.size},"sha256":"{r.sha256.hex()}","aliases":{strings(r.aliases)},'
            f'"metadata":{entries(r.metadata)}}}\n'
        ]
    if k == TAGS:
        notes = "null" if r.notes is None else string(r.notes)
        return [f'{{"kind":"tags","add":{strings(r.add)},"remove":{strings(r.remove)},"notes":{notes}}}\n']
    if k == RUN_END:
        status = string(STATUS_NAMES[r.status]) if r.status in STATUS_NAMES else str(r.status)
        return [
            f'{{"kind":"run_end","status":{status},"exit_code":{r.exit_code},"end_time":{time(r.end_time)},'
            f'"message":{string(r.message)}}}\n'
        ]
    if k == CHECKPOINT_REMOVED:
        return [f'{{"kind":"checkpoint_removed","path":{string(r.path)},"time":{time(r.time)}}}\n']
    if k == CONSOLE:
        stream = string(STREAM_NAMES[r.stream]) if r.stream in STREAM_NAMES else str(r.stream)
        return [f'{{"kind":"console","stream":{stream},"time":{time(r.time)},"text":{string(r.text)},'
                f'"dropped":{r.dropped}}}\n']
    raise TypeError(f"unknown record {r!r}")


def dump(reader):
    """The canonical JSON Lines of everything `reader` (a LogReader) reads."""
    parts = [header_line(reader.header)]
    for r in reader.records():
        parts.extend(record_lines(r))
    return "".join(parts)
