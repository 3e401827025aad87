# SPDX-License-Identifier: Apache-2.0
"""Ignite's MNIST example for Weights & Biases (examples/mnist/
mnist_with_wandb_logger.py in pytorch/ignite), moved to runlog by changing
its logger import, with MNIST replaced by random tensors of MNIST's shape
(no download). Everything W&B would keep without being asked is kept: the
metrics, the weight and gradient histograms of `watch`, the console output
(ignite's own log lines), and the best models that `ModelCheckpoint` saves
into `run.dir`, which syncd uploads as run files.

    python mnist_with_runlog_logger.py --epochs 2 --train_size 4400 --batch_size 8
"""

from argparse import ArgumentParser

import torch
import torch.nn.functional as F
from ignite.engine import Events, create_supervised_evaluator, create_supervised_trainer
from ignite.handlers import ModelCheckpoint
from ignite.metrics import Accuracy, Loss
from ignite.utils import setup_logger
from torch import nn
from torch.optim import SGD
from torch.utils.data import DataLoader, TensorDataset

from runlog.ignite import RunLogLogger, global_step_from_engine  # was: ignite.handlers.wandb_logger, WandBLogger


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.conv2_drop = nn.Dropout2d()
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = F.relu(self.fc1(x.view(-1, 320)))
        x = F.dropout(x, training=self.training)
        return F.log_softmax(self.fc2(x), dim=-1)


def random_mnist(size, seed):
    """Tensors shaped like MNIST's normalized images, with labels 0-9."""
    g = torch.Generator().manual_seed(seed)
    return TensorDataset(torch.randn(size, 1, 28, 28, generator=g), torch.randint(0, 10, (size,), generator=g))


def get_data_loaders(train_batch_size, val_batch_size, train_size, val_size):
    train_loader = DataLoader(random_mnist(train_size, 0), batch_size=train_batch_size, shuffle=True)
    val_loader = DataLoader(random_mnist(val_size, 1), batch_size=val_batch_size, shuffle=False)
    return train_loader, val_loader


def run(train_batch_size, val_batch_size, epochs, lr, momentum, train_size, val_size):
    train_loader, val_loader = get_data_loaders(train_batch_size, val_batch_size, train_size, val_size)
    model = Net()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device)
    optimizer = SGD(model.parameters(), lr=lr, momentum=momentum)
    criterion = nn.CrossEntropyLoss()
    trainer = create_supervised_trainer(model, optimizer, criterion, device=device)
    trainer.logger = setup_logger("Trainer")

    metrics = {"accuracy": Accuracy(), "loss": Loss(criterion)}
    train_evaluator = create_supervised_evaluator(model, metrics=metrics, device=device)
    train_evaluator.logger = setup_logger("Train Evaluator")
    validation_evaluator = create_supervised_evaluator(model, metrics=metrics, device=device)
    validation_evaluator.logger = setup_logger("Val Evaluator")

    @trainer.on(Events.EPOCH_COMPLETED)
    def compute_metrics(engine):
        train_evaluator.run(train_loader)
        validation_evaluator.run(val_loader)

    logger = RunLogLogger(
        project="pytorch-ignite-integration",
        name="ignite-mnist-example",
        config={"train_batch_size": train_batch_size, "val_batch_size": val_batch_size, "epochs": epochs, "lr": lr,
                "momentum": momentum},
    )
    logger.attach_output_handler(trainer, event_name=Events.ITERATION_COMPLETED(every=100), tag="training",
                                 output_transform=lambda loss: {"batchloss": loss})
    for tag, evaluator in [("training", train_evaluator), ("validation", validation_evaluator)]:
        logger.attach_output_handler(evaluator, event_name=Events.EPOCH_COMPLETED, tag=tag,
                                     metric_names=["loss", "accuracy"],
                                     global_step_transform=lambda *_: trainer.state.iteration)
    logger.attach_opt_params_handler(trainer, event_name=Events.ITERATION_COMPLETED(every=100), optimizer=optimizer)
    logger.watch(model, log="all")

    model_checkpoint = ModelCheckpoint(
        logger.run.dir, n_saved=2, filename_prefix="best",
        score_function=lambda engine: engine.state.metrics["accuracy"], score_name="validation_accuracy",
        global_step_transform=global_step_from_engine(trainer))
    validation_evaluator.add_event_handler(Events.COMPLETED, model_checkpoint, {"model": model})

    trainer.run(train_loader, max_epochs=epochs)
    logger.close()


if __name__ == "__main__":
    parser = ArgumentParser()
    parser.add_argument("--batch_size", type=int, default=64, help="input batch size for training (default: 64)")
    parser.add_argument("--val_batch_size", type=int, default=1000, help="input batch size for validation (default: 1000)")
    parser.add_argument("--epochs", type=int, default=10, help="number of epochs to train (default: 10)")
    parser.add_argument("--lr", type=float, default=0.01, help="learning rate (default: 0.01)")
    parser.add_argument("--momentum", type=float, default=0.5, help="SGD momentum (default: 0.5)")
    parser.add_argument("--train_size", type=int, default=60000, help="random training images (MNIST: 60000)")
    parser.add_argument("--val_size", type=int, default=10000, help="random validation images (MNIST: 10000)")
    args = parser.parse_args()
    run(args.batch_size, args.val_batch_size, args.epochs, args.lr, args.momentum, args.train_size, args.val_size)
