"""Stacked synthetic models: shapes, member independence, and equality with PyTorch's layers."""

import pytest
import torch

from sbcore.models import TABLE4_MODELS, Member, ModelSpec, StackedCNN1d, StackedFCN, StackedGRU


@pytest.mark.parametrize("name", TABLE4_MODELS)
def test_shapes_and_member_equals_model_trained_alone(name):
    spec = ModelSpec.parse(name)
    stack = spec.build(50, seeds=[7, 8, 9])
    x = torch.randn(16, 50)
    out = stack(x)
    assert out.shape == (3, 16, 2)
    alone = spec.build(50, seeds=[8])
    assert torch.allclose(alone(x)[0], out[1], atol=1e-5)
    # per-member inputs
    assert stack(torch.randn(3, 4, 50)).shape == (3, 4, 2)
    assert Member(stack, 2)(x).shape == (16, 2)


def test_fcn_matches_torch_sequential():
    m = StackedFCN(5, width=4, depth=2, n_models=1)
    ref = torch.nn.Sequential(
        torch.nn.Linear(5, 4),
        torch.nn.ReLU(),
        torch.nn.Linear(4, 4),
        torch.nn.ReLU(),
        torch.nn.Linear(4, 2),
    )
    with torch.no_grad():
        for lin, sl in zip([ref[0], ref[2], ref[4]], [m.net[0], m.net[2], m.net[4]]):
            lin.weight.copy_(sl.weight[0].T)
            lin.bias.copy_(sl.bias[0, 0])
    x = torch.randn(7, 5)
    assert torch.allclose(ref(x), m(x)[0], atol=1e-6)


def test_cnn_matches_torch_conv1d():
    m = StackedCNN1d(10, filters=3, kernel=3, depth=2, n_models=1)
    x = torch.randn(6, 10)
    h = x.unsqueeze(1)
    for w, b in zip(m.conv_w, m.conv_b):
        h = torch.relu(torch.nn.functional.conv1d(h, w[0], b[0], padding=1))
    flat = h.transpose(1, 2).reshape(6, -1)  # our layout is (position, channel)
    ref = torch.relu(flat @ m.fc.weight[0] + m.fc.bias[0]) @ m.out.weight[0] + m.out.bias[0]
    assert torch.allclose(ref, m(x)[0], atol=1e-5)


def test_gru_matches_torch_gru():
    m = StackedGRU(20, hidden=6, input_len=5, depth=2, n_models=1)
    ref = torch.nn.GRU(5, 6, num_layers=2, batch_first=True)
    with torch.no_grad():
        for i in range(2):
            getattr(ref, f"weight_ih_l{i}").copy_(m.w_ih[i][0].T)
            getattr(ref, f"weight_hh_l{i}").copy_(m.w_hh[i][0].T)
            getattr(ref, f"bias_ih_l{i}").copy_(m.b_ih[i][0].reshape(-1))
            getattr(ref, f"bias_hh_l{i}").copy_(m.b_hh[i][0].reshape(-1))
    x = torch.randn(4, 20)
    _, h = ref(x.view(4, 4, 5))
    expected = h[-1] @ m.out.weight[0] + m.out.bias[0]
    assert torch.allclose(expected, m(x)[0], atol=1e-5)


@pytest.mark.parametrize("act", ["relu", "leaky_relu", "prelu", "tanh"])
def test_activations(act):
    m = ModelSpec.parse("(8,2)-FCN", activation=act).build(5, seeds=[0, 1])
    assert m(torch.randn(3, 5)).shape == (2, 3, 2)


def test_select_copies_members():
    stack = ModelSpec.parse("(8,1)-FCN").build(5, seeds=[0, 1, 2])
    sub = stack.select([2, 0])
    x = torch.randn(4, 5)
    assert sub.n_models == 2
    assert torch.allclose(sub(x), stack(x)[[2, 0]])


@pytest.mark.parametrize(
    "text,param", [("(100)-FCN", "sizes"), ("(1,2)-MLP", "model"), ("(0,1)-FCN", "sizes")]
)
def test_bad_specs_raise(text, param):
    with pytest.raises(ValueError, match=param):
        ModelSpec.parse(text)


def test_bad_constructor_arguments_raise():
    with pytest.raises(ValueError, match="width"):
        StackedFCN(5, width=0, depth=1)
    with pytest.raises(ValueError, match="kernel"):
        StackedCNN1d(5, filters=2, kernel=4, depth=1)
    with pytest.raises(ValueError, match="input_len"):
        StackedGRU(50, hidden=4, input_len=7, depth=1)
    with pytest.raises(ValueError, match="activation"):
        ModelSpec.parse("(4,1)-FCN", activation="gelu")
