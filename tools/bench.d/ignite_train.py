# SPDX-License-Identifier: Apache-2.0
"""One small PyTorch Ignite training run, with one logger or none; prints
`result {json}` with the wall and CPU time of the training (from
`trainer.run` until the logger's `close` returned: the data is written).

    python ignite_train.py WORKLOAD LOGGER ITERATIONS DIR [--threads N] [--switch-interval S]

WORKLOAD: `digits` (a small CNN on scikit-learn's digits, batch 16; whole
epochs, the fewest that make at least ITERATIONS) or `linear` (a 10→1
linear model on generated tensors, batch 32; epochs of 200 batches, the
fewest that make at least ITERATIONS).
LOGGER: `none`, `runlog` (`runlog.ignite.RunLogLogger`, system metrics at
their default), `tensorboardx` (ignite's `TensorboardLogger`, which writes
with tensorboardX) or `wandb` (ignite's `WandBLogger`, `WANDB_MODE=offline`,
system metrics at W&B's default). Each logs the loss and the learning rate
every iteration and histograms of the gradients every 50 iterations (W&B
through `wandb.watch(model, log_freq=50)`: ignite has no W&B histogram
handler). Creating the logger and importing are not timed. Torch runs
with one intra-op thread (`--threads`): on a small shared machine its
second thread, waiting for a busy core at every parallel region, makes an
iteration up to 15 times slower, a noise that would swamp every logger.
"""

import argparse
import json
import os
import resource
import sys
import time

import torch
from ignite.engine import Events, create_supervised_trainer
from torch import nn

HIST_EVERY = 50
EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                        "tools", "python", "examples")


def digits(iterations):
    sys.path.insert(0, EXAMPLES)
    from ignite_digits import Net, get_data_loaders  # the README's example: its CNN and data

    loader, _ = get_data_loaders(train_batch_size=16, val_batch_size=256)
    epochs = -(-iterations // len(loader))
    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    return model, optimizer, nn.NLLLoss(), loader, epochs, epochs * len(loader)


def linear(iterations):
    g = torch.Generator().manual_seed(0)
    w = torch.randn(10, 1, generator=g)
    batches = []
    for _ in range(200):
        x = torch.randn(32, 10, generator=g)
        batches.append((x, x @ w + 0.1 * torch.randn(32, 1, generator=g)))
    model = nn.Linear(10, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    epochs = -(-iterations // len(batches))
    return model, optimizer, nn.MSELoss(), batches, epochs, epochs * len(batches)


def attach(kind, trainer, model, optimizer, directory):
    """The logger `kind` attached to `trainer`; None for `none`."""
    every = Events.ITERATION_COMPLETED
    if kind == "none":
        return None
    if kind == "runlog":
        from runlog.ignite import GradsHistHandler, RunLogLogger

        logger = RunLogLogger(project="bench", name="ignite", dir=directory)
        logger.attach(trainer, GradsHistHandler(model), Events.ITERATION_COMPLETED(every=HIST_EVERY))
    elif kind == "tensorboardx":
        from ignite.handlers.tensorboard_logger import GradsHistHandler, TensorboardLogger

        logger = TensorboardLogger(log_dir=directory)
        logger.attach(trainer, GradsHistHandler(model), Events.ITERATION_COMPLETED(every=HIST_EVERY))
    elif kind == "wandb":
        from ignite.handlers.wandb_logger import WandBLogger

        os.environ["WANDB_MODE"] = "offline"
        os.environ.setdefault("WANDB_SILENT", "true")
        logger = WandBLogger(project="bench", name="ignite", dir=directory, mode="offline")
        logger.watch(model, log="gradients", log_freq=HIST_EVERY)
    else:
        raise SystemExit(f"ignite_train.py: unknown logger {kind!r}")
    logger.attach_output_handler(trainer, event_name=every, tag="training", output_transform=lambda loss: {"loss": loss})
    logger.attach_opt_params_handler(trainer, event_name=Events.ITERATION_STARTED, optimizer=optimizer)
    return logger


def descendants_cpu():
    """CPU seconds of the live processes below this one (wandb's service)."""
    parents = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                parents[int(pid)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
            except (OSError, IndexError, ValueError):
                pass
    mine, total, grew = {os.getpid()}, 0, True
    while grew:
        grew = False
        for pid, (ppid, ticks) in parents.items():
            if ppid in mine and pid not in mine:
                mine.add(pid)
                total += ticks
                grew = True
    return total / os.sysconf("SC_CLK_TCK")


def threads_cpu():
    """{thread name: CPU seconds} of this process's threads other than the main one."""
    out = {}
    for tid in os.listdir("/proc/self/task"):
        if int(tid) == os.getpid():
            continue
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                text = f.read()
        except OSError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def cpu_time():
    own = resource.getrusage(resource.RUSAGE_SELF)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + reaped.ru_utime + reaped.ru_stime + descendants_cpu()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("workload", choices=["digits", "linear"])
    p.add_argument("logger", choices=["none", "runlog", "tensorboardx", "wandb"])
    p.add_argument("iterations", type=int)
    p.add_argument("dir")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    p.add_argument("--switch-interval", type=float, help="sys.setswitchinterval before training")
    a = p.parse_args()
    if a.switch_interval:
        sys.setswitchinterval(a.switch_interval)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model, optimizer, loss, data, epochs, iterations = (digits if a.workload == "digits" else linear)(a.iterations)
    trainer = create_supervised_trainer(model, optimizer, loss)
    trainer.logger.disabled = True
    logger = attach(a.logger, trainer, model, optimizer, a.dir)
    threads = threads_cpu()
    cpu, main_cpu, wall = cpu_time(), time.thread_time(), time.perf_counter()
    trainer.run(data, max_epochs=epochs)
    main_cpu = time.thread_time() - main_cpu
    threads = {k: v - threads.get(k, 0.0) for k, v in threads_cpu().items()}
    if logger is not None:
        logger.close()
    wall, cpu = time.perf_counter() - wall, cpu_time() - cpu
    if trainer.state.iteration != iterations:
        raise SystemExit(f"ignite_train.py: ran {trainer.state.iteration} iterations, expected {iterations}")
    print("result " + json.dumps({"workload": a.workload, "logger": a.logger, "iterations": iterations,
                                  "wall_s": wall, "cpu_s": cpu, "main_cpu_s": main_cpu,
                                  "threads_cpu_s": threads}), flush=True)


if __name__ == "__main__":
    main()
