"""Where the whyshift default profile spends CPU: per-method CPU-s of the train grid and per-setting evaluate CPU-s.

CPU time (``time.process_time``, one thread), not wall time, so the numbers hold on a shared machine.
Each setting of ``--settings`` is built at default-profile sizes; every default-grid config of it is fitted
and scored on every evaluation set as the train step does; ``--evaluate`` adds the evaluate step's
per-setting work (reference model, DISDE with truth, risk region) and the calibration scenarios.

Usage: ``.venv/bin/python benchmarks/whyshift_cpu.py --settings 1 [--evaluate]``;
writes ``benchmarks/results/whyshift_cpu.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from components.core.execution import limit_threads  # noqa: E402

limit_threads()

from components.core.params import load_config  # noqa: E402
from components.whyshift.data import load_setting, write_setting  # noqa: E402
from components.whyshift.fitting import accuracy_f1  # noqa: E402
from components.whyshift.grid import METHODS, expand_grid  # noqa: E402
from components.whyshift.params import WhyshiftParams  # noqa: E402
from components.whyshift.steps import _setting_loader  # noqa: E402


def train_cpu(p, directory: Path, sid: int) -> dict[str, float]:
    """CPU-s per method (fit + predict on every evaluation set) over the setting's default-grid configs."""
    data = load_setting(directory)
    sets = ["id_val", "id_test", *data.targets]
    per_method: dict[str, float] = defaultdict(float)
    for cfg in (c for c in expand_grid(p) if c["setting_id"] == sid):
        start = time.process_time()
        model = METHODS[cfg["method"]].build(cfg["hp"], cfg["seed"], p.train)
        model.fit(data.X["train"], data.y["train"])
        for name in sets:
            accuracy_f1(data.y[name], model.predict(data.X[name]))
        per_method[cfg["method"]] += time.process_time() - start
    return dict(per_method)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", default="1")
    parser.add_argument("--evaluate", action="store_true")
    args = parser.parse_args()
    p = load_config("whyshift", WhyshiftParams, REPO, "default").params
    load = _setting_loader(p)
    out: dict = {"settings": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for sid in (int(s) for s in args.settings.split(",")):
            directory = Path(tmp) / f"{sid:02d}"
            start = time.process_time()
            write_setting(directory, load(sid))
            row = {"build_cpu_s": time.process_time() - start, "train_cpu_s_by_method": train_cpu(p, directory, sid)}
            row["train_cpu_s"] = sum(row["train_cpu_s_by_method"].values())
            if args.evaluate:
                from components.whyshift.analysis import evaluate_setting

                start = time.process_time()
                evaluate_setting((str(directory), p.model_dump()))
                row["evaluate_cpu_s"] = time.process_time() - start
            out["settings"][str(sid)] = row
            print(sid, json.dumps({k: v for k, v in row.items() if k != "train_cpu_s_by_method"}), flush=True)
    if args.evaluate:
        from components.whyshift.analysis import calibration_rows

        start = time.process_time()
        calibration_rows(p)
        out["calibration_cpu_s"] = time.process_time() - start
    path = REPO / "benchmarks" / "results" / "whyshift_cpu.json"
    path.write_text(json.dumps(out, indent=2, sort_keys=True))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
