"""Typed params of the ``intrinsic_avatar`` block of params.yaml (unknown keys are errors); ``smoke`` and
``paper`` sizes are overlays in ``profiles/<profile>.yaml``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from components.core.params import StrictModel

Vec3 = tuple[float, float, float]
VARIANTS = ("A", "B", "C")


class Capsule(StrictModel):
    a: Vec3 = (0.0, -0.5, 0.0)
    b: Vec3 = (0.0, 0.3, 0.0)
    radius: float = Field(0.25, gt=0)


class UpperArm(StrictModel):
    shoulder: Vec3 = (0.30, 0.25, 0.0)
    length: float = Field(0.40, gt=0)
    radius: float = Field(0.11, gt=0)


class Forearm(StrictModel):
    length: float = Field(0.35, gt=0)
    radius: float = Field(0.10, gt=0)


class Head(StrictModel):
    enabled: bool = True
    radius: float = Field(0.14, gt=0)


class Appearance(StrictModel):
    torso_base: Vec3 = (0.65, 0.25, 0.20)
    torso_stripe: Vec3 = (0.20, 0.35, 0.70)
    stripe_freq: float = Field(3.0, gt=0)
    arm: Vec3 = (0.70, 0.60, 0.45)
    head: Vec3 = (0.60, 0.45, 0.35)
    rough_torso: float = Field(0.6, ge=0.09, le=0.99)
    rough_arm: float = Field(0.35, ge=0.09, le=0.99)
    rough_head: float = Field(0.5, ge=0.09, le=0.99)

    @model_validator(mode="after")
    def _range(self) -> "Appearance":
        for name in ("torso_base", "torso_stripe", "arm", "head"):
            if not all(0.03 <= v <= 0.80 for v in getattr(self, name)):
                raise ValueError(f"{name} albedo must lie in [0.03, 0.80] (the model's albedo range)")
        return self


class Light(StrictModel):
    zenith: Vec3 = (0.25, 0.35, 0.60)
    horizon: Vec3 = (0.50, 0.50, 0.50)
    ground: float = Field(0.10, ge=0)
    sun_elev: float = Field(40.0, ge=0, le=90)
    sun_az: float | None = Field(None, description="null = first of a 16-step grid whose arm shadow falls on the "
                                                   "torso in ≥ sun_az_frames of the train frames (spec 4.1)")
    sun_az_frames: float = Field(0.6, ge=0, le=1)
    kappa: float = Field(60.0, gt=0)
    sun_share: float = Field(0.7, gt=0, lt=1)
    irradiance: float = Field(2.0, gt=0, description="exposure: irradiance (luminance) on an upward normal")


class Relight(StrictModel):
    sun_rotate: float = 120.0
    sun_elev: float = Field(25.0, ge=0, le=90)
    zenith: Vec3 = (0.60, 0.45, 0.35)
    horizon: Vec3 = (0.60, 0.45, 0.35)
    ground: float = Field(0.10, ge=0)
    sun_share: float = Field(0.6, gt=0, lt=1)
    irradiance: float = Field(2.0, gt=0)


class DataParams(StrictModel):
    source: Literal["toy", "peoplesnapshot", "rana"] = "toy"
    torso: Capsule = Field(default_factory=Capsule)
    upper_arm: UpperArm = Field(default_factory=UpperArm)
    forearm: Forearm = Field(default_factory=Forearm)
    head: Head = Field(default_factory=Head)
    n_arms: Literal[1] = Field(1, description="1 arm (2 = symmetric stick figure is not implemented)")
    smooth_union_k: float = Field(0.02, ge=0)
    appearance: Appearance = Field(default_factory=Appearance)
    n_train_frames: int = Field(24, ge=2)
    n_test_poses: int = Field(8, ge=2)
    theta1_train: tuple[float, float] = (0.0, 70.0)
    theta2_train: tuple[float, float] = (0.0, 60.0)
    theta1_test: tuple[float, float] = (75.0, 110.0)
    theta2_test: tuple[float, float] = (65.0, 100.0)
    cam_az: tuple[float, float] = (-30.0, 30.0)
    cam_elev: float = 10.0
    cam_dist: float = Field(3.0, gt=1.5)
    fov: float = Field(35.0, gt=5, lt=120)
    image_size: int = Field(32, ge=8, le=512)
    ssaa: int = Field(2, ge=1, le=4)
    env_h: int = Field(16, ge=4)
    env_w: int = Field(32, ge=8)
    light: Light = Field(default_factory=Light)
    relight: Relight = Field(default_factory=Relight)
    shadow_thresh: float = Field(0.3, gt=0, lt=1)
    gt_trace_steps: int = Field(96, ge=16)
    min_shadow_fraction: float = Field(0.10, ge=0, le=1, description="GX: mean shadowed fraction of train frames")
    pose_noise_deg: float = Field(0.0, ge=0, description="optional separate experiment: noise on the poses given "
                                                         "to the model (0 = exact toy poses)")

    @model_validator(mode="after")
    def _ranges(self) -> "DataParams":
        if self.env_w != 2 * self.env_h:
            raise ValueError(f"env_w must be 2·env_h (equirect), got {self.env_h}×{self.env_w}")
        if self.theta1_test[0] <= self.theta1_train[1] or self.theta2_test[0] <= self.theta2_train[1]:
            raise ValueError("test pose ranges (theta1_test, theta2_test) must start above the train ranges")
        return self


class PaperData(StrictModel):
    smpl_dir: str | None = None
    data_dir: str | None = None
    hdri_dir: str | None = None
    subject: str = "male-3-casual"


class ModelParams(StrictModel):
    sdf_grid: int = Field(40, ge=8, le=256)
    sdf_levels: list[int] = Field(default_factory=list, description="coarse SDF levels added to the sdf_grid level "
                                  "(multi-resolution); each r needs (sdf_grid − 1) divisible by (r − 1)")
    sdf_init: Literal["sphere", "skeleton"] = Field("sphere", description="sphere r = 0.5 (repository) or capsules "
                                                    "of skeleton_radius around the bone segments")
    skeleton_radius: float = Field(0.12, gt=0)
    feat_grid: int = Field(24, ge=4, le=256)
    feat_dim: int = Field(8, ge=1)
    hidden: int = Field(32, ge=4)
    layers: int = Field(2, ge=1)
    vis_hidden: int = Field(64, ge=4)
    vis_layers: int = Field(3, ge=1)
    beta_init: float = Field(0.1, gt=0)
    light_init: float = Field(0.5, gt=0)
    d_max: float = Field(0.5, gt=0, description="posed SDF where no bone is consistent (empty space)")

    @model_validator(mode="after")
    def _levels(self) -> "ModelParams":
        for r in self.sdf_levels:
            if r < 2 or r >= self.sdf_grid or (self.sdf_grid - 1) % (r - 1):
                raise ValueError(f"sdf_levels: {r} must lie in [2, sdf_grid) with (sdf_grid − 1) = {self.sdf_grid - 1} "
                                 f"divisible by ({r} − 1) (nested levels)")
        return self


class TrainParams(StrictModel):
    variants: list[Literal["A", "B", "C", "D"]] = Field(default_factory=lambda: ["A", "B", "C"], min_length=1)
    seeds: int = Field(1, ge=1)
    phase1_steps: int = Field(800, ge=1)
    phase2_steps: int = Field(1200, ge=1)
    rays: int = Field(256, ge=8)
    n_primary: int = Field(48, ge=4)
    n_interact: int = Field(8, ge=1)
    dirs_per_point: int = Field(1, ge=1)
    n_secondary: int = Field(16, ge=2)
    t_min: float = Field(0.02, ge=0)
    t_max: float = Field(1.5, gt=0)
    sampler: Literal["uniform", "cosine", "env", "mixture"] = "mixture"
    lr: float = Field(1e-3, gt=0)
    lr_grid: float = Field(5e-3, gt=0)
    warmup: int = Field(100, ge=0)
    w_rf: float = 1.0
    w_pbr: float = 0.2
    w_mask: float = 0.1
    w_eik: float = 0.1
    w_curv: float = Field(0.0, ge=0, description="mean |Laplacian| of the SDF grid (the repository's curvature term, "
                          "here on the whole grid)")
    w_eik_grid: float = Field(0.0, ge=0, description="Eikonal on every voxel of the SDF grid (finite differences)")
    w_smooth: float = 0.01
    w_vis: float = 0.1
    smooth_sigma: float = Field(0.01, gt=0)
    edge_sampler: tuple[float, float, float] = (0.6, 0.3, 0.1)
    log_every: int = Field(20, ge=1)
    gi: bool = Field(False, description="indirect light from the radiance field (off: the toy GT has no bounce)")

    @model_validator(mode="after")
    def _ok(self) -> "TrainParams":
        if self.t_max <= self.t_min:
            raise ValueError("t_max must exceed t_min")
        if abs(sum(self.edge_sampler) - 1) > 1e-6 or min(self.edge_sampler) < 0:
            raise ValueError("edge_sampler fractions (inside, edge, uniform) must be ≥ 0 and sum to 1")
        if len(set(self.variants)) != len(self.variants):
            raise ValueError(f"duplicate variants in {self.variants}")
        if self.gi:
            raise ValueError("gi: indirect illumination is not implemented in the miniature (toy GT has no bounce)")
        return self


class EvalParams(StrictModel):
    s_test: int = Field(4, ge=1)
    dirs_test: int = Field(16, ge=1)
    probes: int = Field(2000, ge=10)
    bootstrap: int = Field(1000, ge=50)


class GateParams(StrictModel):
    recon_psnr: float = 22.0
    mask_iou: float = 0.90
    normal_deg: float = 20.0


class IntrinsicAvatarParams(StrictModel):
    seed: int = 0
    data: DataParams = Field(default_factory=DataParams)
    paper: PaperData = Field(default_factory=PaperData)
    model: ModelParams = Field(default_factory=ModelParams)
    train: TrainParams = Field(default_factory=TrainParams)
    evaluate: EvalParams = Field(default_factory=EvalParams)
    gate: GateParams = Field(default_factory=GateParams)
