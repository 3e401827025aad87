# SPDX-License-Identifier: Apache-2.0
"""Reading run logs by the rules of spec/format.md section 2: valid frames in
order, damage reported and skipped, the tail treated as "not written yet"."""

import struct
from dataclasses import dataclass
from typing import List

import zstandard

from ._regular import read_regular
from ._wire import masked_crc32c
from .logfile import (CODEC_NONE, CODEC_ZSTD, FRAME_HEADER, FRAME_MAGIC, MAX_CONTENT, MAX_PAYLOAD, FileHeader,
                      FormatError)
from .records import decode_records

_PAYLOAD_BAD = "frame payload checksum mismatch or undecodable payload"


@dataclass
class Damage:
    """Bytes skipped: file bytes of damaged frames, or the content bytes of a
    malformed record (then `offset` is its frame's)."""

    offset: int
    length: int
    reason: str

    def __str__(self):
        return f"offset {self.offset}: {self.length} bytes dropped: {self.reason}"


@dataclass
class Tail:
    """The bytes after the last valid frame."""

    offset: int
    length: int
    reason: str

    def __str__(self):
        return f"{self.length} bytes at offset {self.offset} not yet a frame: {self.reason}"


@dataclass
class Frame:
    """A valid frame: its offset and size in the file, its decoded content
    bytes and its records."""

    offset: int
    size: int
    content: bytes
    records: List[object]


class LogReader:
    """Reads a log from a path or from bytes. `frames()` yields each valid
    frame; `damage` collects what was skipped; `tail()` describes what follows
    the last valid frame. Raises FormatError when the data is not a run log,
    or its header is not complete yet (`FormatError.offset` is None then), and
    NotRegularFile (an OSError) when the path names a FIFO, device or other
    file that is not a regular file: such a file is never read."""

    def __init__(self, source):
        if isinstance(source, (bytes, bytearray, memoryview)):
            self.name = "<memory>"
            self._data = bytes(source)
        else:
            self.name = str(source)
            self._data = read_regular(source)
        try:
            decoded = FileHeader.decode(self._data)
        except FormatError as e:
            raise FormatError(f"{self.name}: {e}", e.offset) from None
        if decoded is None:
            raise FormatError(f"{self.name}: header not written yet ({len(self._data)} bytes)")
        self.header, self.header_size = decoded
        self.offset = self.header_size
        self.damage = []
        self._dctx = zstandard.ZstdDecompressor()

    def frames(self):
        while True:
            frame = self._next()
            if frame is None:
                return
            yield frame

    def records(self):
        for frame in self.frames():
            yield from frame.records

    def tail(self):
        """The Tail after the last valid frame, or None; call after `frames()` ended."""
        size = len(self._data)
        if size <= self.offset:
            return None
        length = size - self.offset
        if length < FRAME_HEADER:
            reason = "incomplete frame header"
        else:
            kind, value = self._check(self.offset)
            reason = {"need": "incomplete frame", "invalid": value}.get(kind, "a frame was completed meanwhile")
        return Tail(self.offset, length, reason)

    # ------------------------------------------------------------ internals

    def _next(self):
        kind, value = self._check(self.offset)
        if kind == "frame":
            return self._finish(self.offset, *value)
        if kind == "need":
            return None
        data = self._data
        q = self.offset + 1
        while q + FRAME_HEADER <= len(data):
            q = data.find(FRAME_MAGIC[:1], q)
            if q < 0:
                return None
            k, v = self._check(q)
            if k == "frame":
                self.damage.append(Damage(self.offset, q - self.offset, value))
                self.offset = q
                return self._finish(q, *v)
            if k == "need":
                return None
            q += 1
        return None

    def _check(self, pos):
        """("frame", (size, content)) | ("need", None) | ("invalid", reason)."""
        data = self._data
        if len(data) - pos < FRAME_HEADER:
            return "need", None
        head = data[pos : pos + FRAME_HEADER]
        if head[:4] != FRAME_MAGIC:
            return "invalid", "no frame magic"
        payload_len, content_len, codec, r0, r1, r2, head_crc, payload_crc = struct.unpack("<IIBBBBII", head[4:])
        if masked_crc32c(head[:16]) != head_crc:
            return "invalid", "frame header checksum mismatch"
        if codec not in (CODEC_NONE, CODEC_ZSTD):
            return "invalid", f"unknown codec {codec}"
        if r0 or r1 or r2:
            return "invalid", "reserved frame header bytes are not zero"
        if not 1 <= content_len <= MAX_CONTENT:
            return "invalid", f"content length {content_len} out of bounds"
        if payload_len > MAX_PAYLOAD or (codec == CODEC_NONE and payload_len != content_len):
            return "invalid", f"payload length {payload_len} out of bounds"
        total = FRAME_HEADER + payload_len
        if len(data) - pos < total:
            return "need", None
        payload = data[pos + FRAME_HEADER : pos + total]
        if masked_crc32c(payload) != payload_crc:
            return "invalid", _PAYLOAD_BAD
        if codec == CODEC_NONE:
            return "frame", (total, payload)
        content = self._decompress(payload, content_len)
        if content is None:
            return "invalid", _PAYLOAD_BAD
        return "frame", (total, content)

    def _decompress(self, payload, content_len):
        # The output size is the frame header's content length, never a size
        # read from the compressed data.
        try:
            declared = zstandard.frame_content_size(payload)
            if declared not in (-1, content_len):
                return None
            out = self._dctx.decompress(payload, max_output_size=content_len, allow_extra_data=False)
        except zstandard.ZstdError:
            return None
        return out if len(out) == content_len else None

    def _finish(self, pos, size, content):
        def malformed(at, reason):
            self.damage.append(Damage(pos, len(content) - at, f"{reason} at content byte {at}"))

        records = decode_records(content, malformed)
        self.offset = pos + size
        return Frame(pos, size, bytes(content), records)


def read_log(path):
    """(header, records, damage, tail) of a whole log file."""
    reader = LogReader(path)
    records = list(reader.records())
    return reader.header, records, reader.damage, reader.tail()
