# SPDX-License-Identifier: Apache-2.0
"""System metrics and the environment record of the Python client, in
processes of their own: the loader finds the fake `libnvidia-ml.so.1`
(Tests/Fixtures/fake-nvml) through LD_LIBRARY_PATH, as it would the real one."""

import glob
import os
import subprocess
import sys
import time

import pytest
from conftest import REPO

from runlog import system
from runlog.environment import scheduler, without_credentials
from runlog.reader import LogReader
from runlog.records import ENVIRONMENT, METRICS

TWO_GPUS = "Tesla T4,37,1024,15360,61,35000,70000;Tesla T4,64,2048,15360,66,52500,70000"
SCRIPT = """
import time, runlog
run = runlog.init(project="p", dir={dir!r}, id="sys")
for i in range(60):
    run.log({{"loss": 1.0 / (i + 1)}})
    time.sleep(0.01)
run.finish()
"""


@pytest.fixture(scope="module")
def fake_nvml(tmp_path_factory):
    out = tmp_path_factory.mktemp("nvml")
    source = os.path.join(REPO, "Tests", "Fixtures", "fake-nvml", "fake_nvml.c")
    subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", str(out / "libnvidia-ml.so.1"), source], check=True)
    return str(out)


def run_script(tmp_path, env):
    root = str(tmp_path / "runs")
    full = dict(os.environ, PYTHONPATH=os.path.join(REPO, "tools", "python"), RUNLOG_SYSTEM_METRICS_INTERVAL="0.1",
                RUNLOG_CONSOLE="off")
    full.update(env)
    r = subprocess.run([sys.executable, "-c", SCRIPT.format(dir=root)], env=full, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    (path,) = glob.glob(os.path.join(root, "sys", "logs", "*.rlog"))
    records = list(LogReader(path).records())
    rows = [row for rec in records if rec.kind == METRICS for row in rec.block.rows()]
    samples = [(step, dict(values)) for step, _, values in rows if any(k.startswith("system/") for k, _ in values)]
    environment = [dict(rec.entries) for rec in records if rec.kind == ENVIRONMENT]
    return rows, samples, environment, r.stderr


def test_scripted_gpus_arrive_under_mlflow_names_at_the_sample_index(tmp_path, fake_nvml):
    rows, samples, (env,), stderr = run_script(tmp_path, {"LD_LIBRARY_PATH": fake_nvml, "FAKE_NVML_GPUS": TWO_GPUS})
    assert stderr == ""
    assert len(samples) >= 3
    assert [s for s, _ in samples] == list(range(len(samples)))
    last = samples[-1][1]
    assert last["system/gpu_0_utilization_percentage"] == 37 and last["system/gpu_1_utilization_percentage"] == 64
    assert last["system/gpu_0_memory_usage_megabytes"] == 1024 * 1048576 / 1e6
    assert last["system/gpu_1_memory_usage_percentage"] == 2048 / 15360 * 100
    assert last["system/gpu_0_temperature_celsius"] == 61 and last["system/gpu_1_power_usage_watts"] == 52.5
    assert last["system/gpu_0_power_usage_percentage"] == 50
    for key in ("cpu_utilization_percentage", "process_cpu_utilization_percentage", "process_memory_rss_megabytes",
                "system_memory_usage_megabytes", "system_memory_usage_percentage", "disk_usage_percentage",
                "disk_usage_megabytes", "disk_available_megabytes", "network_receive_megabytes",
                "network_transmit_megabytes"):
        assert "system/" + key in last, key
    assert 0 <= last["system/system_memory_usage_percentage"] <= 100
    loss_steps = [step for step, _, values in rows if any(k == "loss" for k, _ in values)]
    assert loss_steps == list(range(60))  # the sampler's steps leave the training loop's alone
    gpu = env["gpu"]
    assert gpu == {"count": 2, "names": ["Tesla T4", "Tesla T4"], "memory": [15360 << 20, 15360 << 20],
                   "driver": "550.54.15", "cuda": "12.4"}
    assert env["runtime"].startswith("python 3.") and env["cpu"]["count"] >= 1 and env["memory"] > 0
    assert any(p.startswith("pytest==") for p in env["packages"]) and env["packages"] == sorted(
        env["packages"], key=lambda p: p.split("==")[0].lower())


def test_without_nvml_there_are_no_gpu_keys_and_no_error(tmp_path):
    _, samples, (env,), stderr = run_script(tmp_path, {"LD_LIBRARY_PATH": "/nonexistent"})
    assert stderr == ""
    assert len(samples) >= 3 and not any("gpu" in k for _, v in samples for k in v)
    assert "gpu" not in env


def test_a_failing_nvml_call_is_reported_once_and_the_rest_still_comes(tmp_path, fake_nvml):
    _, samples, _, stderr = run_script(tmp_path, {"LD_LIBRARY_PATH": fake_nvml, "FAKE_NVML_GPUS": TWO_GPUS,
                                                  "FAKE_NVML_FAIL": "utilization"})
    assert stderr == "runlog: system metrics: an NVML call failed for GPU 0; its missing values are skipped\n"
    assert samples and all("system/gpu_0_utilization_percentage" not in v for _, v in samples)
    assert all(v["system/gpu_1_temperature_celsius"] == 66 for _, v in samples)


def test_nvml_that_cannot_start_gives_no_gpus(tmp_path, fake_nvml):
    _, samples, (env,), stderr = run_script(tmp_path, {"LD_LIBRARY_PATH": fake_nvml, "FAKE_NVML_FAIL": "init"})
    assert stderr == "" and samples and "gpu" not in env


def test_interval_zero_turns_sampling_off(tmp_path):
    rows, samples, _, _ = run_script(tmp_path, {"RUNLOG_SYSTEM_METRICS_INTERVAL": "0"})
    assert samples == [] and len(rows) == 60


def test_an_unreadable_proc_file_is_skipped_and_reported_once(tmp_path, capsys):
    proc = tmp_path / "proc"
    (proc / "self").mkdir(parents=True)
    (proc / "stat").write_text("cpu  10 0 10 80 0 0 0 0\n")
    (proc / "meminfo").write_text("MemTotal: 1000 kB\nMemAvailable: 250 kB\n")
    rows = []
    sampler = system.SystemSampler(lambda step, t, row: rows.append(row), str(tmp_path), 0.1, nvml=False,
                                   proc=str(proc))
    time.sleep(0.55)
    sampler.stop()
    err = capsys.readouterr().err
    assert err.count("cannot read /proc/self/stat") == 1 and err.count("cannot read /proc/net/dev") == 1
    assert rows and all(r["system/system_memory_usage_percentage"] == 75 for r in rows)
    assert all("system/process_memory_rss_megabytes" not in r for r in rows)


@pytest.mark.parametrize("text, expected", [
    (None, 10.0), ("", 10.0), ("0", None), ("0.25", 0.25), ("0.01", 0.1), ("abc", 10.0), ("-3", 10.0), ("nan", 10.0),
])
def test_the_interval_from_the_environment(text, expected):
    environ = {} if text is None else {"RUNLOG_SYSTEM_METRICS_INTERVAL": text}
    assert system.interval(None, environ) == expected
    assert system.interval(2, environ) == 2 and system.interval(0, environ) is None


def test_credentials_leave_remote_urls():
    assert without_credentials("https://ada:ghp_x@github.com/a/b.git") == "https://github.com/a/b.git"
    assert without_credentials("https://token@host/x@y") == "https://host/x@y"
    assert without_credentials("git@github.com:a/b.git") == "git@github.com:a/b.git"
    assert without_credentials("ssh://git@host/repo") == "ssh://host/repo"


def test_schedulers():
    assert scheduler({}) is None
    assert scheduler({"SLURM_JOB_ID": "7", "SLURM_ARRAY_TASK_ID": "3", "SLURM_JOB_NODELIST": "n[1-2]",
                      "SLURM_JOB_PARTITION": "gpu"}) == {"name": "slurm", "job_id": "7", "array_task_id": "3",
                                                         "nodes": "n[1-2]", "partition": "gpu"}
    assert scheduler({"PBS_JOBID": "9.pbs", "PBS_QUEUE": "q"}) == {"name": "pbs", "job_id": "9.pbs", "partition": "q"}
    assert scheduler({"LSB_JOBID": "5", "LSB_JOBINDEX": "0"}) == {"name": "lsf", "job_id": "5"}
