# SPDX-License-Identifier: Apache-2.0
"""The run `init` returns with `mode="disabled"` (or RUNLOG_MODE=disabled):
it accepts every call of a `Run` and writes nothing, not even a directory."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any, Literal, SupportsIndex

from .config import ConfigView
from .records import Config, Summary
from .run import Run, _checked_step
from .rundir import new_run_id
from .watch import WatchHandle


class DisabledRun(Run):
    """A `Run` that keeps `step`, `config`, `summary`, `tags` and `notes` in
    memory, so code that reads them back works, and writes nothing."""

    disabled = True

    def __init__(self, project: str = "", name: str = "", config: Mapping[str, Any] | None = None,
                 tags: Iterable[str] | None = None, notes: str = "", group: str = "", id: str | None = None,
                 **_ignored: Any) -> None:
        self.id = id or os.environ.get("RUNLOG_RUN_ID") or new_run_id()
        self.project, self.name, self.group = project or "", name or "", group or ""
        self.rank, self.attempt = 0, 0
        self.root = self.dir = self.path = ""
        self._tags = list(dict.fromkeys(tags or []))
        self._notes = notes or ""
        self._step = 0
        self._closed = False
        self.config = ConfigView(self, Config)
        self.summary = ConfigView(self, Summary)
        if config:
            self.config.update(config)

    def log(self, data: Mapping[str, Any], step: SupportsIndex | None = None, commit: bool | None = None) -> None:
        if step is not None:
            s = _checked_step(step)
            self._step = max(self._step, s + 1)
        elif commit is not False and data:
            self._step += 1

    def _log_row(self, row: dict[str, float], step: int) -> None:
        self.log(row, step=step)

    def _enqueue(self, record: Any) -> None:
        pass

    def save_checkpoint(self, path: str | os.PathLike[str], name: str | None = None, aliases: Iterable[str] | None = None,
                        metadata: Mapping[str, Any] | None = None, step: int | None = None) -> str:
        return ""

    def remove_checkpoint(self, path: str) -> None:
        pass

    def save(self, glob_str: str | os.PathLike[str], base_path: str | os.PathLike[str] | None = None,
             policy: str = "live") -> list[str]:
        return []

    def watch(self, model: Any, log: str = "gradients", log_freq: int = 1000) -> WatchHandle:
        return WatchHandle([])

    def flush(self) -> None:
        pass

    def finish(self, exit_code: int = 0, status: int | None = None, message: str = "") -> None:
        self._closed = True

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> Literal[False]:
        self.finish()
        return False

    def __repr__(self) -> str:
        return f"DisabledRun(id={self.id!r})"
