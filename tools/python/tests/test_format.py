# SPDX-License-Identifier: Apache-2.0
"""Bad input to the reader: refused whole, reported as damage, or treated as
a tail, as spec/format.md section 2 says; never a crash."""

import os
import struct

import pytest
import zstandard

from conftest import VECTORS
from runlog import FormatError, LogReader, canonical
from runlog._wire import masked_crc32c, crc32c
from runlog.logfile import CODEC_NONE, FileHeader, FrameEncoder
from runlog.records import Metrics, RunEnd, Unknown
from runlog.metrics import MetricsBlock


def minimal():
    with open(os.path.join(VECTORS, "minimal.rlog"), "rb") as f:
        return f.read()


HEADER = FileHeader("r1", created=1, writer="t").encode()
RAW = FrameEncoder(codec=CODEC_NONE)


def frame(content):
    return RAW.encode(content)


def read(data):
    r = LogReader(data)
    lines = canonical.dump(r)
    return lines, [str(d) for d in r.damage], r.tail()


def test_crc32c_matches_the_check_value():
    assert crc32c(b"123456789") == 0xE3069283


def test_short_file_is_not_written_yet():
    for n in (0, 5, 19, len(HEADER) - 1):
        with pytest.raises(FormatError) as e:
            LogReader(HEADER[:n])
        assert "not written yet" in str(e.value)


def test_bad_magic_is_not_a_run_log():
    with pytest.raises(FormatError, match="bad magic"):
        LogReader(b"PK\x03\x04" + HEADER[4:])


def test_flipped_header_byte_is_refused_whole():
    data = bytearray(minimal())
    data[18] ^= 1
    with pytest.raises(FormatError, match="checksum"):
        LogReader(bytes(data))


def test_unknown_version_is_refused():
    body = HEADER[16:-4]
    head = HEADER[:8] + struct.pack("<HHI", 2, 0, len(body)) + body
    with pytest.raises(FormatError, match="version 2"):
        LogReader(head + struct.pack("<I", masked_crc32c(head)))


def test_header_length_over_4096_is_refused():
    head = HEADER[:8] + struct.pack("<HHI", 1, 0, 5000)
    with pytest.raises(FormatError, match="4096"):
        LogReader(head + b"\0" * 5004)


def test_truncated_frame_is_a_tail_not_damage():
    content = RunEnd(status=1).encode()
    f = frame(content)
    _, damage, tail = read(HEADER + f + f[:-1])
    assert damage == []
    assert tail.offset == len(HEADER) + len(f) and tail.reason == "incomplete frame"


def test_frame_with_bad_header_crc_between_good_ones_is_damage():
    a, b, c = (frame(RunEnd(status=s).encode()) for s in (1, 2, 3))
    bad = bytearray(b)
    bad[5] ^= 0x40  # payload length, covered by the header CRC
    lines, damage, tail = read(HEADER + a + bytes(bad) + c)
    assert damage == [f"offset {len(HEADER) + len(a)}: {len(b)} bytes dropped: frame header checksum mismatch"]
    assert lines.count('"kind":"run_end"') == 2 and tail is None


def test_hostile_content_length_is_rejected_before_any_allocation():
    head = b"\xd3RLF" + struct.pack("<IIB3x", 10, 1 << 30, 1)
    head += struct.pack("<II", masked_crc32c(head), 0)
    good = frame(RunEnd(status=1).encode())
    lines, damage, _ = read(HEADER + head + b"x" * 10 + good)
    assert damage == [f"offset {len(HEADER)}: 34 bytes dropped: content length {1 << 30} out of bounds"]
    assert '"run_end"' in lines


def test_zstd_payload_whose_size_disagrees_with_the_header_is_damage():
    content = RunEnd(status=1).encode()
    payload = zstandard.ZstdCompressor(write_content_size=True).compress(content + b"\0")
    head = b"\xd3RLF" + struct.pack("<IIB3x", len(payload), len(content), 1)
    bad = head + struct.pack("<II", masked_crc32c(head), masked_crc32c(payload)) + payload
    good = frame(content)
    lines, damage, _ = read(HEADER + bad + good)
    assert damage == [f"offset {len(HEADER)}: {len(bad)} bytes dropped: "
                      "frame payload checksum mismatch or undecodable payload"]
    assert lines.count('"run_end"') == 1


def test_malformed_record_is_damage_and_reading_goes_on():
    block = Metrics(MetricsBlock(["a"], [1], [2], [([0.5], None)])).encode()
    assert block[1] < 0x80  # one-byte length: cut the body's last byte
    broken = bytes([block[0], block[1] - 1]) + block[2:-1]
    content = broken + RunEnd(status=1).encode()
    lines, damage, _ = read(HEADER + frame(content))
    assert damage == [f"offset {len(HEADER)}: {len(content)} bytes dropped: malformed metrics record (kind 3) at content byte 0"]
    assert '"run_end"' in lines


def test_record_length_past_the_frame_end_stops_that_frame_only():
    content = b"\x08\x7f\x08\x01"
    lines, damage, _ = read(HEADER + frame(content) + frame(RunEnd(status=1).encode()))
    assert damage == [f"offset {len(HEADER)}: 4 bytes dropped: record length runs past the end of the frame at content byte 0"]
    assert '"run_end"' in lines


def test_kind_zero_is_malformed_and_unknown_kinds_are_skipped():
    content = b"\x00\x00" + Unknown(200, b"\x01\x02\x03").encode() + RunEnd(status=1).encode()
    lines, damage, _ = read(HEADER + frame(content))
    assert len(damage) == 1 and "kind 0" in damage[0]
    assert '{"kind":"unknown","type":200,"length":3}' in lines and '"run_end"' in lines


@pytest.mark.parametrize("body,why", [
    (b"\x10\x01\x1a\x01\x00\x22\x01\x00\x2a\x09\x00" + b"\0" * 8, "no keys"),
    (b"\x0a\x01a\x0a\x01a\x10\x01\x1a\x01\x00\x22\x01\x00\x2a\x09\x00" + b"\0" * 8 + b"\x2a\x09\x00" + b"\0" * 8, "repeated key"),
    (b"\x0a\x01a\x10\x02\x1a\x01\x00\x22\x01\x00\x2a\x11\x00" + b"\0" * 16, "fewer step varints than rows"),
    (b"\x0a\x01a\x10\x01\x1a\x01\x00\x22\x01\x00\x2a\x09\x06" + b"\0" * 8, "reserved coding"),
    (b"\x0a\x01a\x10\x01\x1a\x01\x00\x22\x01\x00\x2a\x0a\x01\x03" + b"\0" * 8, "bitmap bit past the rows"),
    (b"\x0a\x01a\x10\x01\x1a\x01\x00\x22\x01\x00\x2b\x09\x00" + b"\0" * 8, "wire type 3"),
])
def test_malformed_metrics_blocks_are_refused(body, why):
    content = bytes([3, len(body)]) + body
    lines, damage, _ = read(HEADER + frame(content))
    assert len(damage) == 1 and "malformed metrics" in damage[0], why
    assert '"metrics"' not in lines


@pytest.mark.parametrize("content,why", [
    (b"\x0a\x03\x1a\x01a", "no stream"),
    (b"\x0a\x05\x08\x00\x1a\x01a", "stream 0"),
    (b"\x0a\x05\x08\x01\x1a\x05a", "text past the end of the body"),
    (b"\x0a\x04\x08\x01\x1ba", "wire type 3"),
])
def test_malformed_console_records_are_refused(content, why):
    lines, damage, _ = read(HEADER + frame(content + RunEnd(status=1).encode()))
    assert len(damage) == 1, why
    assert '"console"' not in lines and '"run_end"' in lines


def test_console_record_reads_back():
    lines, damage, _ = read(HEADER + frame(b"\x0a\x05\x08\x02\x1a\x01a"))
    assert damage == []
    assert '{"kind":"console","stream":"stderr","time":0.000000,"text":"a","dropped":0}' in lines


def test_random_bytes_after_the_header_are_a_tail():
    junk = os.urandom(3000).replace(b"\xd3", b"\xd4")
    lines, damage, tail = read(HEADER + junk)
    assert damage == [] and tail.length == 3000 and tail.reason == "no frame magic"


def test_a_fifo_named_like_a_log_is_refused_without_blocking(tmp_path):
    from runlog._regular import NotRegularFile

    fifo = tmp_path / "a0001-r0000-s0000.rlog"
    os.mkfifo(fifo)
    # No writer ever opens the FIFO: a plain open() would block forever.
    with pytest.raises(NotRegularFile, match="a FIFO, not a regular file"):
        LogReader(fifo)
    with pytest.raises(NotRegularFile, match="a directory, not a regular file"):
        LogReader(tmp_path)


def test_a_log_named_through_a_symbolic_link_is_read_at_its_target(tmp_path):
    target = tmp_path / "minimal.rlog"
    target.write_bytes(minimal())
    link = tmp_path / "link.rlog"
    os.symlink(target, link)
    assert len(list(LogReader(link).frames())) == len(list(LogReader(target).frames()))
