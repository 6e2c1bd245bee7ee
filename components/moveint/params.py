"""Typed params of the ``moveint`` block of params.yaml (unknown keys are errors)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from components.core.params import StrictModel

Action = Literal["waving", "handshake", "rocket_fistbump", "parachute_fistbump"]
ModelId = Literal["moveint_k3", "moveint_k3_noreg", "moveint_k1", "mild_like", "recurrent_lstm",
                  "recurrent_lstm_label"]
Pair = tuple[float, float]


class SyntheticParams(StrictModel):
    """The synthetic HRI generator of spec §4.1 (every knob; defaults are the spec's)."""

    actions: list[Action] = Field(["waving", "handshake", "rocket_fistbump", "parachute_fistbump"], min_length=1)
    demos_per_action: int = Field(ge=3, description="demonstrations per action (train + test)")
    test_per_action: int = Field(ge=1, description="held-out demos per action")
    fps: int = Field(20, ge=5)
    base_duration_s: float = Field(gt=0, description="nominal demo length; T ≈ base_duration_s · fps")
    time_scale: Pair = (0.8, 1.2)
    phase_fractions: tuple[float, float, float] = (0.35, 0.35, 0.30)
    phase_jitter: float = Field(0.05, ge=0, lt=0.15)
    agent_distance_m: Pair = (0.75, 0.85)
    upper_arm_m: float = Field(0.32, gt=0)
    forearm_m: float = Field(0.30, gt=0)
    rest_wrist_offset: tuple[float, float, float] = (0.05, 0.0, -0.55)
    meet_height_m: dict[str, float] = {"handshake": 1.10, "rocket_fistbump": 1.00, "parachute_fistbump": 1.30}
    meet_jitter_m: float = Field(0.03, ge=0)
    wave_amplitude_m: float = 0.15
    wave_freq_hz: Pair = (1.0, 1.5)
    wave_wrist_offset: tuple[float, float, float] = (0.15, 0.0, 0.35)
    handshake_amp_m: float = 0.03
    handshake_freq_hz: float = 2.0
    rocket_rise_m: float = 0.25
    parachute_descend_m: float = 0.25
    parachute_amp_m: float = 0.10
    parachute_freq_hz: float = 1.0
    robot_lag_frames: tuple[int, int] = (2, 4)
    waving_lag_frames: tuple[int, int] = (3, 5)
    noise_std_m: float = Field(0.005, ge=0)
    robot_space: Literal["cartesian", "pepper4"] = "cartesian"

    @model_validator(mode="after")
    def _sizes(self) -> "SyntheticParams":
        if self.test_per_action >= self.demos_per_action:
            raise ValueError("test_per_action must be smaller than demos_per_action")
        if self.base_duration_s * self.fps * self.time_scale[0] < 12:
            raise ValueError("base_duration_s · fps · time_scale[0] must give ≥ 12 frames (two 5-frame windows)")
        return self


class DataParams(StrictModel):
    source: Literal["synthetic", "real"] = "synthetic"
    synthetic: SyntheticParams
    val_per_action: int = Field(ge=0, description="validation demos split off the training demos per action "
                                                  "(monitoring only; the final epoch is evaluated)")


class PaperParams(StrictModel):
    data_dir: str | None = Field(None, description="folder with phd_utils data_preproc/ files (real data only)")
    dataset: Literal["buetepage_hh", "nuisi_hh"] = "buetepage_hh"


class ModelParams(StrictModel):
    """MoVEInt (spec §3); defaults from moveint/utils.py."""

    K: int = Field(3, ge=1)
    Z: int = Field(5, ge=1)
    hidden: tuple[int, int] = (40, 20)
    beta: float = Field(1e-3, ge=0)
    eps: float = Field(1e-6, gt=0)
    samples: int = Field(ge=1, description="reparameterised samples S per window from q and p_h")
    prior_std: Literal["code", "moment_matched"] = "code"
    smoothness_axis: Literal["components", "latent"] = "components"
    leaky_output: bool = Field(True, description="code quirk: LeakyReLU on decoder output and on the means")


class TrainParams(StrictModel):
    models: list[ModelId] = Field(min_length=1)
    seeds: int = Field(ge=1, description="training seeds per model")
    epochs: int = Field(ge=1, description="epochs of every MoVEInt variant and of the baselines")
    traj_per_batch: int = Field(ge=1, description="trajectories per optimizer step (padded, masked)")
    lr: float = Field(5e-4, gt=0)
    standardise: bool = Field(False, description="z-score human inputs and robot targets with the fit split's "
                                                 "statistics for every learned model (errors in raw units)")
    weight_decay: float = Field(0.01, ge=0)
    log_every: int = Field(10, ge=1, description="epochs between train/val metric logs")


class MildParams(StrictModel):
    """MILD-like baseline (spec §5): VAE with N(0, I) prior, then per-action HMMs on [z_h, z_r] + GMR."""

    variant: Literal["simple"] = "simple"
    latent_model: Literal["hmm", "gmm"] = "hmm"
    states: int = Field(6, ge=1)
    cov_reg: float = Field(5e-3, gt=0)
    beta: float = Field(5e-3, ge=0)
    em_iters: int = Field(30, ge=1)
    batch_windows: int = Field(256, ge=1, description="windows per VAE optimizer step")


class LstmParams(StrictModel):
    hidden: int = Field(42, ge=1)


class BaselineParams(StrictModel):
    mild: MildParams = MildParams()
    lstm: LstmParams = LstmParams()
    knn_k: int = Field(5, ge=1)


class MoveintParams(StrictModel):
    seed: int = 0
    data: DataParams
    paper: PaperParams = PaperParams()
    model: ModelParams
    train: TrainParams
    baselines: BaselineParams = BaselineParams()
