# SPDX-License-Identifier: Apache-2.0
"""Reading regular files only: a FIFO, socket or device named like a log
must never block the reader. The name is checked with lstat, opened with
O_NONBLOCK | O_NOFOLLOW (so a file swapped for a FIFO in between cannot
block either), and the descriptor checked with fstat."""

import os
import stat

_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


class NotRegularFile(OSError):
    """The path names something other than a regular file; it was not read."""


def _require_regular(path, mode):
    if not stat.S_ISREG(mode):
        kind = _KINDS.get(stat.S_IFMT(mode), "a special file")
        raise NotRegularFile(f"{path}: {kind}, not a regular file; not read")


def open_regular(path):
    """The regular file at `path`, open for reading in binary. A path given
    through a symbolic link is opened at its target; anything but a regular
    file raises NotRegularFile without being opened for reading."""
    path = os.fspath(path)
    target = os.path.realpath(path) if os.path.islink(path) else path
    _require_regular(path, os.lstat(target).st_mode)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(target, flags)
    try:
        _require_regular(path, os.fstat(fd).st_mode)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def read_regular(path):
    """The bytes of the regular file at `path` (see `open_regular`)."""
    with open_regular(path) as f:
        return f.read()
