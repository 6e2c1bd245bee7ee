"""The 22 WhyShift settings (spec §4.2) as data, and building a setting's synthetic frames.

A setting is (dataset, shift type, source, targets). Its twin world is built per setting because
the region flip is forced per setting (rho = 0 at the source, 1 at the main target, §4.1); worlds
of the same name share every latent draw by slot, so two settings of one dataset see the same
geometry with the roles (and names) assigned around their own source. Temporal settings use the
source state's slot across years; age-selection settings reuse setting #1's world and domain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from components.core.seeding import derive_seed
from components.whyshift.generator import (
    SCREEN_MARGIN,
    X_HARDER_BY,
    bayes_accuracy,
    SCREEN_N,
    RATE_BOUNDS,
    TEMPORAL_YEARS,
    Population,
    SelectedPopulation,
    World,
    WorldKnobs,
)

ACS_DOMAINS: tuple[str, ...] = (
    "AK", "AL", "AR", "AZ", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "IA", "ID", "IL", "IN", "KS",
    "KY", "LA", "MA", "MD", "ME", "MI", "MN", "MO", "MS", "MT", "NC", "ND", "NE", "NH", "NJ", "NM",
    "NV", "NY", "OH", "OK", "OR", "PA", "PR", "RI", "SC", "SD", "TN", "TX", "UT", "VA", "VT", "WA",
    "WI", "WV", "WY",
)  # 50 states + PR, fixed (alphabetical) order for the non-role domains
ACCIDENT_DOMAINS: tuple[str, ...] = (
    "CA", "TX", "FL", "OR", "MN", "VA", "SC", "NY", "PA", "NC", "TN", "MI", "MO")   # §4.5
TAXI_DOMAINS: tuple[str, ...] = ("NYC", "BOG", "UIO", "MEX")
DOMAIN_NAMES: dict[str, tuple[str, ...]] = {
    "syn_income": ACS_DOMAINS, "syn_mobility": ACS_DOMAINS, "syn_pubcov": ACS_DOMAINS,
    "syn_accident": ACCIDENT_DOMAINS, "syn_taxi": TAXI_DOMAINS,
}
AGE_SOURCE, AGE_TARGET = "younger", "older"


@dataclass(frozen=True)
class Setting:
    """One row of §4.2. ``source`` is the domain name used in the frames' ``domain`` column."""

    id: int
    dataset: str
    shift_type: str                 # spatial | temporal | synthetic (age selection)
    source: str
    n_targets: int                  # the real setting's target count
    world: str
    real_train: int
    readme_dominance: str           # README format, e.g. "Y|X 13/14"
    default_main_target: str | None
    in_default: bool = False
    base_domain: str | None = None  # temporal: the state (age selection: see age_base_domain)
    pi_young: float | None = None

    @property
    def name(self) -> str:
        src = f"{self.source} ({self.base_domain})" if self.shift_type == "temporal" else self.source
        return f"{self.dataset} {src}"

    @property
    def readme_counts(self) -> tuple[str, int, int]:
        """("Y|X" | "X", a, b) parsed from ``readme_dominance``."""
        label, frac = self.readme_dominance.split(" ")
        a, b = frac.split("/")
        return label, int(a), int(b)


def _s(i, ds, kind, src, n_t, world, n, dom, main=None, default=False, base=None, pi=None):
    return Setting(i, ds, kind, src, n_t, world, n, dom, main, default, base, pi)


SETTINGS: dict[int, Setting] = {s.id: s for s in [
    _s(1, "income", "spatial", "CA", 50, "syn_income", 195_665, "Y|X 13/14", "PR", True),
    _s(2, "income", "spatial", "CT", 50, "syn_income", 19_785, "Y|X 24/24"),
    _s(3, "income", "spatial", "MA", 50, "syn_income", 40_114, "Y|X 21/22"),
    _s(4, "income", "spatial", "SD", 50, "syn_income", 4_899, "Y|X 9/9"),
    _s(5, "mobility", "spatial", "MS", 50, "syn_mobility", 5_318, "Y|X 28/34", "HI", True),
    _s(6, "mobility", "spatial", "NY", 50, "syn_mobility", 40_463, "Y|X 30/31"),
    _s(7, "mobility", "spatial", "CA", 50, "syn_mobility", 80_329, "Y|X 9/17"),
    _s(8, "mobility", "spatial", "PA", 50, "syn_mobility", 23_918, "Y|X 17/17"),
    _s(9, "taxi", "spatial", "BOG", 3, "syn_taxi", 3_063, "Y|X 1/2"),
    _s(10, "taxi", "spatial", "NYC", 3, "syn_taxi", 1_458_646, "Y|X 3/3", "BOG", True),
    _s(11, "pubcov", "spatial", "NE", 50, "syn_pubcov", 6_332, "Y|X 32/39", "LA", True),
    _s(12, "pubcov", "spatial", "FL", 50, "syn_pubcov", 71_297, "Y|X 28/29"),
    _s(13, "pubcov", "spatial", "TX", 50, "syn_pubcov", 98_928, "Y|X 33/34"),
    _s(14, "pubcov", "spatial", "IN", 50, "syn_pubcov", 24_330, "Y|X 11/13"),
    _s(15, "accident", "spatial", "TX", 12, "syn_accident", 26_664, "Y|X 7/7"),
    _s(16, "accident", "spatial", "CA", 12, "syn_accident", 64_909, "X 22/31", "OR", True),
    _s(17, "accident", "spatial", "FL", 12, "syn_accident", 32_278, "X 5/7"),
    _s(18, "accident", "spatial", "MN", 12, "syn_accident", 8_927, "X 8/11"),
    _s(19, "pubcov", "temporal", "2010", 3, "syn_pubcov", 73_208, "X 2/2", "2017", True, "NY"),
    _s(20, "pubcov", "temporal", "2010", 3, "syn_pubcov", 149_441, "X 2/2", "2017", False, "CA"),
    _s(21, "income", "synthetic", AGE_SOURCE, 1, "syn_income", 20_000, "X 1/1", AGE_TARGET, True,
       pi=0.8),
    _s(22, "income", "synthetic", AGE_SOURCE, 1, "syn_income", 20_000, "X 1/1", AGE_TARGET, False,
       pi=0.9),
]}
DEFAULT_SETTINGS: tuple[int, ...] = tuple(i for i, s in SETTINGS.items() if s.in_default)


@dataclass
class SettingData:
    """A built setting: frames (features..., ``y``, ``domain``) plus the exact populations."""

    setting: Setting
    world: World
    source: str
    main_target: str
    train: pd.DataFrame
    id_val: pd.DataFrame
    id_test: pd.DataFrame
    targets: dict[str, pd.DataFrame]
    populations: dict[str, Population] = field(repr=False, default_factory=dict)
    base_domain: str | None = None   # world domain behind temporal years / age mixtures

    def population(self, domain: str) -> Population:
        """Closed-form population of the source or a target (for DISDE ground truth)."""
        return self.populations[domain]

    @property
    def feature_names(self) -> list[str]:
        return self.world.feature_names


# ------------------------------------------------------------------------------------ building

def world_domains(world: str, source: str, main: str | None, n: int) -> list[str]:
    """[source, main?, the remaining real names in fixed order], n in all."""
    names = DOMAIN_NAMES[world]
    if not 2 <= n <= len(names):
        raise ValueError(f"{world}: n_domains must be in [2, {len(names)}], got {n}")
    head = [source] + ([main] if main else [])
    return head + [d for d in names if d not in head][: n - len(head)]


def setting_world(setting: Setting, knobs: WorldKnobs, n_domains: int, seed: int) -> World:
    """The twin world of a setting (deterministic in its arguments)."""
    if setting.shift_type == "spatial":
        src, main = setting.source, setting.default_main_target
    elif setting.shift_type == "temporal":
        src, main = setting.base_domain, None
    else:   # age selection shares setting #1's world (source CA, main PR)
        ref = SETTINGS[1]
        src, main = ref.source, ref.default_main_target
    return World.build(setting.world, knobs, world_domains(setting.world, src, main, n_domains), seed,
                       main_target=main)


def setting_populations(setting: Setting, world: World) -> tuple[str, dict[str, Population]]:
    """(main target, {domain name: population}) with the source first."""
    if setting.shift_type == "spatial":
        return world.main_target, {d: world.population(d) for d in world.domains}
    if setting.shift_type == "temporal":
        pops = {year: world.population(setting.base_domain, t) for year, t in TEMPORAL_YEARS.items()}
        return setting.default_main_target, pops
    base = world.population(age_base_domain(world))
    return AGE_TARGET, {AGE_SOURCE: SelectedPopulation(base, setting.pi_young),
                        AGE_TARGET: SelectedPopulation(base, 1.0 - setting.pi_young)}


AGE_PI_YOUNG = (0.8, 0.9)


def age_base_domain(world: World) -> str:
    """Domain the age-selection settings (21/22) draw from: the first of setting #1's world, source
    first, whose four mixtures (pi_young 0.8 / 0.9 and their mirrors) keep plausible label rates.

    Selecting on AGE moves the label rate through AGE's effects, so this applies the same
    label-rate screen the generator applies to every domain (§4.1 label rate in [0.2, 0.8]). The README
    labels #21/22 X-dominated pairs a model degrades on, so the domain's older mixture must also be harder
    for the Bayes classifier than its younger one by X_HARDER_BY (exact conditionals; issue 12).
    """
    lo, hi = RATE_BOUNDS[0] + SCREEN_MARGIN, RATE_BOUNDS[1] - SCREEN_MARGIN
    rate_ok = []
    for dom in world.domains:
        base = world.population(dom)
        pops = [SelectedPopulation(base, pi) for p in AGE_PI_YOUNG for pi in (p, 1.0 - p)]
        seed = derive_seed(world.seed, "age-screen", dom)
        if all(lo <= pop.p_y1(pop.sample(SCREEN_N, seed)[0]).mean() <= hi for pop in pops):
            rate_ok.append(dom)
            if all(bayes_accuracy(young, seed=seed) - bayes_accuracy(old, seed=seed) >= X_HARDER_BY
                   for young, old in zip(pops[::2], pops[1::2])):
                return dom
    if rate_ok:   # few domains (smoke): no harder older mixture; keep the label-rate screen only
        return rate_ok[0]
    raise RuntimeError(f"{world.name}: no domain keeps age-selected label rates in {RATE_BOUNDS}")


def _frame(X: np.ndarray, y: np.ndarray, names: list[str], domain: str) -> pd.DataFrame:
    df = pd.DataFrame(X, columns=names)
    df["y"] = y.astype(np.int64)
    df["domain"] = domain
    return df


def build_setting(setting_id: int, knobs: dict[str, WorldKnobs], n_domains: dict[str, int],
                  rows: dict[str, int], seed: int) -> SettingData:
    """Sample a setting: source split into train / id_val / id_test, ``rows['target']`` per target.

    Each domain's sample has its own derived seed, so the frames do not depend on build order.
    """
    if setting_id not in SETTINGS:
        raise ValueError(f"unknown setting {setting_id}; expected 1..{len(SETTINGS)}")
    setting = SETTINGS[setting_id]
    world = setting_world(setting, knobs[setting.world], n_domains[setting.world], seed)
    main, pops = setting_populations(setting, world)
    source = next(iter(pops))
    names = world.feature_names
    n_tr, n_va, n_te = rows["train"], rows["id_val"], rows["id_test"]
    X, y = pops[source].sample(n_tr + n_va + n_te, derive_seed(seed, "sample", setting_id, source))
    cuts = [(0, n_tr), (n_tr, n_tr + n_va), (n_tr + n_va, n_tr + n_va + n_te)]
    train, id_val, id_test = (_frame(X[a:b], y[a:b], names, source) for a, b in cuts)
    targets = {}
    for dom, pop in pops.items():
        if dom != source:
            Xt, yt = pop.sample(rows["target"], derive_seed(seed, "sample", setting_id, dom))
            targets[dom] = _frame(Xt, yt, names, dom)
    base = {"temporal": setting.base_domain, "synthetic": None}.get(setting.shift_type)
    if setting.shift_type == "synthetic":
        base = age_base_domain(world)
    return SettingData(setting, world, source, main, train, id_val, id_test, targets, pops, base)
