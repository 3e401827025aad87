# SPDX-License-Identifier: Apache-2.0
"""Recording a program's file-system calls with strace, and reading the
trace back as a list of logical operations on the files under one root.

The operations are what the crash model needs: which inode got which bytes
at which offset, which names were created, moved and removed, and when a
file's data or the journal was made durable. File descriptors are followed
through open, dup, fork and close, so that a write is attributed to the
inode its descriptor refers to even after the file was renamed."""

import os
import re
import subprocess
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

SYSCALLS = (
    "open,openat,creat,write,pwrite64,writev,pwritev,pwritev2,fsync,fdatasync,sync_file_range,"
    "rename,renameat,renameat2,link,linkat,unlink,unlinkat,rmdir,ftruncate,truncate,mkdir,mkdirat,"
    "close,dup,dup2,dup3,fcntl,lseek,read,readv,pread64,sendfile,copy_file_range,clone,clone3,fork,vfork"
)


def record(argv: List[str], trace_path: str, env: Optional[dict] = None, cwd: Optional[str] = None,
           timeout: float = 300, timed: bool = False) -> int:
    """Runs `argv` under strace, writing the trace to `trace_path`; returns
    the program's exit status. `timed` stamps each call with its wall time."""
    cmd = ["strace", "-f", "-qq", "-y", "-xx", "-s", str(64 << 20), "-o", trace_path,
           "-e", "trace=" + SYSCALLS, "-e", "signal=none"] + (["-ttt"] if timed else []) + argv
    return subprocess.run(cmd, env=env, cwd=cwd, timeout=timeout,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).returncode


# --- logical operations -----------------------------------------------------

@dataclass
class Op:
    """One operation on the files under the root, in the order it completed.

    kind: "create" (name, inode), "mkdir" (name), "rename" (name, to),
    "link" (name, to), "unlink" (name), "rmdir" (name), "write" (inode, offset,
    data), "truncate" (inode, size), "fsync" (inode, or None for a directory:
    a journal commit only). `index` is the position in the trace."""

    kind: str
    index: int
    name: str = ""
    to: str = ""
    inode: int = -1
    offset: int = 0
    data: bytes = b""
    size: int = 0
    time: float = 0.0

    @property
    def is_metadata(self) -> bool:
        return self.kind in ("create", "mkdir", "rename", "link", "unlink", "rmdir", "truncate")


@dataclass
class _Description:
    """An open file description: shared by dup'ed descriptors and across fork."""

    path: str          # the absolute path it was opened with
    inode: int         # -1 when the file is outside the root
    position: int = 0
    append: bool = False


@dataclass
class Trace:
    ops: List[Op] = field(default_factory=list)
    # Initial files under the root (name → bytes), taken before recording.
    initial: Dict[str, bytes] = field(default_factory=dict)
    initial_dirs: List[str] = field(default_factory=list)
    initial_inodes: Dict[str, int] = field(default_factory=dict)
    unparsed: int = 0


_LINE = re.compile(r"^(\d+) +(?:(\d+\.\d+) )?(.*)$", re.S)
_CALL = re.compile(r"^(\w+)\((.*)\)\s+=\s+(-?\d+|\?)(?:<[^>]*>)?(?:\s.*)?$", re.S)
_FD = re.compile(r"^(-?\d+|AT_FDCWD)(?:<(.*)>(?:\(deleted\))?)?$", re.S)


def _unescape(s: str) -> str:
    return _unescape_bytes(s).decode("utf-8", "surrogateescape")


def _unescape_bytes(s: str) -> bytes:
    # strace -xx prints every byte of a string as \xNN.
    out = bytearray()
    i = 0
    while i < len(s):
        if s[i] == "\\" and i + 3 < len(s) + 1 and s[i + 1] == "x":
            out.append(int(s[i + 2:i + 4], 16))
            i += 4
        else:
            out.extend(s[i].encode())
            i += 1
    return bytes(out)


def _split_args(s: str) -> List[str]:
    """Splits a call's arguments at top-level commas (quotes, braces, brackets
    and angle brackets nest)."""
    args, depth, cur, quoted = [], 0, [], False
    i = 0
    while i < len(s):
        c = s[i]
        if quoted:
            cur.append(c)
            if c == "\\":
                cur.append(s[i + 1])
                i += 1
            elif c == '"':
                quoted = False
        elif c == '"':
            quoted = True
            cur.append(c)
        elif c in "{[<(":
            depth += 1
            cur.append(c)
        elif c in "}]>)":
            depth -= 1
            cur.append(c)
        elif c == "," and depth == 0:
            args.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    if cur or args:
        args.append("".join(cur).strip())
    return args


def _string(arg: str) -> bytes:
    arg = arg.strip()
    if arg.endswith("..."):
        raise ValueError("strace cut a string short; raise -s")
    assert arg.startswith('"') and arg.endswith('"'), arg
    return _unescape_bytes(arg[1:-1])


def _merge_unfinished(lines):
    """Joins strace's `<unfinished ...>` / `<... resumed>` halves; yields
    (pid, time, text) in the order calls completed (time: when the call was
    made, 0 without timestamps)."""
    pending: Dict[str, Tuple[float, str]] = {}
    for raw in lines:
        m = _LINE.match(raw.rstrip("\n"))
        if not m:
            continue
        pid, stamp, text = m.groups()
        t = float(stamp) if stamp else 0.0
        if text.endswith("<unfinished ...>"):
            pending[pid] = (t, text[: -len("<unfinished ...>")].rstrip())
            continue
        r = re.match(r"^<\.\.\. \w+ resumed>(.*)$", text, re.S)
        if r:
            t, head = pending.pop(pid, (t, ""))
            text = head + r.group(1)
        yield pid, t, text


class _Parser:
    def __init__(self, root: str):
        self.root = os.path.realpath(root)
        self.trace = Trace()
        self.names: Dict[str, int] = {}       # live name under root → inode
        self.next_inode = 1
        self.tables: Dict[str, Dict[int, _Description]] = {}  # fd table id → fd → description
        self.table_of: Dict[str, str] = {}   # pid → fd table id
        self.sizes: Dict[int, int] = {}       # inode → size as the program saw it
        self._snapshot()

    def _snapshot(self):
        for dirpath, dirnames, filenames in os.walk(self.root):
            for d in dirnames:
                self.trace.initial_dirs.append(os.path.join(dirpath, d))
            for f in filenames:
                p = os.path.join(dirpath, f)
                with open(p, "rb") as fh:
                    self.trace.initial[p] = fh.read()
                inode = self._new_inode()
                self.names[p] = inode
                self.sizes[inode] = len(self.trace.initial[p])
                self.trace.initial_inodes[p] = inode

    def _new_inode(self) -> int:
        self.next_inode += 1
        return self.next_inode - 1

    def under(self, path: str) -> bool:
        return path == self.root or path.startswith(self.root + "/")

    def table(self, pid: str) -> Dict[int, _Description]:
        tid = self.table_of.setdefault(pid, pid)
        return self.tables.setdefault(tid, {})

    def resolve(self, dirfd: str, path: bytes) -> str:
        p = path.decode("utf-8", "surrogateescape")
        if p.startswith("/"):
            return os.path.normpath(p)
        m = _FD.match(dirfd.strip())
        base = _unescape(m.group(2)) if m and m.group(2) else os.getcwd()
        return os.path.normpath(os.path.join(base, p))

    def fd_arg(self, arg: str) -> Tuple[int, str]:
        m = _FD.match(arg.strip())
        if not m:
            raise ValueError(f"not a descriptor: {arg[:40]}")
        fd = -100 if m.group(1) == "AT_FDCWD" else int(m.group(1))
        return fd, _unescape(m.group(2)) if m.group(2) else ""

    now = 0.0

    def emit(self, op: Op):
        op.time = self.now
        self.trace.ops.append(op)

    def description(self, pid: str, arg: str) -> Optional[_Description]:
        """The open file description of descriptor `arg`. When strace shows
        it as something outside the root (a pipe, /dev/null) while the table
        holds a file under the root, the descriptor was closed by a call not
        traced (close_range after a fork) and reused: the entry is dropped."""
        fd, shown = self.fd_arg(arg)
        t = self.table(pid)
        d = t.get(fd)
        if d is not None and d.inode >= 0 and shown and not self.under(shown):
            del t[fd]
            return None
        return d

    def write(self, d: Optional[_Description], data: bytes, offset: Optional[int], index: int):
        if d is None:
            return
        if offset is None:
            if d.append and d.inode >= 0:
                offset = self.size_of(d.inode)
            else:
                offset = d.position
            d.position = offset + len(data)
        if d.inode >= 0 and data:
            self.emit(Op("write", index, inode=d.inode, offset=offset, data=data))
            self.sizes[d.inode] = max(self.size_of(d.inode), offset + len(data))

    def size_of(self, inode: int) -> int:
        return self.sizes.get(inode, 0)

    def source_bytes(self, d: Optional[_Description], offset: int, count: int) -> bytes:
        if d is None:
            return b""
        with open(d.path, "rb") as fh:
            fh.seek(offset)
            return fh.read(count)

    def call(self, pid: str, index: int, name: str, args: List[str], ret: int):
        t = self.table(pid)
        if name in ("clone", "clone3", "fork", "vfork"):
            if ret <= 0:
                return
            child = str(ret)
            flags = " ".join(args)
            if "CLONE_FILES" in flags:
                self.table_of[child] = self.table_of.setdefault(pid, pid)
            else:
                self.tables[child] = dict(t)
                self.table_of[child] = child
            return
        if ret < 0:
            return
        if name in ("open", "openat", "creat"):
            if name == "openat":
                path = self.resolve(args[0], _string(args[1]))
                flags = args[2]
            else:
                path = self.resolve("AT_FDCWD", _string(args[0]))
                flags = args[1] if name == "open" else "O_CREAT|O_WRONLY|O_TRUNC"
            inode = -1
            if self.under(path) and "O_DIRECTORY" not in flags:
                inode = self.names.get(path, -1)
                if inode < 0 and "O_CREAT" in flags:
                    inode = self._new_inode()
                    self.names[path] = inode
                    self.emit(Op("create", index, name=path, inode=inode))
                if inode >= 0 and "O_TRUNC" in flags:
                    self.sizes[inode] = 0
                    self.emit(Op("truncate", index, inode=inode, size=0))
            elif self.under(path):
                inode = -2  # a directory under the root: fsync of it is a journal commit
            t[ret] = _Description(path, inode, 0, "O_APPEND" in flags)
        elif name == "close":
            t.pop(self.fd_arg(args[0])[0], None)
        elif name in ("dup", "dup2", "dup3") or (name == "fcntl" and "F_DUPFD" in args[1]):
            d = self.description(pid, args[0])
            if d is not None:
                t[ret] = d
        elif name == "write":
            self.write(self.description(pid, args[0]), _string(args[1])[:ret], None, index)
        elif name == "pwrite64":
            self.write(self.description(pid, args[0]), _string(args[1])[:ret], int(args[3]), index)
        elif name in ("writev", "pwritev", "pwritev2"):
            data = b"".join(_string(m.group(1)) for m in re.finditer(r'iov_base=("(?:[^"\\]|\\.)*")', args[1]))
            offset = int(args[3]) if name != "writev" else None
            self.write(self.description(pid, args[0]), data[:ret], offset, index)
        elif name in ("read", "readv"):
            d = self.description(pid, args[0])
            if d is not None:
                d.position += ret
        elif name == "lseek":
            d = self.description(pid, args[0])
            if d is not None:
                d.position = ret
        elif name in ("sendfile", "copy_file_range"):
            out_arg, in_arg = (args[0], args[1]) if name == "sendfile" else (args[2], args[0])
            src = self.description(pid, in_arg)
            off_arg = args[2] if name == "sendfile" else args[1]
            m = re.match(r"\[(\d+)", off_arg.strip())
            start = (int(m.group(1)) - ret) if m else (src.position if src else 0)
            if src is not None and not m:
                src.position += ret
            data = self.source_bytes(src, start, ret)
            self.write(self.description(pid, out_arg), data, None, index)
        elif name in ("ftruncate", "truncate"):
            size = int(args[1])
            if name == "ftruncate":
                d = self.description(pid, args[0])
                inode = d.inode if d else -1
            else:
                inode = self.names.get(self.resolve("AT_FDCWD", _string(args[0])), -1)
            if inode >= 0:
                self.sizes[inode] = size
                self.emit(Op("truncate", index, inode=inode, size=size))
        elif name in ("fsync", "fdatasync", "sync_file_range"):
            d = self.description(pid, args[0])
            if d is not None and d.inode != -1:
                # sync_file_range makes no promise about metadata: not a barrier.
                if name == "sync_file_range":
                    return
                self.emit(Op("fsync", index, inode=d.inode if d.inode >= 0 else None,
                             name="fdatasync" if name == "fdatasync" else "fsync"))
        elif name in ("rename", "renameat", "renameat2", "link", "linkat"):
            if name in ("rename", "link"):
                a = self.resolve("AT_FDCWD", _string(args[0]))
                b = self.resolve("AT_FDCWD", _string(args[1]))
            else:
                a = self.resolve(args[0], _string(args[1]))
                b = self.resolve(args[2], _string(args[3]))
            if not (self.under(a) or self.under(b)):
                return
            kind = "rename" if name.startswith("rename") else "link"
            moved = {p: i for p, i in self.names.items() if p == a or p.startswith(a + "/")}
            for p, i in moved.items():
                if kind == "rename":
                    del self.names[p]
                self.names[b + p[len(a):]] = i
            self.emit(Op(kind, index, name=a, to=b))
        elif name in ("unlink", "unlinkat", "rmdir"):
            path = self.resolve(args[0], _string(args[1])) if name == "unlinkat" else \
                self.resolve("AT_FDCWD", _string(args[0]))
            if self.under(path):
                is_dir = name == "rmdir" or (name == "unlinkat" and "AT_REMOVEDIR" in args[2])
                self.names.pop(path, None)
                self.emit(Op("rmdir" if is_dir else "unlink", index, name=path))
        elif name in ("mkdir", "mkdirat"):
            path = self.resolve(args[0], _string(args[1])) if name == "mkdirat" else \
                self.resolve("AT_FDCWD", _string(args[0]))
            if self.under(path):
                self.emit(Op("mkdir", index, name=path))


def parse(trace_path: str, root: str, parser: Optional[_Parser] = None) -> Trace:
    """Reads a trace written by `record` into the operations on files under
    `root`. Call `snapshot(root)` before recording when the root is not empty:
    pass its result as `parser`."""
    p = parser or _Parser(root)
    with open(trace_path, "r", encoding="latin-1") as fh:
        for index, (pid, t, text) in enumerate(_merge_unfinished(fh)):
            m = _CALL.match(text)
            if not m:
                continue
            name, args, ret = m.group(1), m.group(2), m.group(3)
            if ret == "?":
                continue
            try:
                p.now = t
                p.call(pid, index, name, _split_args(args), int(ret))
            except (ValueError, IndexError, AssertionError):
                p.trace.unparsed += 1
    return p.trace


def snapshot(root: str) -> _Parser:
    """Takes the files under `root` as they are now, as the trace's start."""
    return _Parser(root)
