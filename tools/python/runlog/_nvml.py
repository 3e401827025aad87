# SPDX-License-Identifier: Apache-2.0
"""NVIDIA's management library through ctypes, loaded at run time: never an
install dependency. Without it (no driver, no GPU) there are no GPUs and no
error.

The library is `libnvidia-ml.so.1`, found by the dynamic loader as usual
(LD_LIBRARY_PATH, the loader cache), or the file $RUNLOG_NVML_LIBRARY names.
It is loaded and initialised once per process, on first use.
"""

import ctypes
import os
import threading


class _Utilization(ctypes.Structure):
    _fields_ = [("gpu", ctypes.c_uint), ("memory", ctypes.c_uint)]


class _Memory(ctypes.Structure):
    _fields_ = [("total", ctypes.c_ulonglong), ("free", ctypes.c_ulonglong), ("used", ctypes.c_ulonglong)]


class NVML:
    """The loaded library and its devices; `load()` gives the process's one, or None."""

    _lock = threading.Lock()
    _loaded = False
    _shared = None

    @classmethod
    def load(cls):
        with cls._lock:
            if not cls._loaded:
                cls._loaded = True
                try:
                    cls._shared = cls(os.environ.get("RUNLOG_NVML_LIBRARY") or "libnvidia-ml.so.1")
                except (OSError, AttributeError, RuntimeError):
                    cls._shared = None  # missing, incomplete, or no driver: no GPUs, silently
            return cls._shared

    def __init__(self, path):
        lib = ctypes.CDLL(path)
        self._lib = lib
        for name in ("nvmlDeviceGetUtilizationRates", "nvmlDeviceGetMemoryInfo", "nvmlDeviceGetTemperature",
                     "nvmlDeviceGetPowerUsage", "nvmlDeviceGetEnforcedPowerLimit", "nvmlDeviceGetName"):
            getattr(lib, name).restype = ctypes.c_int
        if lib.nvmlInit_v2() != 0:
            raise RuntimeError("nvmlInit failed")
        n = ctypes.c_uint(0)
        if lib.nvmlDeviceGetCount_v2(ctypes.byref(n)) != 0:
            raise RuntimeError("nvmlDeviceGetCount failed")
        self.devices = []
        for i in range(min(n.value, 64)):
            h = ctypes.c_void_p()
            self.devices.append(h if lib.nvmlDeviceGetHandleByIndex_v2(ctypes.c_uint(i), ctypes.byref(h)) == 0 else None)

    def read(self, i):
        """Device i's readings as (name without "system/", value) pairs, and whether a call failed."""
        lib, d, out, failed = self._lib, self.devices[i], [], False
        if d is None:
            return out, True
        u = _Utilization()
        if lib.nvmlDeviceGetUtilizationRates(d, ctypes.byref(u)) == 0:
            out.append((f"gpu_{i}_utilization_percentage", float(u.gpu)))
        else:
            failed = True
        m = _Memory()
        if lib.nvmlDeviceGetMemoryInfo(d, ctypes.byref(m)) == 0:
            out.append((f"gpu_{i}_memory_usage_megabytes", m.used / 1e6))
            if m.total > 0:
                out.append((f"gpu_{i}_memory_usage_percentage", m.used / m.total * 100))
        else:
            failed = True
        t = ctypes.c_uint(0)
        if lib.nvmlDeviceGetTemperature(d, ctypes.c_int(0), ctypes.byref(t)) == 0:
            out.append((f"gpu_{i}_temperature_celsius", float(t.value)))
        else:
            failed = True
        p, limit = ctypes.c_uint(0), ctypes.c_uint(0)
        if lib.nvmlDeviceGetPowerUsage(d, ctypes.byref(p)) == 0 and \
                lib.nvmlDeviceGetEnforcedPowerLimit(d, ctypes.byref(limit)) == 0:
            out.append((f"gpu_{i}_power_usage_watts", p.value / 1000))
            if limit.value > 0:
                out.append((f"gpu_{i}_power_usage_percentage", p.value / limit.value * 100))
        else:
            failed = True
        return out, failed

    def environment(self):
        """The environment's `gpu` map (spec/format.md section 4.10)."""
        lib, buf = self._lib, ctypes.create_string_buffer(256)
        names, memory = [], []
        for d in self.devices:
            names.append(buf.value.decode("utf-8", "replace")
                         if d is not None and lib.nvmlDeviceGetName(d, buf, ctypes.c_uint(256)) == 0 else "")
            m = _Memory()
            memory.append(m.total if d is not None and lib.nvmlDeviceGetMemoryInfo(d, ctypes.byref(m)) == 0 else 0)
        gpu = {"count": len(self.devices), "names": names, "memory": memory}
        driver = getattr(lib, "nvmlSystemGetDriverVersion", None)
        if driver is not None and driver(buf, ctypes.c_uint(256)) == 0:
            gpu["driver"] = buf.value.decode("utf-8", "replace")
        cuda_fn, cuda = getattr(lib, "nvmlSystemGetCudaDriverVersion", None), ctypes.c_int(0)
        if cuda_fn is not None and cuda_fn(ctypes.byref(cuda)) == 0 and cuda.value > 0:
            gpu["cuda"] = f"{cuda.value // 1000}.{cuda.value % 1000 // 10}"
        return gpu
