"""The one batching rule every paper's fan-out uses."""

import pytest

from components.core.execution import BATCHES_PER_WORKER, LocalExecutor, plan_batches
from components.core.params import RuntimeParams
from components.core.pipeline import StepContext


def flat(plan):
    return sorted(i for b in plan for i in b)


def test_every_item_once_and_batch_size_respected():
    plan = plan_batches(10, 3, workers=2)
    assert flat(plan) == list(range(10)) and max(map(len, plan)) == 3 and len(plan) == 4
    assert plan_batches(0, None, 2) == []


def test_default_is_a_few_batches_per_worker_dealt_round_robin():
    plan = plan_batches(100, None, workers=2)
    assert len(plan) == 2 * BATCHES_PER_WORKER and flat(plan) == list(range(100))
    assert plan[0][:3] == [0, 16, 32]  # neighbours (often alike in cost) go to different batches


def test_cost_balances_batches():
    cost = [100.0] + [1.0] * 99  # one expensive item
    plan = plan_batches(100, None, workers=2, cost=cost)
    loads = [sum(cost[i] for i in b) for b in plan]
    assert [0] in plan  # the expensive item sits alone
    assert max(loads[1:]) - min(loads[1:]) <= 1.0


def test_keys_never_mix_and_plan_is_deterministic():
    keys = ["a"] * 30 + ["b"] * 10
    plan = plan_batches(40, None, workers=2, keys=keys)
    assert all(len({keys[i] for i in b}) == 1 for b in plan) and flat(plan) == list(range(40))
    assert plan == plan_batches(40, None, workers=2, keys=keys)


def _square_all(items):
    return [x * x for x in items]


def _wrong_length(items):
    return items[:-1]


def _ctx(workers):
    runtime = RuntimeParams(workers=workers, batch_size=3)
    return StepContext("p", "train", "smoke", None, runtime, None, 0, None, LocalExecutor(workers))


def test_fan_out_returns_results_in_item_order():
    ctx = _ctx(1)
    assert ctx.fan_out(_square_all, range(10), "sq", cost=lambda x: 10 - x) == [x * x for x in range(10)]
    with pytest.raises(RuntimeError, match="returned 2 results for a batch of 3"):
        ctx.fan_out(_wrong_length, range(3), "bad")


def test_fan_out_on_worker_processes_keeps_the_order():
    items = [f"item-{i}" for i in range(10)]  # `list` is importable in the spawned workers
    assert _ctx(2).fan_out(list, items, "identity", cost=len, key=lambda s: s[-1] in "02468") == items
