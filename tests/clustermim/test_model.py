"""A2 (masking), A3 (loss locality), A6 (model shapes, tokenizer outside the model), A10 (determinism)."""

import numpy as np
import pytest
import torch

from components.clustermim.model import MIM, norm_pix_target, param_groups, pixel_loss, random_masking, token_loss
from components.clustermim.params import ModelParams

M = ModelParams(dim=32, depth=1, heads=2, dec_dim=16, dec_depth=1, dec_heads=2)


def test_masking_counts_distinct_and_unshuffle():
    torch.manual_seed(0)
    keep, mask, restore = random_masking(64, 16, 0.75)
    assert keep.shape == (64, 4) and (mask.sum(1) == 12).all()
    assert len({tuple(r.tolist()) for r in mask}) >= 2
    ids = torch.arange(16).expand(64, -1)
    shuffle = restore.argsort(1)
    shuffled = torch.gather(ids, 1, shuffle)
    assert torch.equal(torch.gather(shuffled, 1, restore), ids)
    assert torch.equal(shuffle[:, :4], keep)
    assert (torch.gather(mask, 1, keep) == 0).all()


def test_token_and_pixel_losses_are_local_to_masked_positions():
    torch.manual_seed(0)
    _, mask, _ = random_masking(8, 16, 0.75)
    logits, t = torch.randn(8, 16, 10), torch.randint(0, 10, (8, 16))
    base = token_loss(logits, t, mask)
    t2 = t.clone()
    t2[mask == 0] = (t2[mask == 0] + 1) % 10
    assert token_loss(logits, t2, mask) == base
    b, i = (mask == 1).nonzero()[0].tolist()
    t3 = t.clone()
    t3[b, i] = (t3[b, i] + 1) % 10
    assert token_loss(logits, t3, mask) != base
    pred, patches = torch.randn(8, 16, 16), torch.randn(8, 16, 16)
    for norm in (False, True):
        base = pixel_loss(pred, patches, mask, norm)
        p2 = patches.clone()
        p2[mask == 0] += 5
        assert pixel_loss(pred, p2, mask, norm) == base
        p3 = patches.clone()
        p3[b, i] += 1.0 + torch.arange(16.0)
        assert pixel_loss(pred, p3, mask, norm) != base


def test_norm_pix_target_moments():
    x = torch.randn(4, 16, 16) * 3 + 2
    t = norm_pix_target(x)
    assert t.mean(-1).abs().max() < 1e-5 and (t.var(-1) - 1).abs().max() < 1e-3


def test_model_shapes_and_tokenizer_outside():
    from components.clustermim.training import Targets

    keep, mask, restore = random_masking(5, 16, 0.75)
    x = torch.randn(5, 16, 16)
    assert MIM(16, 16, M, K=50)(x, keep, restore).shape == (5, 16, 50)
    assert MIM(16, 16, M, K=0)(x, keep, restore).shape == (5, 16, 16)
    net = MIM(16, 16, M, K=10)
    targets = Targets("pix", 4, centres=np.random.rand(10, 16))
    assert not isinstance(targets, torch.nn.Module)
    ids = {id(p) for g in param_groups(net, 0.05) for p in g["params"]}
    assert id(targets.centres) not in ids and all(id(p) in ids for p in net.parameters())
    teacher = MIM(16, 16, M).encoder
    t = Targets("teach", 4, centres=np.random.rand(10, M.dim), teacher=teacher)
    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())
    out = t(None, x, None, None)
    assert torch.equal(out, t(None, x, None, None)) and out.shape == (5, 16)
    keys = net.encoder.state_dict().keys()
    assert not [k for k in keys if "centre" in k or "teacher" in k or "tokenizer" in k]


def test_pretraining_is_deterministic(tmp_path):
    """A10: the same run twice (CPU, deterministic algorithms) gives identical encoders and LP top-1."""
    from components.clustermim import data as D
    from components.clustermim.evaluation import ProbeJob, probe_one
    from components.clustermim.params import ClustermimParams
    from components.clustermim.training import PretrainJob, pretrain_one

    x, y = D.load_digits_16()
    idx = D.stratified_subset(y, 200, 0)
    ds, _ = D.normalise({"x_train": x[idx[:150]], "y_train": y[idx[:150]], "x_test": x[idx[150:]], "y_test": y[idx[150:]]})
    prep = tmp_path / "prepared"
    (prep / "images").mkdir(parents=True)
    for s in ("train", "test"):
        np.savez(prep / "images" / f"{s}.npz", x=ds[f"x_{s}"], y=ds[f"y_{s}"])
    p = ClustermimParams(pretrain={"conditions": ["mae"], "seeds": 1, "epochs": 2, "warmup_epochs": 0},
                         model=M.model_dump(), probe={"Cs": [1.0], "max_iter": 200})
    lps = []
    for k in range(2):
        out = tmp_path / f"m{k}"
        pretrain_one(PretrainJob("mae", 0, 7, str(prep), str(out), p.model_dump()))
        lps.append(probe_one(ProbeJob("mae", 0, 7, str(prep), str(out / "mae" / "s0" / "encoder.pt"),
                                      p.model_dump()))["lp_top1_cls"])
        sd = torch.load(out / "mae" / "s0" / "encoder.pt")
        if k:
            assert all(torch.equal(sd[n], prev[n]) for n in sd)
        prev = sd
    assert lps[0] == lps[1]
