# SPDX-License-Identifier: Apache-2.0
"""`Run.watch`: histograms of a torch model's gradients and parameters,
taken from backward hooks."""

import time

from .histogram import snapshot

_MODES = {"gradients": (True, False), "parameters": (False, True), "all": (True, True)}


class WatchHandle:
    """Returned by `Run.watch`; `remove()` stops the logging."""

    def __init__(self, handles):
        self._handles = handles

    def remove(self):
        for h in self._handles:
            h.remove()
        self._handles = []


def watch(run, model, log="gradients", log_freq=1000):
    if log not in _MODES:
        raise ValueError(f"log must be one of {sorted(_MODES)}, got {log!r}")
    if int(log_freq) < 1:
        raise ValueError("log_freq must be at least 1")
    grads, params = _MODES[log]
    handles = []
    for name, p in model.named_parameters():
        if p.requires_grad:
            handles.append(p.register_hook(_hook(run, name, p, grads, params, int(log_freq))))
    if not handles:
        raise ValueError("the model has no parameter that requires a gradient")
    return WatchHandle(handles)


def _hook(run, name, param, grads, params, log_freq):
    count = [0]

    def on_grad(grad):
        count[0] += 1
        if count[0] % log_freq == 0 and not run._closed:
            hists = []
            if grads:
                hists.append((f"gradients/{name}", snapshot(grad)))
            if params:
                hists.append((f"parameters/{name}", snapshot(param.data)))
            # At run.step, the step the next log() will use, without moving it.
            with run._writer.lock:
                if not run._closed:
                    run._add_histograms(hists, None, time.time_ns())
        return None

    return on_grad
