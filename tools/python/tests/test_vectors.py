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
    assert {"minimal", "all-kinds", "multi-frame", "torn-tail", "damaged-middle", "deep-config", "environment"} <= set(NAMES)


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
    damaged = {d.offset for d in reader.damage}
    for frame in frames:
        if frame.offset in damaged:  # a malformed record is dropped, so the frame cannot be rebuilt
            continue
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


def nested(levels):
    """The vector's value nested `levels` deep: maps and lists in turn around a 1."""
    v = 1
    for level in range(1, levels):
        v = [v] if level % 2 == 0 else {"k": v}
    return v


def test_values_nest_64_levels_and_no_deeper():
    from runlog.records import Config
    from runlog.values import MAX_DEPTH, value_depth

    assert MAX_DEPTH == 64 and value_depth(nested(64)) == 64 and value_depth(nested(65)) == 65
    reader = LogReader(os.path.join(VECTORS, "deep-config.rlog"))
    configs = [r for r in reader.records() if r.kind == Config.kind]
    assert configs == [Config([("deepest", nested(64))])]
    with pytest.raises(ValueError, match="nested deeper than 64 levels"):
        Config([("too_deep", nested(65))]).encode()


def test_the_writer_refuses_a_value_readers_would_refuse_when_it_is_given(tmp_path):
    import runlog

    with pytest.raises(ValueError, match="config key 'too_deep': nested 65 levels deep; at most 64"):
        runlog.init(project="p", dir=str(tmp_path), config={"too_deep": nested(65)}, console=False)
    assert not os.listdir(tmp_path)
    with runlog.init(project="p", dir=str(tmp_path), id="r", config={"deepest": nested(64)}, console=False) as run:
        with pytest.raises(ValueError, match="summary key 'x': nested 65 levels deep"):
            run.summary["x"] = nested(65)
        with pytest.raises(ValueError, match="config key 'y': nested 70 levels deep"):
            run.config.update({"fine": 1, "y": nested(70)})
        assert "fine" not in run.config and "x" not in run.summary
    reader = LogReader(os.path.join(tmp_path, "r", "logs", "a0001-r0000-s0000.rlog"))
    list(reader.frames())
    assert reader.damage == []
