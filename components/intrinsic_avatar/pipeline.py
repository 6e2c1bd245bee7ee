"""The ``intrinsic_avatar`` pipeline, declared once: each step with what it reads, writes and is parameterised by."""

from components.core.pipeline import Pipeline, Plot, Step
from components.intrinsic_avatar import steps
from components.intrinsic_avatar.params import IntrinsicAvatarParams

prepare = Step(
    steps.prepare,
    writes={"prepared": "data/prepared"},
    params=("seed", "data", "paper"),
)
train = Step(
    steps.train,
    reads={"prepared": "data/prepared"},
    writes={"models": "data/models"},
    params=("seed", "data", "model", "train"),
)
evaluate = Step(
    steps.evaluate,
    reads={"prepared": "data/prepared", "models": "data/models"},
    writes={"eval": "data/eval"},
    params=("seed", "data", "model", "train", "evaluate"),
)
report = Step.report(
    steps.report,
    reads={"prepared": "data/prepared", "models": "data/models", "eval": "data/eval"},
    params=("seed", "gate"),
    plots=(Plot("albedo_psnr_by_variant", x="albedo_psnr", y="variant", template="bar_horizontal",
                title="intrinsic_avatar: albedo PSNR after scale alignment, per variant (A ray-traced visibility, "
                      "B none, C learned)",
                x_label="albedo PSNR (dB)", y_label="variant"),),
)

PIPELINE = Pipeline(
    slug="intrinsic_avatar",
    title="IntrinsicAvatar: physically based inverse rendering of dynamic humans via explicit ray tracing "
          "(Wang, Antić, Geiger & Tang, CVPR 2024)",
    params_model=IntrinsicAvatarParams,
    steps=(prepare, train, evaluate, report),
)
