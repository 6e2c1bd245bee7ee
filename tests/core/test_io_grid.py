import pandas as pd
import pytest

from components.core.grid import ShardStore, batches, config_id, expand
from components.core.io import atomic_dir, atomic_path, read_json, write_json
from components.core.seeding import derive_seed


def test_failed_write_keeps_the_old_file(tmp_path):
    target = write_json(tmp_path / "out.json", {"v": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")
    assert read_json(target) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_atomic_dir_swaps_whole_directories(tmp_path):
    out = tmp_path / "prepared"
    with atomic_dir(out) as tmp:
        (tmp / "a.txt").write_text("1")
    with pytest.raises(ValueError):
        with atomic_dir(out) as tmp:
            (tmp / "b.txt").write_text("2")
            raise ValueError("validation failed")
    assert sorted(p.name for p in out.iterdir()) == ["a.txt"]
    with atomic_dir(out) as tmp:
        (tmp / "c.txt").write_text("3")
    assert sorted(p.name for p in out.iterdir()) == ["c.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prepared"]


def test_config_ids_are_stable_and_order_free():
    a = config_id({"method": "xgb", "hp": {"max_depth": 4, "learning_rate": 0.1}, "seed": 0})
    b = config_id({"seed": 0, "hp": {"learning_rate": 0.1, "max_depth": 4}, "method": "xgb"})
    assert a == b and len(a) == 16
    assert a == "%s" % config_id({"method": "xgb", "hp": {"max_depth": 4, "learning_rate": 0.1}, "seed": 0})
    assert a != config_id({"method": "xgb", "hp": {"max_depth": 6, "learning_rate": 0.1}, "seed": 0})


def test_expand_and_batches():
    grid = expand({"a": [1, 2], "b": ["x", "y", "z"]})
    assert len(grid) == 6 and grid[0] == {"a": 1, "b": "x"} and grid[-1] == {"a": 2, "b": "z"}
    assert expand({}) == [{}]
    assert [len(b) for b in batches(list(range(7)), 3)] == [3, 3, 1]


def test_derived_seeds_depend_only_on_keys():
    assert derive_seed(0, "disde", 1, "PR") == derive_seed(0, "disde", 1, "PR")
    assert derive_seed(0, "disde", 1, "PR") != derive_seed(1, "disde", 1, "PR")
    assert 0 <= derive_seed(5, "x") < 2**31


def test_shard_store_collects_sorted(tmp_path):
    store = ShardStore(tmp_path / "shards")
    store.write("b", pd.DataFrame({"config_id": ["z", "c"], "v": [1, 2]}))
    store.write("a", pd.DataFrame({"config_id": ["m"], "v": [3]}))
    assert store.done("a") and not store.done("c")
    assert store.collect()["config_id"].tolist() == ["c", "m", "z"]
