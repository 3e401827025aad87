# SPDX-License-Identifier: Apache-2.0
"""Run files (spec/run-directory.md section 7): whatever is saved in
`run.dir` (outside runlog's own `logs/` and `checkpoints/`) is uploaded by
syncd as an artifact `files/<path>`, as W&B uploads its run files.
`Run.save` chooses when, and brings in files from elsewhere."""

import glob as _glob
import json
import os
import secrets
import shutil

from ._regular import read_regular

POLICIES = ("live", "now", "end")
POLICY_FILE = ".runlog-save.json"


def save(run, glob_str, base_path=None, policy="live"):
    """Marks the files matching `glob_str` for upload with `policy`:
    `"live"` (the default: once a file stops changing, and again whenever it
    changes), `"now"` (once, as it is now) or `"end"` (at the run's end).
    Files outside `run.dir` are copied in (to their path relative to
    `base_path`, default the glob's directory), since nothing outside the run
    directory is ever uploaded. Returns the paths in `run.dir` it applies to."""
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {', '.join(POLICIES)}, got {policy!r}")
    root = os.path.realpath(run.dir)
    pattern = os.fspath(glob_str)
    absolute = os.path.realpath(os.path.join(root, pattern) if not os.path.isabs(pattern) else pattern)
    if absolute == root or absolute.startswith(root + os.sep):
        rel_glob = os.path.relpath(absolute, root)
        matches = [os.path.relpath(p, root) for p in _glob.glob(os.path.join(root, rel_glob))]
    else:
        base = os.path.realpath(base_path) if base_path is not None else os.path.dirname(absolute)
        matches = []
        for source in _glob.glob(absolute):
            if not os.path.isfile(source):
                continue
            rel = os.path.relpath(os.path.realpath(source), base)
            if rel.startswith(".."):
                raise ValueError(f"{source} is not under base_path {base}")
            _copy_in(source, os.path.join(root, rel))
            matches.append(rel)
        rel_glob = os.path.relpath(absolute, base)
    if rel_glob.startswith("..") or rel_glob.split(os.sep)[0] in ("logs", "checkpoints"):
        raise ValueError(f"{glob_str}: runlog's own files are not run files")
    _add_policy(root, rel_glob.replace(os.sep, "/"), policy)
    return sorted(m.replace(os.sep, "/") for m in matches)


def _copy_in(source, target):
    """Copies `source` to `target` whole: a temporary name starting with `.`
    (never uploaded), then a rename."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tmp = os.path.join(os.path.dirname(target), f".tmp-{secrets.token_hex(6)}")
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def _add_policy(root, rel_glob, policy):
    path = os.path.join(root, POLICY_FILE)
    try:
        # A FIFO planted under that name must not block training: regular files only.
        entries = json.loads(read_regular(path).decode("utf-8"))
    except (OSError, ValueError):
        entries = []
    entries = [e for e in entries if e.get("glob") != rel_glob] + [{"glob": rel_glob, "policy": policy}]
    tmp = f"{path}.tmp-{secrets.token_hex(4)}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(entries, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
