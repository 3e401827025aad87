# SPDX-License-Identifier: Apache-2.0
"""The Ignite handlers: key names and steps exactly as ignite's loggers give
them, checkpoints through ignite's Checkpoint, and a real training run."""

import importlib.util
import json
import os
import warnings

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("ignite")

from ignite.engine import Engine, Events  # noqa: E402
from ignite.engine.events import EventEnum  # noqa: E402
from ignite.handlers import Checkpoint  # noqa: E402

import runlog  # noqa: E402
from runlog import canonical  # noqa: E402
from runlog.ignite import (GradsHistHandler, GradsScalarHandler, OptimizerParamsHandler, OutputHandler,  # noqa: E402
                           RunLogLogger, RunLogSaver, WeightsHistHandler, WeightsScalarHandler)

torch.set_num_threads(1)
EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "examples", "ignite_digits.py")


def lines(run):
    return [json.loads(x) for x in canonical.dump(runlog.LogReader(run.path)).splitlines()]


def metric_rows(run):
    return [(j["step"], j["values"]) for j in lines(run) if j["kind"] == "metrics"]


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 2)
        self.out = torch.nn.Linear(2, 1)

    def forward(self, x):
        return self.out(self.fc(x))


def make_trainer(model, optimizer):
    def step(engine, batch):
        optimizer.zero_grad()
        loss = model(batch).pow(2).mean()
        loss.backward()
        optimizer.step()
        return loss.item()

    return Engine(step)


@pytest.fixture
def setup(rundir):
    torch.manual_seed(0)
    model = Tiny()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    logger = RunLogLogger(project="t", dir=rundir)
    yield model, optimizer, make_trainer(model, optimizer), logger
    logger.close()


DATA = [torch.ones(4, 3)] * 3


def test_output_and_optimizer_handlers_use_ignite_keys_and_default_steps(setup):
    model, optimizer, trainer, logger = setup
    logger.attach_output_handler(trainer, Events.ITERATION_COMPLETED, tag="training",
                                 output_transform=lambda loss: {"loss": loss})
    logger.attach_output_handler(trainer, Events.EPOCH_COMPLETED, tag="epochs", state_attributes=["epoch"])
    logger.attach_opt_params_handler(trainer, Events.ITERATION_STARTED, optimizer=optimizer)
    logger.attach_opt_params_handler(trainer, Events.EPOCH_STARTED, optimizer=optimizer, param_name="momentum",
                                     tag="opt")
    trainer.run(DATA, max_epochs=2)
    logger.close()
    rows = metric_rows(logger.run)
    losses = [(s, v) for s, v in rows if "training/loss" in v]
    assert [s for s, _ in losses] == [1, 2, 3, 4, 5, 6]
    assert [s for s, v in rows if "lr/group_0" in v] == [1, 2, 3, 4, 5, 6]
    assert all(v["lr/group_0"] == 0.1 for s, v in rows if "lr/group_0" in v)
    assert [(s, v) for s, v in rows if "epochs/epoch" in v] == [(1, {"epochs/epoch": 1.0}), (2, {"epochs/epoch": 2.0})]
    assert [s for s, v in rows if "opt/momentum/group_0" in v] == [1, 2]


def test_one_handler_on_several_events_logs_each_at_its_own_counter(setup):
    model, optimizer, trainer, logger = setup
    out = OutputHandler("t", output_transform=lambda loss: {"loss": loss})
    logger.attach(trainer, out, Events.ITERATION_COMPLETED(every=2) | Events.EPOCH_COMPLETED)
    logger.attach(trainer, OptimizerParamsHandler(optimizer), Events.ITERATION_STARTED(once=4) | Events.EPOCH_STARTED)
    trainer.run(DATA, max_epochs=2)  # 3 iterations an epoch
    logger.close()
    steps = [s for s, v in metric_rows(logger.run) if "t/loss" in v]
    assert steps == [2, 1, 4, 6, 2]  # iteration 2, epoch 1, iterations 4 and 6, epoch 2: in the order logged
    assert [s for s, v in metric_rows(logger.run) if "lr/group_0" in v] == [1, 2, 4]
    with pytest.raises(RuntimeError, match="Unknown event name"):
        out(trainer, logger, "no such event")


def test_filtered_events_run_the_handler_when_ignite_would_and_can_be_removed(setup):
    model, optimizer, trainer, logger = setup
    out = OutputHandler("t", output_transform=lambda loss: {"loss": loss})
    logger.attach(trainer, out, Events.ITERATION_COMPLETED(every=2))
    handle = logger.attach(trainer, OutputHandler("five", output_transform=lambda loss: {"loss": loss}),
                           Events.ITERATION_COMPLETED(every=5))
    logger.attach(trainer, OutputHandler("e", output_transform=lambda loss: {"loss": loss}),
                  Events.EPOCH_COMPLETED(event_filter=lambda engine, epoch: epoch in (2, 3)))
    logger.attach_opt_params_handler(trainer, Events.ITERATION_STARTED(every=3), optimizer=optimizer)
    assert trainer.has_event_handler(out) and trainer.has_event_handler(out, Events.ITERATION_COMPLETED)
    trainer.run(DATA, max_epochs=2)
    handle.remove()
    trainer.run(DATA, max_epochs=4)  # epochs 3 and 4
    logger.close()
    rows = metric_rows(logger.run)
    assert [s for s, v in rows if "t/loss" in v] == [2, 4, 6, 8, 10, 12]
    assert [s for s, v in rows if "five/loss" in v] == [5]  # removed before iteration 10
    assert [s for s, v in rows if "e/loss" in v] == [2, 3]
    assert [s for s, v in rows if "lr/group_0" in v] == [3, 6, 9, 12]

    class Custom(EventEnum):
        STEP = "custom_step"

    with pytest.raises(RuntimeError, match="Unknown event name"):
        logger.attach(trainer, out, Custom.STEP(every=2))  # never registered


def test_a_disabled_run_computes_no_weights_or_histograms(rundir, monkeypatch):
    monkeypatch.setattr("runlog.ignite.snapshot", None)  # called: TypeError
    model = Tiny()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    trainer = make_trainer(model, optimizer)
    logger = RunLogLogger(project="t", dir=rundir, mode="disabled")
    reductions = []

    def norm(t):
        reductions.append(t)
        return 0.0

    logger.attach(trainer, GradsHistHandler(model), Events.ITERATION_COMPLETED(every=2))
    logger.attach(trainer, WeightsHistHandler(model), Events.EPOCH_COMPLETED)
    logger.attach(trainer, WeightsScalarHandler(model, reduction=norm), Events.ITERATION_COMPLETED)
    logger.attach(trainer, GradsScalarHandler(model, reduction=norm), Events.ITERATION_COMPLETED)
    reductions.clear()  # ignite tries the reduction once when the handler is made
    trainer.run(DATA, max_epochs=3)
    logger.close()
    assert reductions == [] and logger.run.step == 10  # the last iteration's step, 9, was logged
    assert not os.path.exists(os.path.join(rundir, logger.run.id))


def test_a_step_transform_set_after_the_handler_is_made_is_used(setup):
    model, optimizer, trainer, logger = setup
    out = OutputHandler("t", output_transform=lambda loss: {"loss": loss})
    logger.attach(trainer, out, Events.ITERATION_COMPLETED)
    trainer.add_event_handler(Events.ITERATION_COMPLETED(once=2),
                              lambda _: setattr(out, "global_step_transform", lambda e, _: 100 + e.state.iteration))
    trainer.run(DATA, max_epochs=1)
    logger.close()
    assert [s for s, v in metric_rows(logger.run) if "t/loss" in v] == [1, 2, 103]


def test_many_output_names_are_all_logged(setup):
    model, optimizer, trainer, logger = setup
    names = [f"m{i}" for i in range(5000)]  # more than the handler keeps keys made for
    out = OutputHandler("t", output_transform=lambda loss: {n: loss for n in names} | {"it": trainer.state.iteration})
    logger.attach(trainer, out, Events.ITERATION_COMPLETED)
    trainer.run(DATA, max_epochs=1)
    logger.close()
    rows = metric_rows(logger.run)
    assert [s for s, _ in rows] == [1, 2, 3]
    assert all(set(v) == {"t/" + n for n in names} | {"t/it"} and v["t/it"] == s for s, v in rows)


def test_evaluator_metrics_land_on_the_trainer_iteration_and_are_never_dropped(setup):
    model, optimizer, trainer, logger = setup
    evaluator = Engine(lambda e, b: None)

    @evaluator.on(Events.COMPLETED)
    def fake_metrics(engine):
        engine.state.metrics = {"accuracy": 0.5 + trainer.state.epoch / 10, "cm": torch.tensor([1.0, 2.0])}

    logger.attach_output_handler(trainer, Events.ITERATION_COMPLETED, tag="training",
                                 output_transform=lambda loss: {"loss": loss})
    logger.attach_output_handler(evaluator, Events.COMPLETED, tag="validation", metric_names="all",
                                 global_step_transform=lambda *_: trainer.state.iteration)
    trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda _: evaluator.run([0]))
    trainer.add_event_handler(Events.EPOCH_COMPLETED(once=1), lambda _: logger.log({"late": 1.0}, step=0))
    trainer.run(DATA, max_epochs=2)
    logger.close()
    rows = metric_rows(logger.run)
    val = [(s, v) for s, v in rows if "validation/accuracy" in v]
    assert val == [(3, {"validation/accuracy": 0.6, "validation/cm/0": 1.0, "validation/cm/1": 2.0}),
                   (6, {"validation/accuracy": 0.7, "validation/cm/0": 1.0, "validation/cm/1": 2.0})]
    assert (0, {"late": 1.0}) in rows  # a step lower than the current one is kept


def test_weights_and_grads_handlers_use_ignite_names_and_whitelist(setup):
    model, optimizer, trainer, logger = setup
    logger.attach(trainer, WeightsScalarHandler(model), Events.ITERATION_COMPLETED)
    logger.attach(trainer, GradsScalarHandler(model, whitelist=["out"]), Events.ITERATION_COMPLETED)
    logger.attach(trainer, WeightsHistHandler(model, tag="m", whitelist=lambda n, p: n.endswith("weight")),
                  Events.EPOCH_COMPLETED)
    logger.attach(trainer, GradsHistHandler(model, whitelist=["fc"]), Events.EPOCH_COMPLETED)
    trainer.run(DATA, max_epochs=1)
    logger.close()
    rows = metric_rows(logger.run)
    assert set(rows[0][1]) == {"weights_norm/fc/weight", "weights_norm/fc/bias", "weights_norm/out/weight",
                               "weights_norm/out/bias"}
    assert rows[0][1]["weights_norm/fc/weight"] == pytest.approx(float(torch.norm(model.fc.weight.data)), rel=0.5)
    assert set(rows[1][1]) == {"grads_norm/out/weight", "grads_norm/out/bias"} and rows[1][0] == 1
    hists = [(j["key"], j["step"]) for j in lines(logger.run) if j["kind"] == "histogram"]
    assert sorted(hists) == [("grads/fc/bias", 1), ("grads/fc/weight", 1), ("m/weights/fc/weight", 1),
                             ("m/weights/out/weight", 1)]


@pytest.mark.parametrize("output", [
    {"loss": 0.25, "n": 3}, 0.5, 7, {"loss": torch.tensor(0.5)}, torch.tensor(1.5), {"a": {"b": 1.0, "c": 2}},
    {"ok": True}, {"text": "hello", "x": 1.0}, {"v": torch.tensor([1.0, 2.0])}, [1.0, 2.0], None])
def test_output_handler_gives_what_ignite_flattening_gives_and_transforms_once(setup, output):
    _, _, trainer, logger = setup
    calls = []

    def transform(out):
        calls.append(out)
        return output

    trainer.state.output = "engine output"
    handler = OutputHandler("training", output_transform=transform)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ignite warns of values it cannot log; both sides do
        expected = OutputHandler("training", output_transform=lambda _: output)._setup_output_metrics_state_attrs(
            trainer, log_text=True, key_tuple=False)
        got = handler._output_metrics(trainer, transform)
    assert got == expected and list(got) == list(expected)
    assert calls == ["engine output"]
    assert handler.output_transform is transform


def test_optimizer_params_handler_follows_added_groups(setup):
    model, optimizer, trainer, logger = setup
    logger.attach_opt_params_handler(trainer, Events.ITERATION_STARTED, optimizer=optimizer)
    extra = torch.nn.Parameter(torch.zeros(1))
    trainer.add_event_handler(Events.ITERATION_COMPLETED(once=2),
                              lambda _: optimizer.add_param_group({"params": [extra], "lr": 0.5}))
    trainer.run(DATA, max_epochs=1)
    logger.close()
    rows = [(s, v) for s, v in metric_rows(logger.run) if any(k.startswith("lr/") for k in v)]
    assert rows == [(1, {"lr/group_0": 0.1}), (2, {"lr/group_0": 0.1}), (3, {"lr/group_0": 0.1, "lr/group_1": 0.5})]


def test_handlers_refuse_other_loggers_and_bad_steps(setup):
    model, optimizer, trainer, logger = setup
    handler = OutputHandler("t", output_transform=lambda x: x)
    with pytest.raises(RuntimeError, match="works only with RunLogLogger"):
        handler(trainer, object(), Events.ITERATION_COMPLETED)
    with pytest.raises(RuntimeError, match="works only with RunLogLogger"):
        OptimizerParamsHandler(optimizer)(trainer, object(), Events.ITERATION_COMPLETED)
    bad = OutputHandler("t", output_transform=lambda x: x, global_step_transform=lambda *_: 1.5)
    trainer.state.output = 1.0
    with pytest.raises(TypeError, match="global_step must be int"):
        bad(trainer, logger, Events.ITERATION_COMPLETED)


def test_checkpoint_with_runlog_saver_records_best_and_removes_old_files(setup):
    model, optimizer, trainer, logger = setup
    scores = iter([0.3, 0.9, 0.5, 0.95])
    ckpt = Checkpoint({"model": model}, RunLogSaver(logger), n_saved=2, filename_prefix="best",
                      score_function=lambda e: next(scores), score_name="acc")
    logger.attach_output_handler(trainer, Events.ITERATION_COMPLETED, tag="training",
                                 output_transform=lambda loss: {"loss": loss})
    trainer.add_event_handler(Events.EPOCH_COMPLETED, ckpt)
    trainer.run(DATA, max_epochs=4)
    logger.close()
    cks = [j for j in lines(logger.run) if j["kind"] == "checkpoint"]
    assert [c["step"] for c in cks] == [3, 6, 9, 12]
    assert [c["aliases"] for c in cks] == [["best", "latest"], ["best", "latest"], ["latest"], ["best", "latest"]]
    assert cks[1]["metadata"]["score_name"] == "acc" and cks[1]["metadata"]["priority"] == 0.9
    folder = os.path.join(logger.run.dir, "checkpoints", "best_model")
    kept = sorted(os.listdir(folder))
    assert kept == sorted(os.path.basename(c["path"]) for c in cks[1::2])  # n_saved=2: the two best
    saver = ckpt.save_handler
    assert saver.path(ckpt.last_checkpoint) == os.path.join(logger.run.dir, cks[3]["path"])
    assert saver.path(cks[0]["metadata"]["filename"]) is None  # removed by Checkpoint
    removed = [j["path"] for j in lines(logger.run) if j["kind"] == "checkpoint_removed"]
    assert removed == [cks[0]["path"], cks[2]["path"]]  # each removal recorded, in order
    assert saver.path(cks[1]["metadata"]["filename"]) == os.path.join(logger.run.dir, cks[1]["path"])
    state = torch.load(saver.path(ckpt.last_checkpoint))
    assert set(state) == {"fc.weight", "fc.bias", "out.weight", "out.bias"}


def test_saver_needs_a_runlog_logger():
    with pytest.raises(TypeError, match="RunLogSaver needs"):
        RunLogSaver(object())


def test_watch_logs_gradient_histograms_at_the_step_the_loss_gets(setup):
    model, optimizer, trainer, logger = setup
    logger.watch(model, log="all", log_freq=2)
    for i in range(4):
        optimizer.zero_grad()
        model(torch.ones(2, 3)).sum().backward()
        logger.log({"loss": float(i)})
    logger.close()
    hists = [(j["key"], j["step"]) for j in lines(logger.run) if j["kind"] == "histogram"]
    assert sorted(set(hists)) == sorted((f"{kind}/{n}", s) for kind in ("gradients", "parameters")
                                        for n in ("fc.weight", "fc.bias", "out.weight", "out.bias") for s in (1, 3))
    assert [s for s, _ in metric_rows(logger.run)] == [0, 1, 2, 3]


def test_example_trains_on_digits_and_logs_what_the_wandb_example_logs(rundir):
    spec = importlib.util.spec_from_file_location("ignite_digits", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    run = example.run(epochs=1, max_iters=6, log_interval=2, dir=rundir, run_id="digits", progress=False)
    js = lines(run)
    assert js[1]["project"] == "ignite-digits" and js[1]["tags"] == ["pytorch-ignite", "digits"]
    assert js[2] == {"kind": "config", "values": {"train_batch_size": 64, "val_batch_size": 256, "epochs": 1,
                                                  "lr": 0.05, "momentum": 0.9}}
    rows = [(j["step"], j["values"]) for j in js if j["kind"] == "metrics"]
    assert [s for s, v in rows if "training/batchloss" in v] == [1, 2, 3, 4, 5, 6]
    assert [s for s, v in rows if "lr/group_0" in v] == [1, 2, 3, 4, 5, 6]
    assert [s for s, v in rows if "validation/accuracy" in v] == [6]
    assert [s for s, v in rows if "training/accuracy" in v] == [6]
    grads = {j["key"] for j in js if j["kind"] == "histogram"}
    assert "gradients/conv1.weight" in grads and "gradients/fc2.bias" in grads
    (ck,) = [j for j in js if j["kind"] == "checkpoint"]
    assert ck["aliases"] == ["best", "latest"] and os.path.exists(os.path.join(run.dir, ck["path"]))
    assert js[-1]["kind"] == "run_end" and js[-1]["status"] == "finished"
