# SPDX-License-Identifier: Apache-2.0
"""What MLflow should hold for a run directory, built apart from the sync
engine: the logs are read with the Python reader (tools/python/runlog), and
the mapping (README, "Quick start: syncd"; Sources/RunSync/RecordMapper.swift's
doc comment) is written out again here from its documented rules. The Swift
end-to-end tests compare MLflow with this.

    mirror.py RUN_DIR    → one JSON object on standard output:
    {"metrics": {key: [[step, timestamp ms, "value"], ...]}, "params": {...}, "tags": {...},
     "histograms": {artifact path: canonical line}, "checkpoints": {path: sha256 hex}, "status": "FINISHED"}
"""

import hashlib
import json
import os
import re
import sys

from runlog import canonical
from runlog.reader import LogReader
from runlog.records import CHECKPOINT, CONFIG, HISTOGRAM, METRICS, RUN_END, STATUS_NAMES, SUMMARY, TAGS

_NAME = re.compile(r"a(\d{4,})-r(\d{4,})-s(\d{4,})\.rlog")
_ALLOWED = re.compile(r"[\w\-. /:]")


def mlflow_key(raw: str) -> str:
    """A key as MLflow accepts it: characters outside `\\w - . space / :`
    become `_`, empty path components go, `.`/`..` components become
    `_`/`__`, a leading `..` becomes `__`, and a key over 250 code points
    keeps 241, `_` and 8 hex digits of the SHA-256 of the original."""
    parts = raw.split("/")
    if (raw and len(raw) <= 250 and all(_ALLOWED.fullmatch(c) for c in raw) and not raw.startswith("..")
            and not any(p in ("", ".", "..") for p in parts)):
        return raw
    mapped = "".join(c if _ALLOWED.fullmatch(c) else "_" for c in raw)
    mapped = "/".join({".": "_", "..": "__"}.get(p, p) for p in mapped.split("/") if p)
    if mapped.startswith(".."):
        mapped = "__" + mapped[2:]
    mapped = mapped or "_"
    if len(mapped) > 250:
        mapped = mapped[:241] + "_" + hashlib.sha256(raw.encode()).hexdigest()[:8]
    return mapped


def artifact_path(*parts: str) -> str:
    """An artifact path: each `/`-separated component keeps `[A-Za-z0-9._-]`
    (others become `_`), an empty or all-dots one gets a leading `_`, and
    one over 200 characters keeps 191, `_` and 8 hex digits of its SHA-256."""
    out = []
    for part in "/".join(parts).split("/"):
        s = re.sub(r"[^A-Za-z0-9._-]", "_", part)
        if not s.strip("."):
            s = "_" + s
        if len(s) > 200:
            s = s[:191] + "_" + hashlib.sha256(part.encode()).hexdigest()[:8]
        out.append(s)
    return "/".join(out)


def flatten(obj: dict, prefix: str = ""):
    """(dotted key, text) of each leaf: strings as they are, the rest as canonical JSON."""
    for k, v in obj.items():
        key = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict) and v:
            yield from flatten(v, key)
        elif isinstance(v, str):
            yield key, v
        else:
            yield key, canonical.value(v)


def main() -> None:
    run = sys.argv[1]
    logs = os.path.join(run, "logs")
    segments = []
    for name in os.listdir(logs):
        m = _NAME.fullmatch(name)
        if m:
            attempt, rank, segment = (int(x) for x in m.groups())
            segments.append(((rank, attempt, segment), os.path.join(logs, name)))
    segments.sort()
    metrics: dict = {}
    params: dict = {}
    tags: dict = {}
    first_config: dict = {}
    histograms: dict = {}
    checkpoints: dict = {}
    ends: dict = {}
    for (rank, attempt, _), path in segments:
        prefix = f"rank{rank}/" if rank else ""
        for r in LogReader(path).records():
            if r.kind == METRICS:
                for line in canonical.record_lines(r):
                    row = json.loads(line, parse_float=str, parse_int=str)
                    micros = int(row["time"].replace(".", ""))
                    for k, v in row["values"].items():
                        key = mlflow_key(prefix + k)
                        metrics.setdefault(key, set()).add((int(row["step"]), micros // 1000, v))
            elif r.kind == CONFIG:
                for k, v in flatten(json.loads(canonical.record_lines(r)[0])["values"]):
                    key = mlflow_key(k)
                    if key in first_config:
                        if first_config[key] != v:
                            tags[mlflow_key("runlog.config." + k)] = v
                    else:
                        first_config[key] = v
                        if len(v) <= 6000:
                            params[key] = v
            elif r.kind == SUMMARY:
                for k, v in flatten(json.loads(canonical.record_lines(r)[0])["values"]):
                    tags[mlflow_key("summary." + k)] = v
            elif r.kind == HISTOGRAM:
                histograms[artifact_path("histograms", prefix + r.key, f"{r.step}_{r.time}.json")] = canonical.record_lines(r)[0]
            elif r.kind == CHECKPOINT:
                checkpoints[r.path] = r.sha256.hex()
            elif r.kind == TAGS:
                for t in r.add:
                    tags[t] = "true"
                for t in r.remove:
                    tags.pop(t, None)
            elif r.kind == RUN_END:
                ends.setdefault(attempt, {})[rank] = STATUS_NAMES.get(r.status, "failed")
    status = "RUNNING"
    if segments:
        latest = max(a for (_, a, _), _ in segments)
        ranks = {rk for (rk, a, _), _ in segments if a == latest}
        got = [ends.get(latest, {}).get(rk) for rk in ranks]
        if None in got:
            status = "RUNNING"
        elif any(s not in ("finished", "killed") for s in got):
            status = "FAILED"
        elif "killed" in got:
            status = "KILLED"
        else:
            status = "FINISHED"
    json.dump({"metrics": {k: sorted(v) for k, v in metrics.items()}, "params": params, "tags": tags,
               "histograms": histograms, "checkpoints": checkpoints, "status": status}, sys.stdout)


if __name__ == "__main__":
    main()
