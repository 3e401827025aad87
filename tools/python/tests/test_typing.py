# SPDX-License-Identifier: Apache-2.0
"""The public API's type hints, as a type checker sees them: mypy accepts
correct use of `runlog.init`, `Run`, `Histogram` and `runlog.ignite`, and
reports each misuse at its line."""

import os
import re
import textwrap

import pytest

from conftest import HERE

PACKAGE = os.path.dirname(HERE)

GOOD = """\
    import runlog
    from runlog.ignite import RunLogLogger, RunLogSaver

    run: runlog.Run = runlog.init(project="p", name="n", config={"lr": 0.1}, tags=["a"], id="abc", resume="allow")
    run.log({"loss": 0.5, "nested": {"acc": 1}}, step=3, commit=False)
    step: int = run.step
    hist = runlog.Histogram([1.0, 2.0], num_bins=8)
    run.log({"h": hist})
    path: str = run.save_checkpoint("model.pt", name="model", aliases=["best"], metadata={"epoch": 1})
    tags: tuple[str, ...] = run.tags
    run.tags = ["a", "b"]
    run.summary["best"] = 0.9
    with runlog.Run(dir="runs", flush_interval=0.5) as other:
        other.log({"x": 1.0})
    logger = RunLogLogger(project="p")
    saver = RunLogSaver(logger)
    kept: "str | None" = saver.path("model_1.pt")
    runlog.log({"a": 1.0})
    runlog.finish(exit_code=0)
    """

BAD = """\
    import runlog
    run = runlog.init(project=1)
    run.log("loss")
    runlog.Histogram([1.0], num_bins="8")
    text: str = run.log({"a": 1.0})  # returns None
    runlog.Run(projekt="p")
    run.finish(exit_code="0")
    count: int = run.save_checkpoint("model.pt")
    """


@pytest.fixture(scope="module")
def mypy_output(tmp_path_factory):
    """mypy's report on GOOD and BAD, checked together (one start of mypy)."""
    api = pytest.importorskip("mypy.api")
    folder = tmp_path_factory.mktemp("typing")
    for name, source in (("good.py", GOOD), ("bad.py", BAD)):
        (folder / name).write_text(textwrap.dedent(source))
    env_path = os.environ.get("MYPYPATH")
    os.environ["MYPYPATH"] = PACKAGE  # this checkout's runlog, not an installed one
    try:
        out, err, _ = api.run(["--config-file", os.path.join(PACKAGE, "pyproject.toml"), "--no-incremental",
                               "--cache-dir", os.devnull, str(folder / "good.py"), str(folder / "bad.py")])
    finally:
        if env_path is None:
            del os.environ["MYPYPATH"]
        else:
            os.environ["MYPYPATH"] = env_path
    return out + err


def _error_lines(out, name):
    return sorted({int(m) for m in re.findall(rf"^\S*{name}:(\d+): error", out, re.M)})


def test_mypy_accepts_the_public_api_used_as_documented(mypy_output):
    assert "bad.py" in mypy_output, mypy_output  # mypy ran on both files
    assert _error_lines(mypy_output, "good.py") == [], mypy_output


def test_mypy_reports_each_misuse_of_the_public_api(mypy_output):
    assert _error_lines(mypy_output, "bad.py") == [2, 3, 4, 5, 6, 7, 8], mypy_output


def test_the_package_says_it_is_typed():
    assert os.path.isfile(os.path.join(PACKAGE, "runlog", "py.typed"))
