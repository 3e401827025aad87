# SPDX-License-Identifier: Apache-2.0
"""`run.config` and `run.summary`."""

from collections.abc import Mapping

from .values import check_depth


class ConfigView(Mapping):
    """`run.config` and `run.summary`: a mapping whose updates are written as
    config or summary records (merged by spec section 4.0's rule). An update
    with a value nested deeper than 64 levels raises ValueError and writes nothing."""

    def __init__(self, run, record_type):
        object.__setattr__(self, "_run", run)
        object.__setattr__(self, "_type", record_type)
        object.__setattr__(self, "_data", {})

    def update(self, d=None, allow_val_change=None, **kwargs):
        items = {}
        if d is not None:
            if not isinstance(d, Mapping) and hasattr(d, "__dict__"):  # argparse.Namespace and the like
                d = vars(d)
            items.update(d)
        items.update(kwargs)
        if not items:
            return
        items = {str(k): v for k, v in items.items()}
        check_depth(items.items(), self._type.__name__.lower())
        _merge(self._data, items)
        if self._run.rank == 0:  # rank 0 describes the run (spec/run-directory.md section 2)
            self._run._enqueue(self._type(list(items.items())))

    def __setitem__(self, key, value):
        self.update({key: value})

    def __setattr__(self, key, value):
        self.update({key: value})

    def __getattr__(self, key):
        try:
            return self._data[key]
        except KeyError:
            raise AttributeError(key) from None

    def __getitem__(self, key):
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self):
        return len(self._data)

    def as_dict(self):
        return dict(self._data)

    def __repr__(self):
        return repr(self._data)


def _merge(state, updates):
    for k, v in updates.items():
        if isinstance(v, Mapping) and isinstance(state.get(k), dict):
            _merge(state[k], v)
        else:
            state[k] = dict(v) if isinstance(v, Mapping) else v
