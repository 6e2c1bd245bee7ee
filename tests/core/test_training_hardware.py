"""Trainer hardware comes from ``runtime.trainer``: CPU by default, a GPU when the profile names one."""

import pytest

from components.core.execution import run_batch, set_runtime
from components.core.params import RuntimeParams, TrainerParams
from components.core.training import make_trainer


@pytest.fixture(autouse=True)
def reset_runtime():
    yield
    set_runtime(None)


def _fit(trainer):
    import torch
    import pytorch_lightning as pl

    class Tiny(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(2, 1)

        def training_step(self, batch, _):
            x, y = batch
            return torch.nn.functional.mse_loss(self.lin(x), y)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    x = torch.randn(64, 2)
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True)), batch_size=16)
    model = Tiny()
    trainer.fit(model, data)
    return model


def test_cpu_is_the_default():
    trainer = make_trainer(1, progress=False)
    assert type(trainer.accelerator).__name__ == "CPUAccelerator"
    assert trainer.precision == "32-true"


def test_settings_travel_with_each_batch_to_the_worker():
    settings = RuntimeParams(trainer=TrainerParams(accelerator="cpu", precision="bf16-mixed"))
    assert run_batch(_precision_of_trainers, settings)([1, 2]) == ["bf16-mixed", "bf16-mixed"]


def _precision_of_trainers(items):
    return [make_trainer(1, progress=False).precision for _ in items]


def test_a_gpu_named_in_params_is_used_when_present():
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no GPU on this machine (the same code runs on one: runtime.trainer.accelerator=gpu)")
    set_runtime(RuntimeParams(trainer=TrainerParams(accelerator="gpu", devices=1)))
    model = _fit(make_trainer(2, progress=False))
    assert next(model.parameters()).device.type == "cuda"
