"""Nothing the project loads from data/ can run code: a static scan of components/ and flows/ for unsafe
loaders, the scan's own rules checked on hostile snippets, and the restricted object-array reader."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from components.core.errors import UserError
from components.core.safeload import load_npz_objects

ROOT = Path(__file__).resolve().parents[2]
MODULES = {"pickle", "joblib", "dill", "cloudpickle", "shelve", "marshal", "_pickle"}
# The one place allowed to unpickle: an allow-list unpickler that rebuilds NumPy arrays only.
ALLOWED_PICKLE = {Path("components/core/safeload.py")}


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    return ""


def _kw(call: ast.Call, name: str):
    return next((k.value for k in call.keywords if k.arg == name), None)


def unsafe_calls(source: str, allow_pickle_module: bool = False) -> list[str]:
    """Each unsafe load in ``source`` as 'line: what'."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            bad = [n for n in names if n.split(".")[0] in MODULES and not allow_pickle_module]
            found += [f"{node.lineno}: import {n}" for n in bad]
        if not isinstance(node, ast.Call):
            continue
        name, last = _name(node.func), _name(node.func).rsplit(".", 1)[-1]
        if last in ("read_pickle", "to_pickle", "unsafe_load", "full_load"):
            found.append(f"{node.lineno}: {name}")
        elif name.endswith("torch.load"):
            w = _kw(node, "weights_only")
            if not (isinstance(w, ast.Constant) and w.value is True):
                found.append(f"{node.lineno}: {name} without weights_only=True")
        elif name in ("yaml.load",):
            loader = _kw(node, "Loader") or (node.args[1] if len(node.args) > 1 else None)
            if not (loader is not None and _name(loader).rsplit(".", 1)[-1] in ("SafeLoader", "CSafeLoader")):
                found.append(f"{node.lineno}: yaml.load without a safe loader")
        elif name in ("np.load", "numpy.load"):
            a = _kw(node, "allow_pickle")
            if a is not None and not (isinstance(a, ast.Constant) and a.value is False):
                found.append(f"{node.lineno}: {name} with allow_pickle")
    return found


def test_no_unsafe_loader_in_the_code():
    problems = []
    for folder in ("components", "flows"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT)
            problems += [f"{rel}:{p}" for p in unsafe_calls(path.read_text(), rel in ALLOWED_PICKLE)]
    assert not problems, "unsafe loaders (use JSON / npz without pickles / safetensors / weights_only):\n" + \
        "\n".join(problems)


@pytest.mark.parametrize("snippet", [
    "import pickle\npickle.loads(b'')",
    "from joblib import load",
    "import dill",
    "import torch\ntorch.load('m.pt')",
    "import torch\ntorch.load('m.pt', weights_only=False)",
    "import yaml\nyaml.load(open('p.yaml'))",
    "import yaml\nyaml.load(open('p.yaml'), Loader=yaml.Loader)",
    "import yaml\nyaml.unsafe_load('a: 1')",
    "import numpy as np\nnp.load('x.npz', allow_pickle=True)",
    "import pandas as pd\npd.read_pickle('x.pkl')",
])
def test_the_scan_catches_each_unsafe_loader(snippet):
    assert unsafe_calls(snippet)


@pytest.mark.parametrize("snippet", [
    "import torch\ntorch.load('m.pt', weights_only=True)",
    "import yaml\nyaml.safe_load('a: 1')",
    "import yaml\nyaml.load('a: 1', Loader=yaml.SafeLoader)",
    "import numpy as np\nnp.load('x.npz', allow_pickle=False)\nnp.load('x.npy')",
])
def test_the_scan_passes_safe_loaders(snippet):
    assert unsafe_calls(snippet) == []


def test_object_arrays_load_without_running_code(tmp_path):
    ragged = np.empty(3, dtype=object)
    ragged[:] = [np.arange(6.0).reshape(3, 2), np.ones((1, 2)), np.zeros((4, 2))]
    np.savez(tmp_path / "traj.npz", train_data=ragged, plain=np.arange(3))
    got = load_npz_objects(tmp_path / "traj.npz")
    assert [a.shape for a in got["train_data"]] == [(3, 2), (1, 2), (4, 2)]
    assert all(np.array_equal(a, b) for a, b in zip(got["train_data"], ragged))
    assert np.array_equal(got["plain"], np.arange(3))


class _Payload:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_tampered_npz_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    hostile = np.empty(1, dtype=object)
    hostile[0] = _Payload(marker)
    np.savez(tmp_path / "traj.npz", train_data=hostile)
    with pytest.raises(UserError, match="could not be read safely.*refused to load"):
        load_npz_objects(tmp_path / "traj.npz")
    assert not marker.exists()
    np.load(tmp_path / "traj.npz", allow_pickle=True)["train_data"]  # what np.load would have done
    assert marker.exists()
