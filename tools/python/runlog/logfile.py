# SPDX-License-Identifier: Apache-2.0
"""File headers and frames (spec/format.md sections 1 and 3), and a writer
that appends frames to a log file."""

import os
import re
import struct
from dataclasses import dataclass

import zstandard

from . import _wire as w
from ._wire import Malformed, masked_crc32c

MAGIC = b"\x89RLOG\r\n\x1a"
FRAME_MAGIC = b"\xd3RLF"
VERSION = 1
HEADER_MIN = 20
HEADER_MAX_BODY = 4096
FRAME_HEADER = 24
MAX_CONTENT = 16 << 20
MAX_PAYLOAD = (16 << 20) + (64 << 10)
FRAME_TARGET = 64 << 10
CODEC_NONE, CODEC_ZSTD = 0, 1

_RUN_ID = re.compile(r"[A-Za-z0-9._-]{1,64}\Z")


class FormatError(Exception):
    """A file that is not a run log, or a value that cannot be written.
    `offset` is the byte offset concerned, when there is one."""

    def __init__(self, message, offset=None):
        super().__init__(message)
        self.offset = offset


def is_valid_run_id(run_id):
    return isinstance(run_id, str) and _RUN_ID.match(run_id) is not None


@dataclass
class FileHeader:
    run_id: str
    attempt: int = 1
    rank: int = 0
    segment: int = 0
    created: int = 0
    writer: str = ""

    def encode(self):
        if not is_valid_run_id(self.run_id):
            raise FormatError(f"run id {self.run_id!r} must be 1 to 64 characters of A-Z a-z 0-9 . _ -")
        f = w.FieldWriter()
        f.string(1, self.run_id, True)
        f.uint(2, self.attempt, True)
        f.uint(3, self.rank)
        f.uint(4, self.segment)
        f.sint(5, self.created)
        f.string(6, self.writer)
        if len(f.out) > HEADER_MAX_BODY:
            raise FormatError("file header exceeds 4096 bytes")
        head = MAGIC + struct.pack("<HHI", VERSION, 0, len(f.out)) + bytes(f.out)
        return head + struct.pack("<I", masked_crc32c(head))

    @classmethod
    def decode(cls, data):
        """(header, size) from the start of `data`; None when the header is
        not complete yet; raises FormatError when the file is not a run log."""
        prefix = bytes(data[:8])
        if prefix != MAGIC[: len(prefix)]:
            raise FormatError("not a run log (bad magic)", 0)
        if len(data) < HEADER_MIN:
            return None
        version, flags, length = struct.unpack_from("<HHI", data, 8)
        if length > HEADER_MAX_BODY:
            raise FormatError(f"not a run log (header length {length} exceeds 4096)", 12)
        size = HEADER_MIN + length
        if len(data) < size:
            return None
        (stored,) = struct.unpack_from("<I", data, 16 + length)
        if masked_crc32c(bytes(data[: 16 + length])) != stored:
            raise FormatError("not a run log (header checksum mismatch)", 16 + length)
        if version != VERSION:
            raise FormatError(f"unsupported format version {version}", 8)
        if flags != 0:
            raise FormatError(f"unsupported header flags 0x{flags:x}", 10)
        h = cls(run_id="", attempt=0)
        try:
            for fnum, wire, v in w.fields(data, 16, 16 + length):
                if fnum == 1:
                    h.run_id = w.text(data, w.as_span(wire, v))
                elif fnum == 2:
                    h.attempt = w.as_uint(wire, v)
                elif fnum == 3:
                    h.rank = w.as_uint(wire, v)
                elif fnum == 4:
                    h.segment = w.as_uint(wire, v)
                elif fnum == 5:
                    h.created = w.as_sint(wire, v)
                elif fnum == 6:
                    h.writer = w.text(data, w.as_span(wire, v))
        except Malformed:
            h.run_id = ""
        if not is_valid_run_id(h.run_id):
            raise FormatError("not a run log (header fields malformed or run id invalid)", 16)
        return h, size


class FrameEncoder:
    """Encodes frame contents as frames; one per writer (it holds a zstd context)."""

    def __init__(self, codec=CODEC_ZSTD, level=1):
        self.codec = codec
        self._zstd = zstandard.ZstdCompressor(level=level, write_checksum=False, write_content_size=True)

    def encode(self, content):
        if not content:
            raise FormatError("a frame must hold at least one record")
        if len(content) > MAX_CONTENT:
            raise FormatError(f"frame content of {len(content)} bytes exceeds the 16 MiB limit")
        payload = bytes(content) if self.codec == CODEC_NONE else self._zstd.compress(bytes(content))
        head = FRAME_MAGIC + struct.pack("<IIB3x", len(payload), len(content), self.codec)
        return b"".join(
            (head, struct.pack("<II", masked_crc32c(head), masked_crc32c(payload)), payload))


class LogFileWriter:
    """Appends frames to a new log file: creates it exclusively (an existing
    file is never appended to), writes the header, then one `write` per call
    of `write_frame`. Before a `write` it fsyncs the file when an earlier
    write is not durable yet (spec/format.md section 5), so that a crash
    leaves at most the last write missing. A frame that fails to write is
    cut off again, so that the file always ends with a whole frame. Not
    thread-safe."""

    def __init__(self, path, header, codec=CODEC_ZSTD):
        self.path = path
        self._encoder = FrameEncoder(codec)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | getattr(os, "O_CLOEXEC", 0), 0o644)
        self.size = 0
        self._unsynced = False  # a write made since the last fsync
        try:
            self.write_frame(header.encode())
        except BaseException:
            os.close(self._fd)
            raise

    def encode(self, content):
        """The frame holding `content` (encoded records)."""
        return self._encoder.encode(content)

    def write_frame(self, frame):
        """Appends `frame` (the header, or one or more whole frames) with one
        `write` where the kernel allows, after an fsync when an earlier write
        is not durable yet; on failure truncates what was written of it and
        raises OSError."""
        view = memoryview(frame)
        try:
            while view:
                if self._unsynced:
                    os.fsync(self._fd)
                    self._unsynced = False
                n = os.write(self._fd, view)
                self._unsynced = True
                view = view[n:]
        except OSError:
            try:
                os.ftruncate(self._fd, self.size)
            except OSError:
                pass
            raise
        self.size += len(frame)

    def append(self, content):
        """Writes one frame holding `content`."""
        self.write_frame(self.encode(content))

    def sync(self):
        os.fsync(self._fd)
        self._unsynced = False

    def close(self):
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
