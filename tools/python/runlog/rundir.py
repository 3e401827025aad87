# SPDX-License-Identifier: Apache-2.0
"""The run directory (spec/run-directory.md): where logs, liveness files and
checkpoints go, how attempts and ranks are numbered."""

import fcntl
import json
import os
import re
import secrets
import socket
import string
import struct
import sys

_LOG_NAME = re.compile(r"a(\d{4,})-r(\d{4,})-s(\d{4,})\.rlog\Z")
_ID_ALPHABET = string.ascii_lowercase + string.digits
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def root_dir(explicit=None):
    """The root: the argument, else $RUNLOG_DIR, else ./runlogs."""
    return os.path.abspath(explicit or os.environ.get("RUNLOG_DIR") or "runlogs")


def new_run_id():
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))


def log_name(attempt, rank, segment=0):
    return f"a{attempt:04d}-r{rank:04d}-s{segment:04d}.rlog"


def live_name(attempt, rank):
    return f"a{attempt:04d}-r{rank:04d}.live"


def existing_attempts(logs_dir, rank):
    """Attempt numbers that have a log for `rank`."""
    out = set()
    try:
        names = os.listdir(logs_dir)
    except FileNotFoundError:
        return out
    for name in names:
        m = _LOG_NAME.match(name)
        if m and int(m.group(2)) == rank:
            out.add(int(m.group(1)))
    return out


def env_int(*names):
    for name in names:
        v = os.environ.get(name)
        if v not in (None, ""):
            try:
                return int(v)
            except ValueError:
                raise ValueError(f"${name} must be an integer, got {v!r}") from None
    return None


def safe_name(name):
    """`name` restricted to [A-Za-z0-9._-], other characters replaced by `_`;
    an empty name, `.` or `..` becomes `_`."""
    s = _UNSAFE.sub("_", name)
    return "_" if s in ("", ".", "..") else s


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _boot_id():
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return ""


def _pid_start(pid):
    """Field 22 of /proc/PID/stat: start time in clock ticks since boot; 0 where unknown."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        return int(stat[stat.rindex(")") + 2 :].split()[19])
    except (OSError, ValueError, IndexError):
        return 0


def _lock(fd):
    """Takes a write lock on the whole file, held until `fd` is closed: an
    open-file-description lock where there is one (Linux), which closing
    another descriptor of the same file in this process does not release;
    else a classic POSIX lock. False when the file system refuses locks."""
    try:
        if hasattr(fcntl, "F_OFD_SETLK"):
            # struct flock: l_type, l_whence, l_start, l_len, l_pid (0 for OFD locks)
            fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack("hh4xqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0))
        else:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def lock_held(path):
    """Whether a writer holds the lock of the liveness file `path` (another
    process, or another open file of this one); False when there is no such
    file or locks cannot be tested."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    try:
        probe = struct.pack("hh4xqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
        cmd = getattr(fcntl, "F_OFD_GETLK", fcntl.F_GETLK)
        return struct.unpack("hh4xqqi4x", fcntl.fcntl(fd, cmd, probe))[0] != fcntl.F_UNLCK
    except OSError:
        return False
    finally:
        os.close(fd)


class LiveFile:
    """The liveness file (spec/run-directory.md section 3): created by a
    rename, locked with fcntl for as long as the writer lives, its mtime
    refreshed by `heartbeat()`, deleted by `remove()` once the run end is durable."""

    def __init__(self, path, heartbeat_interval):
        self.path = path
        tmp = f"{path}.tmp-{secrets.token_hex(4)}"
        self._fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            locked = _lock(self._fd)
            info = {
                "version": 1, "host": socket.gethostname(), "pid": os.getpid(), "pid_start": _pid_start(os.getpid()),
                "boot_id": _boot_id(), "locked": locked, "heartbeat_interval": heartbeat_interval,
            }
            os.write(self._fd, json.dumps(info, separators=(",", ":")).encode())
            os.fsync(self._fd)
            os.rename(tmp, path)
        except BaseException:
            os.close(self._fd)
            try:
                os.unlink(tmp)
            except OSError:
                pass  # the error being raised is the one to report
            raise

    def heartbeat(self):
        os.utime(self._fd)

    def remove(self):
        """Deletes the file, then releases the lock."""
        if self._fd < 0:
            return
        while True:
            try:
                os.unlink(self.path)
            except InterruptedError:
                continue
            except FileNotFoundError:
                pass
            except OSError as e:
                # The run end, when there is one, is already durable and decides the status
                # (spec/run-directory.md section 4); without it the attempt reads as crashed.
                print(f"runlog: {self.path}: cannot remove the liveness file: {e.strerror}", file=sys.stderr)
            break
        os.close(self._fd)
        self._fd = -1


def console_log_name(attempt, rank, number=0):
    """A console log (spec/run-directory.md section 1): console records only."""
    return f"a{attempt:04d}-r{rank:04d}-c{number:04d}.rlog"
