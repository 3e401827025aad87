# SPDX-License-Identifier: Apache-2.0
"""`Run.save`: policies recorded for syncd, files from elsewhere copied in."""

import json
import os

import pytest

import runlog


def policies(run):
    with open(os.path.join(run.dir, ".runlog-save.json"), encoding="utf-8") as f:
        return json.load(f)


def test_save_records_the_policy_of_files_in_the_run_directory(rundir):
    run = runlog.init(dir=rundir, id="f1")
    with open(os.path.join(run.dir, "model.pt"), "w") as f:
        f.write("m")
    assert run.save("*.pt", policy="end") == ["model.pt"]
    assert run.save(os.path.join(run.dir, "*.pt"), policy="now") == ["model.pt"]
    assert run.save("later/*.txt") == []
    assert policies(run) == [{"glob": "*.pt", "policy": "now"}, {"glob": "later/*.txt", "policy": "live"}]
    run.finish()


def test_save_copies_files_from_elsewhere_into_the_run_directory(rundir, tmp_path):
    src = tmp_path / "out" / "sub"
    src.mkdir(parents=True)
    (src / "a.csv").write_text("1,2\n")
    (src / "b.csv").write_text("3,4\n")
    run = runlog.init(dir=rundir, id="f2")
    assert run.save(str(src / "*.csv"), base_path=str(tmp_path / "out")) == ["sub/a.csv", "sub/b.csv"]
    assert open(os.path.join(run.dir, "sub", "a.csv")).read() == "1,2\n"
    assert not [n for n in os.listdir(os.path.join(run.dir, "sub")) if n.startswith(".tmp")]
    assert policies(run) == [{"glob": "sub/*.csv", "policy": "live"}]
    run.finish()


@pytest.mark.parametrize("glob,error", [
    ("logs/*", "runlog's own files are not run files"),
    ("checkpoints/**", "runlog's own files are not run files"),
])
def test_save_refuses_runlogs_own_files_and_bad_policies(rundir, glob, error):
    run = runlog.init(dir=rundir, id="f3")
    with pytest.raises(ValueError, match=error):
        run.save(glob)
    with pytest.raises(ValueError, match="policy must be one of live, now, end, got 'sometimes'"):
        run.save("*.pt", policy="sometimes")
    run.finish()


def test_a_fifo_planted_as_the_policy_file_does_not_block_save(rundir):
    run = runlog.init(dir=rundir, id="f-fifo")
    os.mkfifo(os.path.join(run.dir, ".runlog-save.json"))
    assert run.save("*.pt") == []  # a plain open() would wait for a writer forever
    assert policies(run) == [{"glob": "*.pt", "policy": "live"}]
    run.finish()
