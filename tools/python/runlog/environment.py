# SPDX-License-Identifier: Apache-2.0
"""The environment record an attempt starts with (spec/format.md section
4.10): program, working directory, git, runtime, OS, CPU, memory, GPUs, the
batch job and the installed packages. Whatever cannot be found out is left out."""

import os
import platform
import subprocess
import sys

from ._nvml import NVML
from ._packages import installed_packages

_SCHEDULERS = (
    ("slurm", "SLURM_JOB_ID", ("SLURM_ARRAY_TASK_ID",), ("SLURM_JOB_NODELIST", "SLURM_NODELIST"), ("SLURM_JOB_PARTITION",)),
    ("pbs", "PBS_JOBID", ("PBS_ARRAY_INDEX", "PBS_ARRAYID"), (), ("PBS_QUEUE",)),
    ("lsf", "LSB_JOBID", ("LSB_JOBINDEX",), ("LSB_HOSTS",), ("LSB_QUEUE",)),
)


def entries(environ=os.environ, packages=True, nvml=None):
    """The environment as (key, value) pairs in the order of the spec."""
    out = []
    cwd = os.getcwd()
    program = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] not in ("", "-c", "-m") else None
    if program:
        out.append(("program", program))
    out.append(("cwd", cwd))
    program_dir = os.path.dirname(program) if program else None
    git = describe_git(program_dir or cwd) or (describe_git(cwd) if program_dir else None)
    if git:
        out.append(("git", git))
    out.append(("runtime", f"python {platform.python_version()}"))
    u = os.uname()
    out.append(("os", f"{u.sysname} {u.release} {u.machine}"))
    cpu = {}
    model = _cpu_model()
    if model:
        cpu["model"] = model
    cpu["count"] = os.cpu_count() or 0
    out.append(("cpu", cpu))
    try:
        out.append(("memory", os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")))
    except (OSError, ValueError):
        pass
    nvml = nvml if nvml is not None else NVML.load()
    if nvml is not None:
        out.append(("gpu", nvml.environment()))
    job = scheduler(environ)
    if job:
        out.append(("scheduler", job))
    if packages:
        out.append(("packages", installed_packages()))
    return out


def scheduler(environ):
    """The batch job: Slurm, else PBS, else LSF; None outside one."""
    for name, job_var, task, nodes, partition in _SCHEDULERS:
        job = environ.get(job_var)
        if not job:
            continue

        def first(names):
            return next((environ[n] for n in names if environ.get(n)), None)

        out = {"name": name, "job_id": job}
        t = first(task)
        if t and not (name == "lsf" and t == "0"):
            out["array_task_id"] = t
        n, p = first(nodes), first(partition)
        if n:
            out["nodes"] = n
        if p:
            out["partition"] = p
        return out
    return None


def without_credentials(url):
    """`url` without the user:password@ of its authority; `git@host:path` stays as it is."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    end = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    at = rest.rfind("@", 0, end)
    return url if at < 0 else scheme + "://" + rest[at + 1:]


def _git(args, directory, timeout=5):
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0")
    try:
        r = subprocess.run(["git", "-C", directory] + args, capture_output=True, timeout=timeout, env=env,
                           stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout.decode("utf-8", "replace").strip() if r.returncode == 0 else None


def describe_git(directory):
    """commit, branch, remote (credentials removed) and dirty; None outside a work tree."""
    # One status gives the commit, the branch and the changes (two git
    # processes in all, not four: each costs a few milliseconds to start).
    status = _git(["status", "--porcelain=v2", "--branch", "--untracked-files=no"], directory)
    if status is None:
        return None
    commit, branch, dirty = None, None, False
    for line in status.splitlines():
        if line.startswith("# branch.oid "):
            commit = line[len("# branch.oid "):]
        elif line.startswith("# branch.head "):
            branch = line[len("# branch.head "):]
        elif not line.startswith("#"):
            dirty = True
    if not commit or len(commit) != 40:
        return None
    out = {"commit": commit}
    if branch and branch != "(detached)":
        out["branch"] = branch
    remote = _git(["config", "--get", "remote.origin.url"], directory)
    if remote:
        out["remote"] = without_credentials(remote)
    out["dirty"] = dirty
    return out


def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None
