# SPDX-License-Identifier: Apache-2.0
"""Uploads workload A with MLflow's own Python client and prints `result {json}`.

    sync_mlflow_client.py TRACKING_URI STEPS

One new run; `MlflowClient.log_batch` with 1,000 metrics per call, each
point with its step and a wall-clock timestamp in ms, as syncd sends them.
Timed (wall and CPU): creating the run, every log_batch, ending the run.
Not timed: importing mlflow, building the Metric objects.
"""

import os
import sys
import time

from workload import KEYS, Timer, report, workload_a


def main():
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    uri, steps = sys.argv[1], int(sys.argv[2])
    client = MlflowClient(tracking_uri=uri)
    name = "bench-mlflow-client"
    experiment = client.get_experiment_by_name(name)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(name)
    start_ms = int(time.time() * 1000)
    metrics = [
        Metric(key, value, start_ms + i, i)
        for key, column in zip(KEYS, workload_a(steps))
        for i, value in enumerate(column.tolist())
    ]
    metrics.sort(key=lambda m: m.step)
    with Timer() as t:
        run = client.create_run(experiment_id, run_name=f"workload-a-{os.getpid()}")
        for i in range(0, len(metrics), 1000):
            client.log_batch(run.info.run_id, metrics=metrics[i:i + 1000])
        client.set_terminated(run.info.run_id)
    stored = len(client.get_metric_history(run.info.run_id, "loss"))
    if stored != steps:
        sys.exit(f"sync_mlflow_client.py: MLflow holds {stored} points of 'loss', {steps} were sent")
    report(items=len(metrics), cpu_s=t.cpu, wall_s=t.wall, run_id=run.info.run_id)


if __name__ == "__main__":
    main()
