# SPDX-License-Identifier: Apache-2.0
"""The golden logs of spec/vectors: the reader gives their canonical JSON,
damage and tail exactly; the encoder gives their frame contents exactly."""

import glob
import os

import pytest

from conftest import VECTORS
from runlog import LogReader, canonical
from runlog.logfile import CODEC_NONE, FileHeader, FrameEncoder
from runlog.metrics import MetricsBlock
from runlog.records import METRICS, Metrics

NAMES = sorted(os.path.basename(p)[:-5] for p in glob.glob(os.path.join(VECTORS, "*.rlog")))


def expected(name, ext):
    path = os.path.join(VECTORS, name + ext)
    if not os.path.exists(path):
        return ""
    with open(path, encoding="utf-8") as f:
        return f.read()


def test_all_vectors_are_present():
    assert {"minimal", "all-kinds", "multi-frame", "torn-tail", "damaged-middle"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_reader_gives_the_canonical_json_lines(name):
    reader = LogReader(os.path.join(VECTORS, name + ".rlog"))
    assert canonical.dump(reader) == expected(name, ".jsonl")


@pytest.mark.parametrize("name", NAMES)
def test_reader_reports_damage_and_tail_as_the_vector_says(name):
    reader = LogReader(os.path.join(VECTORS, name + ".rlog"))
    list(reader.frames())
    assert "".join(f"{d}\n" for d in reader.damage) == expected(name, ".damage")
    tail = reader.tail()
    assert (f"{tail}\n" if tail else "") == expected(name, ".tail")


@pytest.mark.parametrize("name", NAMES)
def test_encoder_rebuilds_every_frame_content_byte_for_byte(name):
    reader = LogReader(os.path.join(VECTORS, name + ".rlog"))
    frames = list(reader.frames())
    assert frames
    for frame in frames:
        assert b"".join(r.encode() for r in frame.records) == frame.content, f"frame at {frame.offset}"


@pytest.mark.parametrize("name", NAMES)
def test_block_builder_rebuilds_metrics_blocks_from_their_rows(name):
    reader = LogReader(os.path.join(VECTORS, name + ".rlog"))
    blocks = [r.block for r in reader.records() if r.kind == METRICS]
    for block in blocks:
        rows = list(block.rows())
        rebuilt = MetricsBlock.from_rows([r[0] for r in rows], [r[1] for r in rows], [dict(r[2]) for r in rows])
        assert Metrics(rebuilt).encode() == Metrics(block).encode()


def test_minimal_log_is_rebuilt_byte_for_byte():
    with open(os.path.join(VECTORS, "minimal.rlog"), "rb") as f:
        original = f.read()
    reader = LogReader(original)
    frames = list(reader.frames())
    encoder = FrameEncoder(codec=CODEC_NONE)
    rebuilt = reader.header.encode() + b"".join(
        encoder.encode(b"".join(r.encode() for r in fr.records)) for fr in frames)
    assert rebuilt == original


def test_header_round_trips():
    h = FileHeader("r1", attempt=3, rank=2, segment=1, created=-5, writer="w/1")
    decoded, size = FileHeader.decode(h.encode())
    assert decoded == h and size == len(h.encode())
