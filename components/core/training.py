"""The one Lightning trainer factory: hardware from ``runtime.trainer`` (CPU by default), one thread,
deterministic, logging into our MLflow run."""

from __future__ import annotations

import logging
import sys
import warnings

from components.core.tracking import TrackedRun


def make_trainer(max_epochs: int, run: TrackedRun | None = None, progress: bool | None = None, **kwargs):
    """A ``pytorch_lightning.Trainer`` for small models on a shared 2-core box.

    Accelerator, devices and precision come from ``runtime.trainer`` (set for each step and batch by
    the pipeline runner), so the paper profile can train on a GPU with the same code. One intra-op
    thread (two make small ops 10–150× slower here); ``MLFlowLogger`` bound to ``run`` by id so
    metrics land in the pipeline's nested run; the progress bar only on a TTY.
    """
    import torch

    from components.core.execution import current_runtime, threads

    torch.set_num_threads(threads())
    hw = current_runtime().trainer
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pytorch_lightning as pl
    for name in ("pytorch_lightning", "lightning_fabric", "lightning.pytorch"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="pytorch_lightning")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")

    logger = False
    if run is not None:
        from pytorch_lightning.loggers import MLFlowLogger

        logger = MLFlowLogger(tracking_uri=run.uri, run_id=run.run_id)
    if progress is None:
        progress = sys.stderr.isatty()
    return pl.Trainer(accelerator=hw.accelerator, devices=hw.devices, precision=hw.precision,
                      deterministic=True, max_epochs=max_epochs, logger=logger, enable_progress_bar=progress, enable_model_summary=False,
                      enable_checkpointing=False, num_sanity_val_steps=0, **kwargs)
