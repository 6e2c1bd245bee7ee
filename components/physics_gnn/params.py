"""Typed params of the ``physics_gnn`` block of params.yaml (unknown keys are errors; spec §4–§6)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.core.params import StrictModel

ModelName = Literal["FGNN", "GNODE", "CGNODE", "FGNODE", "CFGNODE", "LGN", "CLGN", "LGNN", "CLGNN",
                    "HGN", "CHGN", "HGNN", "CHGNN", "NODE", "HNN", "LNN"]  # last three: Fig. 1's non-graph MLPs
CONSTRAINED = ("CGNODE", "CFGNODE", "CLGN", "CLGNN", "CHGN", "CHGNN")


def _check_rollout_dt(stored: float, rollout_dt: float) -> None:
    k = round(stored / rollout_dt)
    if k < 1 or abs(k * rollout_dt - stored) > 1e-9 * stored:
        raise ValueError(f"rollout_dt {rollout_dt} must divide the stored interval {stored:g}")


class SpringParams(StrictModel):
    n_nodes_train: int = Field(5, ge=2, description="springs (nodes) of the training ring")
    potential: Literal["code_quirk", "hookean"] = Field(
        "code_quirk", description="code_quirk: V = Σ (d² − 1)² (official data); hookean: Σ ½(d − 1)²")
    init_box: float = Field(2.0, gt=0, description="r ~ U[0, box)^2 for every N (as in the code)")
    v_max: float = Field(0.1, ge=0, description="v ~ U[0, v_max) minus its mean")
    dt: float = Field(1e-3, gt=0, description="velocity-Verlet step of the ground truth")
    stride: int = Field(100, ge=1, description="integrator steps per stored state")
    n_states: int = Field(100, ge=3, description="stored states per trajectory")
    n_train_traj: int = Field(24, ge=1)
    n_test_traj: int = Field(10, ge=1, description="fresh rollout ICs at the training N")
    n_test_traj_zero_shot: int = Field(5, ge=1, description="fresh rollout ICs per zero-shot N")
    zero_shot_N: list[int] = Field(default_factory=lambda: [20, 50])
    models: list[ModelName] = Field(min_length=1, description="models trained on this system")
    rollout_dt: float = Field(0.01, gt=0, description="learned-model integration step (divides dt·stride)")

    @field_validator("models")
    @classmethod
    def _unconstrained_only(cls, value: list[str]) -> list[str]:
        bad = [m for m in value if m in CONSTRAINED]
        if bad:
            raise ValueError(f"explicit-constraint models apply to the pendulum only, got {bad}")
        return value

    @model_validator(mode="after")
    def _rollout_dt_divides(self):
        _check_rollout_dt(self.dt * self.stride, self.rollout_dt)
        return self


class PendulumParams(StrictModel):
    n_links_train: int = Field(3, ge=1)
    g: float = Field(10.0, gt=0)
    l: float = Field(1.0, gt=0)
    m: float = Field(1.0, gt=0)
    method: Literal["generalized", "cartesian_constrained"] = Field(
        "generalized", description="angle-coordinate RK4 (exact constraints) or the code's Cartesian route")
    dt_gt: float = Field(1e-4, gt=0, description="ground-truth integrator step")
    store_dt: float = Field(0.01, gt=0, description="time between stored states")
    n_states: int = Field(100, ge=3)
    n_train_traj: int = Field(24, ge=1)
    n_test_traj: int = Field(10, ge=1)
    n_test_traj_zero_shot: int = Field(5, ge=1)
    zero_shot_N: list[int] = Field(default_factory=lambda: [4, 5, 10])
    models: list[ModelName] = Field(min_length=1)
    rollout_dt: float = Field(1e-3, gt=0)

    @model_validator(mode="after")
    def _rollout_dt_divides(self):
        _check_rollout_dt(self.store_dt, self.rollout_dt)
        if abs(round(self.store_dt / self.dt_gt) * self.dt_gt - self.store_dt) > 1e-9 * self.store_dt:
            raise ValueError(f"dt_gt {self.dt_gt} must divide store_dt {self.store_dt}")
        return self


class NbodyParams(StrictModel):
    enabled: bool = Field(False, description="4-body gravity (paper profile)")
    dt: float = Field(1e-3, gt=0)
    stride: int = Field(100, ge=1)
    n_states: int = Field(10000, ge=3, description="one long trajectory")
    models: list[ModelName] = Field(default_factory=lambda: ["LGNN", "HGNN", "GNODE", "FGNN"])
    rollout_dt: float = Field(0.01, gt=0)


class GnodeArch(StrictModel):
    """Architecture A as the graph NODEs (GNODE, CGNODE) use it on one system — the code's own knobs
    (``hidden``, ``mpass``, its GNODE variant's position–velocity node embedding, the edge inputs); the
    energy models of architecture A keep ``hidden_decoupled`` and one message-passing step."""
    hidden: int | None = Field(None, ge=1, description="MLP width (None: hidden_decoupled)")
    mpass: int = Field(1, ge=1, description="message-passing rounds, shared weights (the code's mpass)")
    node_state: bool = Field(False, description="append (r_i, v_i) to the node embedding before message passing")
    edge_features: list[Literal["displacement", "distance", "velocity"]] | None = Field(
        None, min_length=1, description="edge inputs (None: the code's — displacement on springs and gravity, "
        "distance on the pendulum); velocity = v_j − v_i")


class ModelParams(StrictModel):
    init: Literal["normal", "torch", "lecun"] = Field(
        "torch", description="normal: the code's N(0,1) weights/biases; torch: PyTorch's default init; "
        "lecun: N(0, 1/fan_in) weights and zero biases (variance-preserving through deep compositions)")
    hidden_decoupled: int = Field(5, ge=1, description="width of architecture A (LGNN/HGNN/GNODE family)")
    hidden_full: int = Field(16, ge=1, description="width of architecture B (full graph network family)")
    embed_full: int = Field(8, ge=1)
    gnode: dict[Literal["spring", "pendulum", "nbody"], GnodeArch] = Field(
        default_factory=dict, description="GNODE/CGNODE architecture per system (absent: the code's)")


class TrainParams(StrictModel):
    seeds: list[int] = Field(min_length=1, description="training seeds per (system, model)")
    lr: float = Field(1e-3, gt=0)
    batch_size: int = Field(256, ge=1)
    epochs: int = Field(200, ge=1, description="step cap, in epochs of the training split: training stops at "
                        "the fit criterion or here, the same rule for every model")
    fit_nmse: float = Field(0.05, gt=0, lt=1, description="pre-registered fit criterion: validation MSE of every "
                            "target block ≤ this fraction of its variance (R² ≥ 0.95); checked every check_every steps")
    check_every: int = Field(25, ge=1, description="optimizer steps between fit checks on the validation split")
    max_train_seconds: float | None = Field(None, gt=0, description="ignored: budgets are by steps, never seconds "
                                            "(issue 14); accepted so older overlays still validate")
    split: float = Field(0.75, gt=0, lt=1, description="train fraction of the by-state split")
    grad_clip: float = Field(1000.0, gt=0, description="element-wise gradient clip (code)")
    standardise_targets: bool = Field(True, description="loss on each target block divided by its training "
                                      "variance, model outputs scaled by its std (issue 14); false: the code's "
                                      "plain MSE on raw targets")
    lr_schedule: Literal["constant", "cosine"] = Field("cosine", description="cosine: decay to lr/100 over "
                                                       "the step cap; constant: the code's fixed lr")


class NoiseParams(StrictModel):
    per_snapshot_offset_std: float = Field(0.0, ge=0, description="code's noisy-data variant (off)")


class EvaluateParams(StrictModel):
    ham_method: Literal["rk4"] = Field("rk4", description="Hamiltonian rollout integrator")


class PaperData(StrictModel):
    data_dir: str | None = Field(None, description="reserved for the peridynamics files (external Julia "
                                 "simulation, not generated offline): the 3D deformable solid is not wired")


class PhysicsGnnParams(StrictModel):
    seed: int = 0
    systems: list[Literal["spring", "pendulum", "nbody"]] = Field(min_length=1)
    spring: SpringParams
    pendulum: PendulumParams
    nbody: NbodyParams = NbodyParams()
    model: ModelParams = ModelParams()
    train: TrainParams
    noise: NoiseParams = NoiseParams()
    evaluate: EvaluateParams = EvaluateParams()
    paper: PaperData = PaperData()

    @model_validator(mode="after")
    def _nbody_needs_enabled(self):
        if "nbody" in self.systems and not self.nbody.enabled:
            raise ValueError("systems lists nbody but nbody.enabled is false")
        return self

    def system(self, name: str):
        return getattr(self, name)
