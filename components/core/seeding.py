"""Seeds: one base seed per run, derived seeds by stable hashing so results never depend on order."""

from __future__ import annotations

import hashlib
import json
import random
import sys

import numpy as np


def derive_seed(base: int, *keys: object) -> int:
    """A seed in [0, 2**31) from ``base`` and any JSON-able keys; same inputs, same seed, any process."""
    payload = json.dumps([base, *keys], sort_keys=True, default=str).encode()
    return int.from_bytes(hashlib.sha1(payload).digest()[:4], "big") % 2**31


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and (when already imported) torch — importing torch just to seed costs seconds."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)
