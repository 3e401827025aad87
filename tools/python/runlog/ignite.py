# SPDX-License-Identifier: Apache-2.0
"""PyTorch Ignite handlers that log to runlog, drop-in for
`ignite.handlers.wandb_logger`:

    from runlog.ignite import RunLogLogger          # was: WandBLogger
    logger = RunLogLogger(project="mnist", name="cnn", config={...}, tags=[...])
    logger.attach_output_handler(trainer, Events.ITERATION_COMPLETED, tag="training",
                                 output_transform=lambda loss: {"loss": loss})
    logger.attach_output_handler(evaluator, Events.EPOCH_COMPLETED, tag="validation",
                                 metric_names=["accuracy"], global_step_transform=lambda *_: trainer.state.iteration)
    logger.attach_opt_params_handler(trainer, Events.ITERATION_STARTED, optimizer=optimizer)
    logger.watch(model)
    Checkpoint({"model": model}, RunLogSaver(logger), n_saved=2, score_name="accuracy", ...)

Keys and default steps are ignite's: `<tag>/<metric>`, `<tag>/lr/group_<i>`,
`weights_norm/<module>/<param>`, `grads/<module>/<param>`; the engine's
iteration for ITERATION_* events and its epoch for EPOCH_* events.
"""

from __future__ import annotations

import hashlib
import os
import weakref
from collections.abc import Callable, Mapping
from typing import Any

import ignite.distributed as idist
from ignite.engine import Engine, Events, State
from ignite.engine.events import CallableEventWithFilter, RemovableEventHandle
from ignite.handlers.base_logger import (BaseLogger, BaseOptimizerParamsHandler, BaseOutputHandler,
                                         BaseWeightsHandler, BaseWeightsScalarHandler)
from ignite.handlers.checkpoint import BaseSaveHandler
from ignite.handlers.utils import global_step_from_engine  # noqa: F401 - re-exported like ignite's loggers

from .histogram import snapshot
from .rundir import safe_name
from .run import Run, init

__all__ = ["RunLogLogger", "OutputHandler", "OptimizerParamsHandler", "WeightsScalarHandler", "GradsScalarHandler",
           "WeightsHistHandler", "GradsHistHandler", "RunLogSaver", "global_step_from_engine"]


class RunLogLogger(BaseLogger):
    """An ignite logger writing a runlog run. Takes `runlog.init`'s
    arguments; other attributes (`log`, `config`, `summary`, `watch`,
    `save_checkpoint`, ...) are the run's, as `WandBLogger` passes to wandb.
    `close()` finishes the run."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.pop("init", None)
        self._run = init(*args, **kwargs)
        self.log = self._run.log  # called every iteration: found without `__getattr__`
        self._log_row = self._run._log_row  # the handlers' row of plain numbers

    @property
    def run(self) -> Run:
        return self._run

    def __getattr__(self, attr: str) -> Any:
        if attr == "_run":  # not set yet: __init__ failed
            raise AttributeError(attr)
        return getattr(self._run, attr)

    def close(self) -> None:
        self._run.finish()

    def attach(self, engine: Engine, log_handler: Callable[..., Any], event_name: Any, *args: Any,
               **kwargs: Any) -> RemovableEventHandle:
        """As ignite's `attach`. An event with a filter (`every=50`, `once=3`)
        is filtered by a wrapper of this module's, which reads the engine's
        counter by name instead of looking the event up (a microsecond of
        every iteration the handler does not run in)."""
        event_filter = getattr(event_name, "filter", None)
        if type(event_name) is not CallableEventWithFilter or event_filter is None:
            return super().attach(engine, log_handler, event_name, *args, **kwargs)
        if event_name not in State.event_to_attr:
            raise RuntimeError(f"Unknown event name '{event_name}'")
        unfiltered = CallableEventWithFilter(event_name.value, None, event_name.name)
        return engine.add_event_handler(unfiltered, _filtered(log_handler, event_filter, event_name), self,
                                        event_name, *args, **kwargs)

    def _create_output_handler(self, *args: Any, **kwargs: Any) -> OutputHandler:
        return OutputHandler(*args, **kwargs)

    def _create_opt_params_handler(self, *args: Any, **kwargs: Any) -> OptimizerParamsHandler:
        return OptimizerParamsHandler(*args, **kwargs)


def _check_logger(handler: object, logger: object) -> None:
    if not isinstance(logger, RunLogLogger):
        raise RuntimeError(f"Handler '{type(handler).__name__}' works only with RunLogLogger")


class _EventStep:
    """The engine's counter for an event (its iteration or epoch), as
    `engine.state.get_event_attrib_value` gives it, with the attribute's
    name kept for the event object last seen: a handler is called with the
    same event object every time, and ignite's lookup hashes and compares
    events in Python (a microsecond of every iteration)."""

    __slots__ = ("event", "attr")

    def __init__(self) -> None:
        self.event: Any = None
        self.attr = ""

    def __call__(self, engine: Engine, event_name: Any) -> int:
        if event_name is not self.event:
            engine.state.get_event_attrib_value(event_name)  # raises for an unknown event, as ignite does
            self.attr = type(engine.state).event_to_attr[event_name]
            self.event = event_name
        return getattr(engine.state, self.attr)


def _filtered(handler: Callable[..., Any], event_filter: Callable[[Engine, int], bool],
              event_name: Any) -> Callable[..., Any]:
    """`handler`, called when `event_filter(engine, counter)` is true, as
    ignite's own filter wrapper calls it; its parent is `handler`, so that
    `has_event_handler` and the returned handle's `remove` find it."""
    step = _EventStep()

    def filtered(engine: Engine, *args: Any, **kwargs: Any) -> None:
        if event_filter(engine, step(engine, event_name)):
            handler(engine, *args, **kwargs)

    filtered._parent = weakref.ref(handler)  # type: ignore[attr-defined]
    return filtered


_IGNITE_DEFAULT_STEP = "BaseOutputHandler.__init__.<locals>.global_step_transform"
_MAX_KEYS = 4096  # output names whose `<tag>/<name>` keys an OutputHandler keeps made


class OutputHandler(BaseOutputHandler):
    """Logs an engine's output, metrics and state attributes as `<tag>/<name>`
    at `global_step_transform(engine, event_name)` (default: the engine's
    iteration or epoch, by event)."""

    output_transform: Callable[[Any], Any] | None  # set by ignite's __init__

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        default = self.global_step_transform
        # ignite's default (the engine's counter for the event) is computed here, faster
        self._default_step = default if getattr(default, "__qualname__", "") == _IGNITE_DEFAULT_STEP else None
        self._step = _EventStep()
        self._keys: dict[str, str] = {}

    def __call__(self, engine: Engine, logger: RunLogLogger, event_name: str | Events) -> None:
        if type(logger) is not RunLogLogger:
            _check_logger(self, logger)
        if self.global_step_transform is self._default_step:
            step = self._step
            global_step = getattr(engine.state, step.attr) if event_name is step.event else step(engine, event_name)
        else:
            global_step = self.global_step_transform(engine, event_name)
        if type(global_step) is not int:
            if not isinstance(global_step, int):
                raise TypeError(f"global_step must be int, got {type(global_step)}. Please check the output of "
                                "global_step_transform.")
            global_step = int(global_step)
        transform = self.output_transform
        if self.metric_names is None and self.state_attributes is None and transform is not None:
            output = transform(engine.state.output)
            plain = self._plain_output(output)
            if plain is not None:
                logger._log_row(plain, global_step)  # checked already: logged as it is
                return
            metrics = self._flattened(engine, transform, output)
        else:
            metrics = self._setup_output_metrics_state_attrs(engine, log_text=True, key_tuple=False)
        logger.log(metrics, step=global_step)

    def _output_metrics(self, engine: Engine, transform: Callable[[Any], Any]) -> dict[str, Any]:
        """What ignite's `_setup_output_metrics_state_attrs` gives for the
        output alone, with the output transform called once."""
        output = transform(engine.state.output)
        plain = self._plain_output(output)
        return plain if plain is not None else self._flattened(engine, transform, output)

    def _plain_output(self, output: Any) -> dict[str, Any] | None:
        """A flat dict of Python numbers (the common case, every iteration)
        keyed `<tag>/<name>`, or a lone number as `<tag>/output`; None for
        anything else."""
        keys = self._keys
        if type(output) is dict:
            plain = {}
            for k, v in output.items():
                tv = type(v)
                if tv is not float and tv is not int:
                    return None
                key = keys.get(k)
                if key is None:
                    if type(k) is not str:
                        return None
                    key = self.tag + "/" + k
                    if len(keys) < _MAX_KEYS:
                        keys[k] = key
                plain[key] = v
            return plain
        if type(output) is float or type(output) is int:
            return {self.tag + "/output": output}
        return None

    def _flattened(self, engine: Engine, transform: Callable[[Any], Any], output: Any) -> dict[str, Any]:
        """What ignite's `_setup_output_metrics_state_attrs` gives for the
        output alone, given `output`, what the output transform returned."""
        self.output_transform = lambda _: output
        try:
            return self._setup_output_metrics_state_attrs(engine, log_text=True, key_tuple=False)
        finally:
            self.output_transform = transform



class OptimizerParamsHandler(BaseOptimizerParamsHandler):
    """Logs `param_name` of each parameter group as `[<tag>/]<param_name>/group_<i>`."""

    _keys: list[str] | None = None  # per group, made once
    _step: _EventStep | None = None

    def __call__(self, engine: Engine, logger: RunLogLogger, event_name: str | Events) -> None:
        if type(logger) is not RunLogLogger:
            _check_logger(self, logger)
        groups = self.optimizer.param_groups
        keys, step = self._keys, self._step
        if keys is None or step is None or len(keys) != len(groups):
            prefix = f"{self.tag}/" if self.tag else ""
            keys = self._keys = [f"{prefix}{self.param_name}/group_{i}" for i in range(len(groups))]
            step = self._step = _EventStep()
        name = self.param_name
        row = {}
        for k, g in zip(keys, groups):  # not a comprehension: no function call of its own (Python < 3.12)
            row[k] = float(g[name])
        logger._log_row(row, getattr(engine.state, step.attr) if event_name is step.event else step(engine, event_name))


def _disabled(logger: RunLogLogger, engine: Engine, event_name: Any) -> bool:
    """For a run of `mode="disabled"`, which writes nothing: logs nothing at
    the event's step (so `run.step` moves as it would) and says so, and the
    handler computes no values or histograms."""
    if not logger._run.disabled:
        return False
    logger.log({}, step=engine.state.get_event_attrib_value(event_name))
    return True


def _name(name: str) -> str:
    return name.replace(".", "/")


class WeightsScalarHandler(BaseWeightsScalarHandler):
    """Logs `reduction(weights)` as `[<tag>/]weights_<reduction>/<module>/<param>`."""

    def __call__(self, engine: Engine, logger: RunLogLogger, event_name: str | Events) -> None:
        _check_logger(self, logger)
        if _disabled(logger, engine, event_name):
            return
        prefix = f"{self.tag}/" if self.tag else ""
        values = {f"{prefix}weights_{self.reduction.__name__}/{_name(n)}": self.reduction(p.data)
                  for n, p in self.weights}
        logger.log(values, step=engine.state.get_event_attrib_value(event_name))


class GradsScalarHandler(BaseWeightsScalarHandler):
    """Logs `reduction(gradient)` as `[<tag>/]grads_<reduction>/<module>/<param>`."""

    def __call__(self, engine: Engine, logger: RunLogLogger, event_name: str | Events) -> None:
        _check_logger(self, logger)
        if _disabled(logger, engine, event_name):
            return
        prefix = f"{self.tag}/" if self.tag else ""
        values = {f"{prefix}grads_{self.reduction.__name__}/{_name(n)}": self.reduction(p.grad)
                  for n, p in self.weights if p.grad is not None}
        logger.log(values, step=engine.state.get_event_attrib_value(event_name))


class WeightsHistHandler(BaseWeightsHandler):
    """Logs a histogram of each parameter as `[<tag>/]weights/<module>/<param>`."""

    def __call__(self, engine: Engine, logger: RunLogLogger, event_name: str | Events) -> None:
        _check_logger(self, logger)
        if _disabled(logger, engine, event_name):
            return
        prefix = f"{self.tag}/" if self.tag else ""
        hists = {f"{prefix}weights/{_name(n)}": snapshot(p.data) for n, p in self.weights}
        logger.log(hists, step=engine.state.get_event_attrib_value(event_name))


class GradsHistHandler(BaseWeightsHandler):
    """Logs a histogram of each gradient as `[<tag>/]grads/<module>/<param>`."""

    def __call__(self, engine: Engine, logger: RunLogLogger, event_name: str | Events) -> None:
        _check_logger(self, logger)
        if _disabled(logger, engine, event_name):
            return
        prefix = f"{self.tag}/" if self.tag else ""
        hists = {f"{prefix}grads/{_name(n)}": snapshot(p.grad) for n, p in self.weights if p.grad is not None}
        logger.log(hists, step=engine.state.get_event_attrib_value(event_name))


class RunLogSaver(BaseSaveHandler):
    """A save handler for ignite's `Checkpoint`: writes each checkpoint into
    the run directory (`checkpoints/<basename>/<step>-<filename>`, durably)
    and records it with its SHA-256, aliases `latest` and, when it has the
    highest score so far, `best`. `remove` deletes a file that `Checkpoint`
    no longer keeps, to bound disk use as `n_saved` means to, and records
    the removal (`Run.remove_checkpoint`), so that `runlog verify` and syncd
    know the file was retired, not lost. Saves on rank 0 only, as ignite's
    `DiskSaver`."""

    def __init__(self, logger: RunLogLogger | Run) -> None:
        self._run = logger.run if isinstance(logger, RunLogLogger) else logger
        if not isinstance(self._run, Run):
            raise TypeError(f"RunLogSaver needs a RunLogLogger or a runlog Run, got {type(logger).__name__}")
        self._saved: dict[str, str] = {}
        self._best: dict[str, float] = {}

    @idist.one_rank_only()
    def __call__(self, checkpoint: Mapping[str, Any], filename: str, metadata: Mapping[str, Any] | None = None) -> None:
        import torch

        run = self._run
        if run.disabled:  # mode="disabled": nothing is written
            return
        metadata = dict(metadata or {})
        name = metadata.get("basename") or os.path.splitext(filename)[0]
        tmp = run._checkpoint_tmp()
        with open(tmp, "wb") as f:
            torch.save(checkpoint, f)
            f.flush()
            os.fsync(f.fileno())
        digest = hashlib.sha256()
        size = 0
        with open(tmp, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
                size += len(chunk)
        aliases = ["latest"]
        priority = metadata.get("priority")
        if metadata.get("score_name") is not None and priority is not None:
            if name not in self._best or priority >= self._best[name]:
                self._best[name] = priority
                aliases.insert(0, "best")
        meta = {"filename": filename, **{k: v for k, v in metadata.items() if k != "basename"}}
        rel = run._commit_checkpoint(tmp, filename, safe_name(name), size, digest.digest(), aliases, meta, None)
        self._saved[filename] = rel

    def path(self, filename: str) -> str | None:
        """The absolute path of the file saved for `filename` (e.g.
        `Checkpoint.last_checkpoint`), for `torch.load`; None if not kept."""
        rel = self._saved.get(filename)
        return None if rel is None else os.path.join(self._run.dir, rel)

    @idist.one_rank_only()
    def remove(self, filename: str) -> None:
        rel = self._saved.pop(filename, None)
        if rel is not None:
            self._run.remove_checkpoint(rel)
