"""Tests of the image-model zoo (sbcore.models.zoo and the CIFAR-style architectures)."""

from __future__ import annotations

import dataclasses
import math
import re

import pytest
import torch

from sbcore.models import zoo
from sbcore.models.densenet import DENSENET121
from sbcore.models.googlenet import GOOGLENET
from sbcore.models.mobilenet import MOBILENETV2
from sbcore.models.resnet import RESNET18, RESNET50
from sbcore.models.small_cnn import SMALL_CNN
from sbcore.models.zoo import IMAGE_MODELS, build_image_model, scale_channels

# Published parameter counts of the CIFAR-10 variants (num_classes=10, in_channels=3, width=1.0).
# Every count was also recomputed by hand-written arithmetic (conv k*k*C_in*C_out (+bias),
# BN 2*C, linear) from the layer definitions in kuangliu/pytorch-cifar models/resnet.py,
# models/mobilenetv2.py, models/densenet.py and models/googlenet.py, and agreed exactly.
PUBLISHED_PARAMS = {
    # laisimiao/classification-cifar10-pytorch README (torchsummary "Total params": 11,173,962);
    # also microsoft/nni examples/model_compress/comparison_of_pruners/analyze.py ("params").
    "resnet18": 11_173_962,
    # Same two sources: 23,520,842.
    "resnet50": 23_520_842,
    # laisimiao/classification-cifar10-pytorch README (torchsummary): 2,296,922.
    "mobilenetv2": 2_296_922,
    # laisimiao/classification-cifar10-pytorch README (torchsummary): 6,956,298.
    "densenet121": 6_956_298,
    # A kuangliu/pytorch-cifar README fork's "Accuracy detail" table (params by thop): 6,166,250;
    # zhengxiawu/pytorch-cifar README lists the same GoogLeNet as 6.16M params, 1529M FLOPs.
    "googlenet": 6_166_250,
}

# Not published: our own small CNN, counted by hand in sbcore/models/small_cnn.py's docstring
# (convs 216 + 1,152 + 4,608 + 18,432, BN 2 x 120, linear 64 x 2 + 2).
SMALL_CNN_PARAMS = 24_778


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_registry_lists_all_models() -> None:
    expected = ("resnet18", "resnet50", "mobilenetv2", "densenet121", "googlenet", "small_cnn")
    assert IMAGE_MODELS == expected


@pytest.mark.parametrize("name", sorted(PUBLISHED_PARAMS))
def test_cifar10_parameter_count_matches_published(name: str) -> None:
    model = build_image_model(name, in_channels=3, num_classes=10, width=1.0)
    assert n_params(model) == PUBLISHED_PARAMS[name]


def test_small_cnn_parameter_count_matches_docstring() -> None:
    assert n_params(build_image_model("small_cnn")) == SMALL_CNN_PARAMS


def test_width_one_is_the_published_config() -> None:
    configs = {
        "resnet18": RESNET18,
        "resnet50": RESNET50,
        "mobilenetv2": MOBILENETV2,
        "densenet121": DENSENET121,
        "googlenet": GOOGLENET,
        "small_cnn": SMALL_CNN,
    }
    for name, config in configs.items():
        model = build_image_model(name, in_channels=1, num_classes=5)
        assert model.config == dataclasses.replace(config, in_channels=1, num_classes=5), name


def test_docstring_table_matches_built_models() -> None:
    # The zoo's docstring table is documentation readers rely on: keep it honest.
    rows = re.findall(r"^(\w+)\s+.*?\s([\d,]+)\s+([\d,]+)$", zoo.__doc__ or "", flags=re.M)
    table = {name: (int(w1.replace(",", "")), int(w4.replace(",", ""))) for name, w1, w4 in rows}
    assert set(table) == set(IMAGE_MODELS)
    for name, (count_w1, count_w025) in table.items():
        assert n_params(build_image_model(name)) == count_w1, name
        assert n_params(build_image_model(name, width=0.25)) == count_w025, name


def test_width_scales_channels() -> None:
    assert build_image_model("resnet18", width=0.5).config.planes == (32, 64, 128, 256)
    assert build_image_model("densenet121", width=0.25).config.growth_rate == 8
    mobilenet = build_image_model("mobilenetv2", width=0.25).config
    assert (mobilenet.stem_channels, mobilenet.head_channels) == (8, 320)
    assert [s[1] for s in mobilenet.stages] == [4, 6, 8, 16, 24, 40, 80]
    assert [s[0] for s in mobilenet.stages] == [1, 6, 6, 6, 6, 6, 6]  # expansions do not scale
    assert build_image_model("googlenet", width=0.5).config.inceptions[0] == (
        32,
        48,
        64,
        8,
        16,
        16,
    )
    # Parameters of conv nets grow about quadratically in width.
    half = n_params(build_image_model("resnet18", width=0.5))
    ratio = half / n_params(build_image_model("resnet18"))
    assert 0.24 < ratio < 0.26


def test_scale_channels() -> None:
    assert [scale_channels(c, 1.0) for c in (1, 3, 64, 1280)] == [1, 3, 64, 1280]
    assert scale_channels(6, 0.25) == 2  # 1.5 rounds half up
    assert scale_channels(10, 0.25) == 3  # 2.5 rounds half up, not to even
    assert scale_channels(16, 0.01) == 1  # never zero channels
    assert scale_channels(64, 2.0) == 128


@pytest.mark.parametrize("name", IMAGE_MODELS)
@pytest.mark.parametrize("in_channels", [1, 3])
def test_forward_shapes_reduced_width(name: str, in_channels: int) -> None:
    torch.manual_seed(0)
    model = build_image_model(name, in_channels=in_channels, num_classes=3, width=0.25)
    with torch.no_grad():
        # One set of weights must serve CIFAR images and MNIST-over-CIFAR dominoes alike.
        for height in (64, 32):
            logits = model(torch.randn(2, in_channels, height, 32))
            assert logits.shape == (2, 3)
            assert torch.isfinite(logits).all()


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_forward_full_width_domino(name: str) -> None:
    # One forward pass each at the published width (the expensive ones: densenet121, googlenet).
    torch.manual_seed(0)
    model = build_image_model(name).eval()
    with torch.no_grad():
        logits = model(torch.randn(2, 3, 64, 32))
    assert logits.shape == (2, 2)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_input_gradient_reaches_every_pixel_half(name: str) -> None:
    # Attacks take input gradients through autograd.grad; both halves of a domino must get one.
    torch.manual_seed(0)
    model = build_image_model(name, width=0.25).eval()
    x = torch.randn(2, 3, 64, 32, requires_grad=True)
    (grad,) = torch.autograd.grad(model(x).sum(), x)
    assert grad.shape == x.shape
    assert grad[:, :, :32].abs().sum() > 0 and grad[:, :, 32:].abs().sum() > 0
    assert all(p.grad is None for p in model.parameters())


def test_small_cnn_fits_a_fixed_batch() -> None:
    torch.manual_seed(0)
    model = build_image_model("small_cnn")
    x, y = torch.randn(16, 3, 64, 32), torch.randint(0, 2, (16,))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_same_seed_same_weights() -> None:
    torch.manual_seed(3)
    a = build_image_model("mobilenetv2", width=0.25)
    torch.manual_seed(3)
    b = build_image_model("mobilenetv2", width=0.25)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


@pytest.mark.parametrize(
    "kwargs, parameter",
    [
        ({"name": "vgg16"}, "name"),
        ({"name": "ResNet18"}, "name"),
        ({"name": "resnet18", "in_channels": 2}, "in_channels"),
        ({"name": "resnet18", "in_channels": True}, "in_channels"),
        ({"name": "resnet18", "num_classes": 1}, "num_classes"),
        ({"name": "resnet18", "num_classes": 2.0}, "num_classes"),
        ({"name": "resnet18", "width": 0.0}, "width"),
        ({"name": "resnet18", "width": -0.5}, "width"),
        ({"name": "resnet18", "width": math.nan}, "width"),
        ({"name": "resnet18", "width": math.inf}, "width"),
        ({"name": "resnet18", "width": "1"}, "width"),
    ],
)
def test_bad_arguments_raise_before_building(
    kwargs: dict, parameter: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def must_not_build(*args: object) -> None:
        raise AssertionError("a model was built before the arguments were checked")

    monkeypatch.setattr(zoo, "_BUILDERS", {name: must_not_build for name in IMAGE_MODELS})
    name = kwargs.pop("name")
    with pytest.raises(ValueError, match=rf"^{parameter} must be") as info:
        build_image_model(name, **kwargs)
    # The message lists what is allowed, so a reader can fix the call.
    allowed = {
        "name": "resnet18, resnet50",
        "in_channels": "1 or 3",
        "num_classes": ">= 2",
        "width": "> 0",
    }
    assert allowed[parameter] in str(info.value)
