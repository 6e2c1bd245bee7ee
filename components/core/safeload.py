"""Reading files that may hold pickles without running code: object arrays in ``.npz`` archives.

Some published datasets ship trajectories as NumPy *object* arrays (ragged lists of arrays), which NumPy
stores as pickles; ``np.load(..., allow_pickle=True)`` would run whatever such a file asks for. This reader
unpickles them with an allow-list that admits only what rebuilds NumPy arrays and plain Python containers,
so a tampered file fails with a clear error instead of executing code. Everything the project writes itself
is stored without pickles (npz with ``allow_pickle=False``, JSON, parquet, safetensors / ``weights_only``).
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np

from components.core.errors import UserError

# (module, name) pairs a NumPy object array's pickle may reference: array and dtype reconstruction only.
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("builtins", "list"), ("builtins", "tuple"), ("builtins", "dict"), ("builtins", "set"),
    ("builtins", "frozenset"), ("builtins", "bytearray"),
    ("__builtin__", "list"), ("__builtin__", "tuple"), ("__builtin__", "dict"),
    ("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor"), ("__builtin__", "object"),
    ("builtins", "object"),
}


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refused to load {module}.{name} (only NumPy arrays are allowed)")
        return super().find_class(module, name)


def load_npz_objects(path: Path | str, encoding: str = "ASCII") -> dict[str, np.ndarray]:
    """Every array in an ``.npz``, object arrays included, without executing code from the file.

    ``encoding`` is NumPy's: ``"bytes"`` or ``"latin1"`` for archives written by Python 2."""
    path = Path(path)
    out: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                key = member[:-4] if member.endswith(".npy") else member
                with archive.open(member) as fh:
                    out[key] = _read_npy(io.BytesIO(fh.read()), encoding)
    except (zipfile.BadZipFile, pickle.UnpicklingError, ValueError, EOFError) as exc:
        raise UserError(f"{path} could not be read safely: {exc}",
                        "use a file from the dataset's own preprocessing; pickled code is never executed") from None
    return out


def _read_npy(fh: io.BytesIO, encoding: str) -> np.ndarray:
    fmt = np.lib.format
    version = fmt.read_magic(fh)
    header = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}.get(version)
    if header is None:
        raise ValueError(f"unsupported .npy format version {version}")
    shape, fortran, dtype = header(fh)
    if not dtype.hasobject:
        fh.seek(0)
        return np.lib.format.read_array(fh, allow_pickle=False)
    array = _ArraysOnly(fh, encoding=encoding).load()
    if not isinstance(array, np.ndarray):
        raise ValueError(f"an object array entry holds {type(array).__name__}, not an array")
    return array
