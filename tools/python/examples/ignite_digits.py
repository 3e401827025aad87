# SPDX-License-Identifier: Apache-2.0
"""The classic PyTorch Ignite + W&B example, logging to runlog instead.

Trains a small CNN on scikit-learn's bundled digits (8x8 images, no
download) with SGD and momentum; logs the training loss every iteration,
the learning rate, training and validation metrics every epoch, gradient
histograms, and keeps the best model as a checkpoint.

    python tools/python/examples/ignite_digits.py --epochs 2 --dir runlogs

Switching from W&B is the import and the constructor:
`WandBLogger(project=..., ...)` becomes `RunLogLogger(project=..., ...)`.
"""

import argparse

import torch
import torch.nn.functional as F
from ignite.engine import Events, create_supervised_evaluator, create_supervised_trainer
from ignite.handlers import Checkpoint
from ignite.metrics import Accuracy, Loss
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from tqdm import tqdm

from runlog.ignite import RunLogLogger, RunLogSaver, global_step_from_engine


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, kernel_size=3, padding=1)
        self.conv2_drop = nn.Dropout2d(0.1)
        self.fc1 = nn.Linear(32 * 4 * 4, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = x.flatten(1)
        x = F.dropout(F.relu(self.fc1(x)), training=self.training)
        return F.log_softmax(self.fc2(x), dim=-1)


def get_data_loaders(train_batch_size, val_batch_size, seed=0):
    digits = load_digits()
    x = torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)
    y = torch.tensor(digits.target, dtype=torch.long)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.2, random_state=seed, stratify=y)
    generator = torch.Generator().manual_seed(seed)
    train = DataLoader(TensorDataset(x_train, y_train), batch_size=train_batch_size, shuffle=True, generator=generator)
    val = DataLoader(TensorDataset(x_val, y_val), batch_size=val_batch_size, shuffle=False)
    return train, val


def run(train_batch_size=64, val_batch_size=256, epochs=5, lr=0.05, momentum=0.9, log_interval=10, dir=None,
        run_id=None, max_iters=None, progress=True):
    """Trains and logs; returns the logger's run (finished)."""
    torch.manual_seed(0)
    train_loader, val_loader = get_data_loaders(train_batch_size, val_batch_size)
    model = Net()
    device = "cpu"
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    criterion = nn.NLLLoss()
    trainer = create_supervised_trainer(model, optimizer, criterion, device=device)
    trainer.logger.disabled = True
    metrics = {"accuracy": Accuracy(), "nll": Loss(criterion)}
    train_evaluator = create_supervised_evaluator(model, metrics=metrics, device=device)
    validation_evaluator = create_supervised_evaluator(model, metrics=metrics, device=device)

    logger = RunLogLogger(
        project="ignite-digits", name="cnn-digits", dir=dir, id=run_id,
        config={"train_batch_size": train_batch_size, "val_batch_size": val_batch_size, "epochs": epochs,
                "lr": lr, "momentum": momentum},
        tags=["pytorch-ignite", "digits"])

    pbar = tqdm(total=len(train_loader), desc="epoch 1", leave=False, disable=not progress)

    @trainer.on(Events.ITERATION_COMPLETED)
    def advance(engine):
        pbar.desc = f"epoch {engine.state.epoch} loss {engine.state.output:.3f}"
        pbar.update(1)
        if max_iters is not None and engine.state.iteration >= max_iters:
            engine.terminate()

    @trainer.on(Events.EPOCH_COMPLETED | Events.TERMINATE)
    def evaluate(engine):
        pbar.n = pbar.last_print_n = 0
        train_evaluator.run(train_loader)
        validation_evaluator.run(val_loader)
        m = validation_evaluator.state.metrics
        tqdm.write(f"epoch {engine.state.epoch}: validation accuracy {m['accuracy']:.3f} nll {m['nll']:.3f}")

    logger.attach_output_handler(trainer, event_name=Events.ITERATION_COMPLETED, tag="training",
                                 output_transform=lambda loss: {"batchloss": loss})
    for tag, evaluator in [("training", train_evaluator), ("validation", validation_evaluator)]:
        logger.attach_output_handler(evaluator, event_name=Events.EPOCH_COMPLETED, tag=tag,
                                     metric_names=["nll", "accuracy"],
                                     global_step_transform=lambda *_: trainer.state.iteration)
    logger.attach_opt_params_handler(trainer, event_name=Events.ITERATION_STARTED, optimizer=optimizer)
    logger.watch(model, log="gradients", log_freq=log_interval)

    best = Checkpoint({"model": model}, RunLogSaver(logger), n_saved=1, filename_prefix="best",
                      score_function=lambda e: e.state.metrics["accuracy"], score_name="validation_accuracy",
                      global_step_transform=global_step_from_engine(trainer))
    validation_evaluator.add_event_handler(Events.COMPLETED, best)

    try:
        trainer.run(train_loader, max_epochs=epochs)
    finally:
        pbar.close()
        logger.close()
    return logger.run


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--val-batch-size", type=int, default=256)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--log-interval", type=int, default=10, help="iterations between gradient histograms")
    p.add_argument("--dir", default=None, help="root of the runs (default $RUNLOG_DIR, else ./runlogs)")
    a = p.parse_args(argv)
    r = run(a.batch_size, a.val_batch_size, a.epochs, a.lr, a.momentum, a.log_interval, a.dir)
    print(f"run {r.id} written to {r.dir}")


if __name__ == "__main__":
    main()
