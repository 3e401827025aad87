# SPDX-License-Identifier: Apache-2.0
"""`Run`: the object training code logs to, and `init` that makes one."""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
import sys
import threading
import time
import warnings
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, SupportsIndex

from . import _lifecycle, _threads
from . import console as _console
from . import environment as _environment
from . import system as _system
from ._regular import open_regular
from ._writer import WAKE_AT, BackgroundWriter, LaterHistogram
from .config import ConfigView
from .histogram import Histogram, Snapshot, snapshot
from .logfile import FRAME_TARGET, MAX_CONTENT, FileHeader, LogFileWriter, is_valid_run_id
from .names import generated_name
from .records import (FAILED, FINISHED, KILLED, Checkpoint, CheckpointRemoved, Config, Environment, RunEnd, RunStart,
                      Summary, Tags, is_valid_checkpoint_path)
from .rundir import (LiveFile, env_int, existing_attempts, fsync_dir, live_name, lock_held, log_name, new_run_id,
                     root_dir, safe_name)
from .values import check_depth

if TYPE_CHECKING:
    from .watch import WatchHandle

__version__ = "0.1.0"
WRITER = f"runlog-python/{__version__}"
_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1


def _now_us() -> int:
    return time.time_ns() // 1000


class RunError(Exception):
    """A run that cannot be created or written."""


def init(project: str = "", name: str = "", config: Mapping[str, Any] | None = None, tags: Iterable[str] | None = None,
         notes: str = "", group: str = "", dir: str | os.PathLike[str] | None = None, id: str | None = None,
         resume: str | None = None, mode: str | None = None, reinit: bool | str | None = None,
         **options: Any) -> Run:
    """Starts a run (or a new attempt of run `id`) and returns its `Run`.

    The run lives in `dir` (else $RUNLOG_DIR, else ./runlogs) under its id
    (`id`, else $RUNLOG_RUN_ID, else 8 random characters). An existing id
    continues that run with a new attempt; `resume="never"` refuses an
    existing id, `resume="must"` a missing one. Options: `attempt`, `rank` (else $RUNLOG_RANK, $RANK,
    $SLURM_PROCID, else 0), `world_size`, `flush_interval` (seconds a logged
    value may wait before it is written, default 1), `heartbeat_interval`
    (default 5), `frame_target` (content bytes per frame, default 64 KiB),
    `write_timeout` and `max_held_bytes` (while writes fail, e.g. on a full
    disk, frames wait in memory up to this many bytes and, at the end, this
    many seconds; default 60 s and 256 MiB), `console` (`"redirect"`,
    `"wrap"` or `"off"`: how standard output and error are captured, see
    `runlog.console`; default $RUNLOG_CONSOLE, else `"redirect"`),
    `system_metrics_interval` (seconds between samples of CPU, memory, disk,
    network and GPUs, logged as `system/...` metrics; 0 turns them off;
    default $RUNLOG_SYSTEM_METRICS_INTERVAL, else 10), `environment` (record
    the program, git, OS, CPU, GPUs, batch job and installed packages;
    default True).

    `mode` (else $RUNLOG_MODE, else "online"): "online" and "offline" both
    write the log (syncd uploads it; training never talks to the network),
    "disabled" returns a run that accepts every call and writes nothing.
    `reinit`, as W&B's, says what happens to runs this process started and
    has not finished: "finish_previous" (the default, also True) finishes
    them first, "return_previous" (also False) returns the latest of them
    instead of starting another, "create_new" leaves them running. A run
    without a `name` gets a readable one made from its id (`runlog.names`).
    """
    mode = (mode if mode is not None else os.environ.get("RUNLOG_MODE") or "online").lower()
    if mode not in ("online", "offline", "disabled"):
        raise ValueError(f"mode must be 'online', 'offline' or 'disabled', got {mode!r}")
    policy = reinit if isinstance(reinit, str) else "return_previous" if reinit is False else "finish_previous"
    if policy not in ("finish_previous", "return_previous", "create_new"):
        raise ValueError(f"reinit must be 'finish_previous', 'return_previous', 'create_new' or a bool, got {reinit!r}")
    previous = _lifecycle.active()
    if policy == "return_previous" and previous:
        return previous[-1]
    if policy == "finish_previous":
        for run in previous:
            run.finish()
    if mode == "disabled":
        from .disabled import DisabledRun

        return DisabledRun(project=project, name=name, config=config, tags=tags, notes=notes, group=group, id=id)
    return Run(project=project, name=name, config=config, tags=tags, notes=notes, group=group, dir=dir, id=id,
               resume=resume, **options)


class Run:
    """A run being written. Thread-safe. See `init` for the arguments."""

    disabled = False
    """True for the run of `mode="disabled"`, which writes nothing."""

    def __init__(self, project: str = "", name: str = "", config: Mapping[str, Any] | None = None,
                 tags: Iterable[str] | None = None, notes: str = "", group: str = "",
                 dir: str | os.PathLike[str] | None = None, id: str | None = None, resume: str | None = None,
                 attempt: int | None = None, rank: int | None = None, world_size: int | None = None,
                 flush_interval: float = 1.0, heartbeat_interval: float = 5.0, frame_target: int = FRAME_TARGET,
                 write_timeout: float = 60.0, max_held_bytes: int = 256 << 20, console: str | None = None,
                 system_metrics_interval: float | None = None, environment: bool = True) -> None:
        console_mode = _console.mode_from(console)
        run_id = id if id is not None else (os.environ.get("RUNLOG_RUN_ID") or new_run_id())
        if not is_valid_run_id(run_id) or run_id.startswith("."):
            raise ValueError(f"run id {run_id!r} must be 1 to 64 characters of A-Z a-z 0-9 . _ - not starting with '.'")
        if isinstance(config, Mapping):
            check_depth(((str(k), v) for k, v in config.items()), "config")
        if not 1024 <= frame_target <= MAX_CONTENT:
            raise ValueError("frame_target must be between 1 KiB and 16 MiB")
        self.id = run_id
        self.project, self.name, self.group = project or "", name or generated_name(run_id), group or ""
        self.rank = rank if rank is not None else (env_int("RUNLOG_RANK", "RANK", "SLURM_PROCID") or 0)
        world = world_size if world_size is not None else env_int("WORLD_SIZE", "SLURM_NTASKS")
        self.root = root_dir(dir)
        self.dir = os.path.join(self.root, run_id)
        logs = os.path.join(self.dir, "logs")
        exists = os.path.isdir(logs) and bool(existing_attempts(logs, self.rank) or os.listdir(logs))
        if resume == "never" and exists:
            raise RunError(f"run {run_id} already exists in {self.root} (resume='never')")
        if resume == "must" and not exists:
            raise RunError(f"run {run_id} does not exist in {self.root} (resume='must')")
        os.makedirs(logs, exist_ok=True)
        explicit = attempt if attempt is not None else env_int("RUNLOG_ATTEMPT")
        if explicit is None:
            self._refuse_if_live(logs)
        self._log, self.attempt = self._create_log(logs, explicit)
        self.path = self._log.path
        try:
            self._live = LiveFile(os.path.join(logs, live_name(self.attempt, self.rank)), heartbeat_interval)
        except BaseException:
            self._log.close()
            raise
        self._tags = list(dict.fromkeys(tags or []))
        self._notes = notes or ""
        self._step = 0
        self._last_step: int | None = None
        self._pending: tuple[int, dict[str, float]] | None = None  # held by log(..., commit=False)
        self._closed = False
        self._pid = os.getpid()  # a forked child must not end its parent's run
        self._warned_keys: set[str] = set()
        self.config = ConfigView(self, Config)
        self.summary = ConfigView(self, Summary)
        start = RunStart(
            run_id=run_id, project=self.project, name=self.name, group=self.group, tags=self._tags, notes=self._notes,
            host=socket.gethostname(), pid=os.getpid(), start_time=_now_us(), attempt=self.attempt, rank=self.rank,
            world_size=world or 0, job_id=os.environ.get("SLURM_JOB_ID") or os.environ.get("PBS_JOBID") or "",
            argv=[str(a) for a in sys.argv], writer=WRITER)
        self._writer = BackgroundWriter(self._log, self._live, flush_interval, heartbeat_interval, frame_target,
                                        max_held_bytes, write_timeout)
        with self._writer.lock:
            self._writer.add_record(start.encode())
        if config:
            self.config.update(config)
        self._writer.sync()  # the run start is on disk before training begins
        # The installed packages are listed on a thread, while this one waits
        # for the console helper to start. (git runs here: a subprocess
        # started from a helper thread can leave a SIGTERM unseen by the main thread.)
        gathered = _environment.entries(packages=False) if environment else []
        self._environment = threading.Thread(target=self._record_environment, args=(gathered,),
                                             name="runlog-environment", daemon=True)
        if environment:
            _threads.start(self._environment)
        self._console = _console.start(self, console_mode)
        seconds = _system.interval(system_metrics_interval)
        self._sampler = _system.SystemSampler(self._add_side_row, self.dir, seconds) if seconds else None
        _lifecycle.register(self)

    def _record_environment(self, gathered: list[tuple[str, Any]]) -> None:
        packages = _environment.installed_packages()
        record = Environment(gathered + [("packages", packages)]).encode()
        with self._writer.lock:
            if not self._closed:
                self._writer.add_record(record)

    def _add_side_row(self, step: int, time_ns: int, row: dict[str, float]) -> None:
        """A row beside the training loop's own (system metrics): `run.step` stays as it is."""
        w = self._writer
        with w.lock:
            if self._closed:
                raise RunError(f"run {self.id} is finished")
            w.steps.append(step)
            w.times.append(time_ns)
            w.rows.append(row)

    def _refuse_if_live(self, logs: str) -> None:
        """Raises RunError while another writer of this run and rank holds
        the lock of the latest attempt's liveness file."""
        latest = max(existing_attempts(logs, self.rank), default=0)
        live = os.path.join(logs, live_name(latest, self.rank))
        if latest and lock_held(live):
            raise RunError(f"run {self.id} rank {self.rank} is being written by another process (attempt {latest}, "
                           f"its liveness file {live} is locked); finish it first, or use another id or rank")

    def _create_log(self, logs: str, explicit: int | None) -> tuple[LogFileWriter, int]:
        """Claims the attempt by creating its log exclusively."""
        attempt = explicit if explicit is not None else max(existing_attempts(logs, self.rank), default=0) + 1
        while True:
            path = os.path.join(logs, log_name(attempt, self.rank))
            header = FileHeader(self.id, attempt, self.rank, 0, _now_us(), WRITER)
            try:
                return LogFileWriter(path, header), attempt
            except FileExistsError:
                if explicit is not None:
                    raise RunError(f"attempt {attempt} of run {self.id} rank {self.rank} exists: {path}") from None
                attempt += 1

    # ------------------------------------------------------------ logging

    @property
    def step(self) -> int:
        """The step the next `log` without a step will use: one more than the
        highest step logged so far (0 at the start)."""
        return self._step

    def log(self, data: Mapping[str, Any], step: SupportsIndex | None = None, commit: bool | None = None) -> None:
        """Logs the scalars and histograms of `data` at `step` (default:
        `run.step`). Every call is kept, also with a step lower than an
        earlier one. Numbers (Python, numpy, 0-d tensors) become metrics;
        `Histogram`s and arrays with several values become histograms; nested
        dicts are flattened with `/`; anything else is left out with a
        warning, and a call that logs nothing uses up no step.

        `commit=False` holds the scalars back, as in W&B: they are merged
        with those of the next `log` without `commit=False` and written as
        one row at the step of the first held call (a later call with
        another explicit step writes the held row first). `finish` and
        `flush` write a held row too. Returns None."""
        t = time.time_ns()
        if commit is not None or self._pending is not None:
            self._log_slow(data, step, t, commit)
            return
        for k, v in data.items():
            tv = type(v)
            if (tv is not float and tv is not int) or type(k) is not str or not k:
                self._log_slow(data, step, t, None)
                return
        if step is not None and (type(step) is not int or not _I64_MIN <= step <= _I64_MAX):
            self._log_slow(data, step, t, None)
            return
        w = self._writer
        with w.lock:
            self._append_row(dict(data), step, t, bool(data))
        if w.error is not None:
            raise w.error

    def _log_row(self, row: dict[str, float], step: int) -> None:
        """`log(row, step=step)` for a caller that guarantees what `log`
        checks: `row` maps non-empty strings to Python floats and ints, `step`
        is an int, and `row` is given away (it is queued, not copied). The
        ignite handlers log this way every iteration."""
        t = time.time_ns()
        if self._pending is not None or not row or not _I64_MIN <= step <= _I64_MAX:
            self._log_slow(row, step, t, None)
            return
        w = self._writer
        with w.lock:
            if self._closed:
                raise RunError(f"run {self.id} is finished; log() after finish()")
            if step >= self._step:
                self._step = step + 1
            self._last_step = step
            w.steps.append(step)
            w.times.append(t)
            w.rows.append(row)
            if len(w.rows) >= WAKE_AT:
                w.wake.set()
        if w.error is not None:
            raise w.error

    def _append_row(self, row: dict[str, float], step: int | None, t: int, advance: bool) -> int:
        """Queues `row` (may be empty) at `step` (None: `run.step`) and, when
        `advance`, moves `run.step` past it. Returns the step. Call with the
        writer's lock held."""
        if self._closed:
            raise RunError(f"run {self.id} is finished; log() after finish()")
        if step is None:
            step = self._step
        if not advance:
            return step
        if step >= self._step:
            self._step = step + 1
        self._last_step = step
        if row:
            w = self._writer
            w.steps.append(step)
            w.times.append(t)
            w.rows.append(row)
            if len(w.rows) >= WAKE_AT:
                w.wake.set()
        return step

    def _log_slow(self, data: Mapping[str, Any], step: SupportsIndex | None, t: int, commit: bool | None) -> None:
        if step is not None:
            step = _checked_step(step)
        scalars: dict[str, float] = {}
        hists: list[tuple[str, Histogram | Snapshot]] = []
        self._flatten(data, "", scalars, hists)
        w = self._writer
        with w.lock:
            pending = self._pending
            if pending is not None and step is not None and step != pending[0]:
                self._append_row(pending[1], pending[0], t, True)  # another step: the held row goes first
                pending = self._pending = None
            if commit is False:
                if pending is None:
                    pending = self._pending = (self._step if step is None else step, {})
                pending[1].update(scalars)
                step = pending[0]
                if hists:
                    self._add_histograms(hists, step, t)
            else:
                if pending is not None:
                    self._pending = None
                    pending[1].update(scalars)
                    step, scalars = pending[0], pending[1]
                step = self._append_row(scalars, step, t, bool(scalars or hists))
                if hists:
                    self._add_histograms(hists, step, t)
        if w.error is not None:
            raise w.error

    def _commit_pending(self) -> None:
        """Writes the row held by `log(..., commit=False)`, if any."""
        with self._writer.lock:
            pending, self._pending = self._pending, None
            if pending is not None and not self._closed:
                self._append_row(pending[1], pending[0], time.time_ns(), True)

    def _add_histograms(self, hists: list[tuple[str, Histogram | Snapshot]], step: int | None, t: int) -> None:
        """Queues histogram records at `step` (None: `run.step`, left as it
        is). Call with the writer's lock held."""
        w = self._writer
        if self._closed:
            raise RunError(f"run {self.id} is finished; log() after finish()")
        if step is None:
            step = self._step
        for key, h in hists:
            if isinstance(h, Snapshot):
                w.add_record(LaterHistogram(key, step, t // 1000, h))
            else:
                w.add_record(h.record(key, step, t // 1000).encode())

    def _flatten(self, data: Mapping[Any, Any], prefix: str, scalars: dict[str, float],
                 hists: list[tuple[str, Histogram | Snapshot]]) -> None:
        for k, v in data.items():
            key = prefix + str(k)
            if not key:
                raise ValueError("metric keys must be non-empty")
            if isinstance(v, Mapping):
                self._flatten(v, key + "/", scalars, hists)
            elif isinstance(v, (Histogram, Snapshot)):
                hists.append((key, v))
            elif isinstance(v, (int, float)):  # bool too
                scalars[key] = float(v)
            else:
                size = _size(v)
                if size == 1:
                    scalars[key] = float(v.item())
                elif size is not None:
                    hists.append((key, snapshot(v)))
                else:
                    try:
                        scalars[key] = float(v)  # other numbers: Decimal, Fraction, ...
                    except (TypeError, ValueError):
                        if key not in self._warned_keys:
                            self._warned_keys.add(key)
                            warnings.warn(f"runlog: {key!r} is a {type(v).__name__}, not a number or histogram; "
                                          "not logged (put text in config or summary)", stacklevel=4)

    def _enqueue(self, record: Any) -> None:
        with self._writer.lock:
            if self._closed:
                raise RunError(f"run {self.id} is finished")
            self._writer.add_record(record.encode())

    # ------------------------------------------------------------ tags, notes

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(self._tags)

    @tags.setter
    def tags(self, new: Iterable[str]) -> None:
        unique = list(dict.fromkeys(new))
        add = [t for t in unique if t not in self._tags]
        remove = [t for t in self._tags if t not in unique]
        self._tags = unique
        if add or remove:
            self._enqueue(Tags(add=add, remove=remove))

    @property
    def notes(self) -> str:
        return self._notes

    @notes.setter
    def notes(self, text: str) -> None:
        self._notes = str(text)
        self._enqueue(Tags(notes=self._notes))

    # ------------------------------------------------------------ checkpoints

    def save_checkpoint(self, path: str | os.PathLike[str], name: str | None = None, aliases: Iterable[str] | None = None,
                        metadata: Mapping[str, Any] | None = None, step: int | None = None) -> str:
        """Copies the file `path` into the run directory
        (`checkpoints/<name>/<step>-<file name>`), durably, then records it
        with its SHA-256. Returns the record's path, relative to `run.dir`.
        `step` defaults to the last step logged; `name` to the file's stem."""
        check_depth(dict(metadata or {}).items(), "checkpoint metadata")
        base = os.path.basename(path)
        name = safe_name(name or os.path.splitext(base)[0])
        tmp = self._checkpoint_tmp()
        digest = hashlib.sha256()
        size = 0
        with open_regular(path) as src, open(tmp, "wb") as dst:
            while True:
                chunk = src.read(1 << 20)
                if not chunk:
                    break
                digest.update(chunk)
                dst.write(chunk)
                size += len(chunk)
            dst.flush()
            os.fsync(dst.fileno())
        return self._commit_checkpoint(tmp, base, name, size, digest.digest(), aliases, metadata, step)

    def _checkpoint_tmp(self) -> str:
        folder = os.path.join(self.dir, "checkpoints")
        os.makedirs(folder, exist_ok=True)
        return os.path.join(folder, f".tmp-{secrets.token_hex(8)}")

    def _commit_checkpoint(self, tmp: str, file_name: str, name: str, size: int, sha256: bytes,
                           aliases: Iterable[str] | None, metadata: Mapping[str, Any] | None, step: int | None) -> str:
        """Renames the complete, fsynced file `tmp` into place and writes its record."""
        if step is None:
            step = self._last_step if self._last_step is not None else 0
        folder = os.path.join(self.dir, "checkpoints", name)
        os.makedirs(folder, exist_ok=True)
        file_name = safe_name(file_name)
        k = 0
        while True:  # link, not rename: never replaces a file already there
            target = os.path.join(folder, (f"{step}.{k}" if k else f"{step}") + "-" + file_name)
            try:
                os.link(tmp, target)
                break
            except FileExistsError:
                k += 1
        os.unlink(tmp)
        fsync_dir(folder)
        fsync_dir(os.path.dirname(folder))
        rel = os.path.relpath(target, self.dir).replace(os.sep, "/")
        meta = list(dict(metadata or {}).items())
        self._enqueue(Checkpoint(name=name, step=int(step), time=_now_us(), path=rel, size=size, sha256=sha256,
                                 aliases=list(aliases or []), metadata=meta))
        self._writer.sync()
        return rel

    def remove_checkpoint(self, path: str) -> None:
        """Deletes the file of a checkpoint this run saved (`path` as
        `save_checkpoint` returned it, relative to `run.dir`), e.g. one that a
        keep-the-last-n policy retires. The `checkpoint_removed` record is
        made durable first, so `runlog verify` and syncd know the file was
        retired, not lost. A file already gone is not an error."""
        if not is_valid_checkpoint_path(path) or not path.startswith("checkpoints/"):
            raise ValueError(f"{path!r} is not a checkpoint path of this run (checkpoints/...)")
        self._enqueue(CheckpointRemoved(path=path, time=_now_us()))
        self._writer.sync()
        full = os.path.join(self.dir, *path.split("/"))
        try:
            os.remove(full)
        except FileNotFoundError:
            return
        fsync_dir(os.path.dirname(full))

    # ------------------------------------------------------------ run files

    def save(self, glob_str: str | os.PathLike[str], base_path: str | os.PathLike[str] | None = None,
             policy: str = "live") -> list[str]:
        """As `wandb.save`: uploads the files matching `glob_str` as run files
        (`files/<path>` in MLflow) with `policy` "live", "now" or "end"; see
        `runlog.files.save`. Every file saved in `run.dir` is a run file
        already, uploaded live; this sets another policy, or copies files in."""
        from .files import save

        return save(self, glob_str, base_path=base_path, policy=policy)

    # ------------------------------------------------------------ models

    def watch(self, model: Any, log: str = "gradients", log_freq: int = 1000) -> WatchHandle:
        """Logs histograms of `model`'s gradients (`log="gradients"`),
        parameters (`"parameters"`) or both (`"all"`) every `log_freq`
        backward passes, at `run.step`, as `gradients/<name>` and
        `parameters/<name>`. Returns a handle whose `remove()` stops it."""
        from .watch import watch

        return watch(self, model, log=log, log_freq=log_freq)

    # ------------------------------------------------------------ ending

    def flush(self) -> None:
        """Blocks until everything logged so far is written and fsynced,
        a row held by `log(..., commit=False)` included."""
        self._commit_pending()
        self._writer.sync()

    def finish(self, exit_code: int = 0, status: int | None = None, message: str = "") -> None:
        """Stops console capture, writes the run end (finished for exit code
        0, else failed), makes it durable and removes the liveness file.
        Idempotent; does nothing in a forked child process."""
        if os.getpid() != self._pid:
            return
        self._finish(exit_code, status, message, stop_console=True)

    def _finish(self, exit_code: int, status: int | None, message: str, stop_console: bool) -> None:
        if stop_console and self._console is not None:
            self._console.stop()
        if status is None:
            status = FINISHED if exit_code == 0 else FAILED
        if self._sampler is not None:
            self._sampler.stop()
        if self._environment.is_alive():
            self._environment.join(timeout=2)  # not there by then: the run ends without it
        self._commit_pending()
        end = RunEnd(status=status, exit_code=int(exit_code), end_time=_now_us(), message=message).encode()
        with self._writer.lock:
            if self._closed:
                return
            self._closed = True
            self._writer.add_record(end)
        self._writer.stop()
        _lifecycle.unregister(self)
        self._log.close()
        self._live.remove()  # also when the writer gave up: the attempt then reads as crashed, which it is
        if self._writer.error is not None:
            raise self._writer.error

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> Literal[False]:
        if exc_type is None:
            self.finish()
            return False
        if os.getpid() != self._pid:
            return False
        # The traceback is printed after this returns: console capture goes on
        # until the interpreter exits, so that it is kept.
        if isinstance(self._console, _console.Wrap):
            self._console.feed_exception(exc_type, exc, tb)
        if issubclass(exc_type, KeyboardInterrupt):
            self._finish(130, KILLED, "KeyboardInterrupt", stop_console=False)
        elif issubclass(exc_type, SystemExit):
            code, status, message = _lifecycle.ending(getattr(exc, "code", None))
            self._finish(code, status, message, stop_console=False)
        else:
            self._finish(1, None, f"{exc_type.__name__}: {exc}", stop_console=False)
        return False

    def __repr__(self) -> str:
        return f"Run(id={self.id!r}, attempt={self.attempt}, rank={self.rank}, dir={self.dir!r})"


def _checked_step(step: Any) -> int:
    try:
        step = int(step.__index__())
    except (AttributeError, TypeError):
        raise TypeError(f"step must be an integer, got {type(step).__name__}") from None
    if not _I64_MIN <= step <= _I64_MAX:
        raise ValueError(f"step {step} does not fit in 64 bits")
    return step


def _size(v: Any) -> int | None:
    """Number of elements of a numpy array or torch tensor, else None."""
    numel = getattr(v, "numel", None)
    if callable(numel):
        return numel()
    size = getattr(v, "size", None)
    if isinstance(size, int) and hasattr(v, "dtype"):
        return size
    return None
