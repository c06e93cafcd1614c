"""elman_rnn_np / elman_rnn_torch against torch.nn.RNN, properties, errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attnsheet import elman_rnn_np, elman_rnn_torch, init_elman_np

ATOL = 1e-6  # numpy vs torch vs torch.nn.RNN, float64


def torch_rnn_states(x, w_xh, w_hh, b_h, h0, batch_first, bias_split=0.0):
    """All hidden states (n, d_h) from torch.nn.RNN with our weights copied in.

    torch computes tanh(x W_ih^T + b_ih + h W_hh^T + b_hh): its weights are ours transposed,
    and its two biases only ever appear as a sum, so b_h is split as
    b_ih = (1 - bias_split) b_h, b_hh = bias_split b_h.
    """
    n, d_in = x.shape
    d_h = w_hh.shape[0]
    rnn = torch.nn.RNN(d_in, d_h, nonlinearity="tanh", batch_first=batch_first,
                       dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.from_numpy(w_xh.T))
        rnn.weight_hh_l0.copy_(torch.from_numpy(w_hh.T))
        rnn.bias_ih_l0.copy_(torch.from_numpy((1 - bias_split) * b_h))
        rnn.bias_hh_l0.copy_(torch.from_numpy(bias_split * b_h))
        # batch_first: (batch, n, d_in), else (n, batch, d_in); a batch of one either way.
        x_t = torch.from_numpy(x)[None] if batch_first else torch.from_numpy(x)[:, None]
        h0_t = torch.from_numpy(h0)[None, None]  # (layers, batch, d_h)
        states, h_last = rnn(x_t, h0_t)
    states = states[0] if batch_first else states[:, 0]  # (n, d_h)
    np.testing.assert_array_equal(states[-1].numpy(), h_last[0, 0].numpy())
    return states.numpy()


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("bias_split", [0.0, 0.5])
@pytest.mark.parametrize("n, d_in, d_h", [(1, 1, 1), (6, 3, 4), (10, 5, 2), (4, 2, 7)])
def test_elman_matches_torch_rnn(n, d_in, d_h, bias_split, batch_first):
    rng = np.random.default_rng(n * 100 + d_in * 10 + d_h)
    x = rng.standard_normal((n, d_in))  # (n, d_in)
    weights = init_elman_np(d_in, d_h, seed=n, recurrent_scale=0.9)
    weights["b_h"] = rng.standard_normal(d_h)  # the default zero bias would test nothing
    h0 = rng.standard_normal(d_h)  # (d_h,)

    states_np = elman_rnn_np(x, **weights, h0=h0)
    states_torch = elman_rnn_torch(torch.from_numpy(x),
                                   **{name: torch.from_numpy(w) for name, w in weights.items()},
                                   h0=torch.from_numpy(h0))
    reference = torch_rnn_states(x, **weights, h0=h0, batch_first=batch_first,
                                 bias_split=bias_split)

    assert states_np.shape == (n, d_h) and states_np.dtype == np.float64
    np.testing.assert_allclose(states_np, reference, rtol=0, atol=ATOL)
    np.testing.assert_allclose(states_torch.numpy(), reference, rtol=0, atol=ATOL)


def test_default_h0_is_zeros():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 3))
    weights = init_elman_np(3, 4, seed=1)
    np.testing.assert_array_equal(elman_rnn_np(x, **weights),
                                  elman_rnn_np(x, **weights, h0=np.zeros(4)))
    torch_weights = {name: torch.from_numpy(w) for name, w in weights.items()}
    np.testing.assert_allclose(elman_rnn_torch(torch.from_numpy(x), **torch_weights).numpy(),
                               elman_rnn_np(x, **weights), rtol=0, atol=1e-12)


def test_first_state_by_hand():
    x = np.array([[1.0, 2.0]])
    w_xh, w_hh, b_h = np.array([[0.5], [0.25]]), np.array([[2.0]]), np.array([-1.0])
    h0 = np.array([0.1])
    expected = np.tanh(1.0 * 0.5 + 2.0 * 0.25 + 0.1 * 2.0 - 1.0)
    np.testing.assert_allclose(elman_rnn_np(x, w_xh, w_hh, b_h, h0), [[expected]], rtol=1e-15)


def test_elman_torch_gradients():
    rng = np.random.default_rng(2)
    weights = init_elman_np(2, 3, seed=2)
    tensors = [torch.tensor(rng.standard_normal((4, 2)), requires_grad=True)]
    tensors += [torch.tensor(weights[name], requires_grad=True) for name in ("w_xh", "w_hh", "b_h")]
    assert torch.autograd.gradcheck(elman_rnn_torch, tuple(tensors))


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 8), st.integers(1, 4), st.integers(1, 4), st.integers(0, 2**32 - 1),
       st.floats(0.0, 5.0))
def test_states_stay_inside_tanh_range(n, d_in, d_h, seed, recurrent_scale):
    rng = np.random.default_rng(seed)
    x = 3 * rng.standard_normal((n, d_in))
    states = elman_rnn_np(x, **init_elman_np(d_in, d_h, seed=seed, recurrent_scale=recurrent_scale))
    assert states.shape == (n, d_h)
    assert np.all(np.abs(states) <= 1.0)


# --- init_elman_np ----------------------------------------------------------------------


def test_init_is_deterministic_and_shaped():
    first, again = init_elman_np(3, 5, seed=7), init_elman_np(3, 5, seed=7)
    other = init_elman_np(3, 5, seed=8)
    assert set(first) == {"w_xh", "w_hh", "b_h"}
    assert first["w_xh"].shape == (3, 5) and first["w_hh"].shape == (5, 5)
    assert first["b_h"].shape == (5,)
    for name in first:
        np.testing.assert_array_equal(first[name], again[name])
    assert not np.array_equal(first["w_xh"], other["w_xh"])
    np.testing.assert_array_equal(first["b_h"], np.zeros(5))


def test_recurrent_scale_scales_only_w_hh():
    base, doubled = init_elman_np(3, 5, seed=7), init_elman_np(3, 5, seed=7, recurrent_scale=2.0)
    np.testing.assert_array_equal(doubled["w_xh"], base["w_xh"])
    np.testing.assert_allclose(doubled["w_hh"], 2.0 * base["w_hh"], rtol=1e-15)


def test_recurrent_scale_sets_spectral_radius():
    """The docstring's claim: spectral radius of w_hh is close to recurrent_scale."""
    for scale in (0.5, 1.0, 1.5):
        w_hh = init_elman_np(4, 400, seed=0, recurrent_scale=scale)["w_hh"]
        radius = np.abs(np.linalg.eigvals(w_hh)).max()
        assert abs(radius - scale) < 0.1 * scale


@pytest.mark.parametrize("arguments, message", [
    (dict(d_in=0, d_h=3), r"d_in must be a positive integer: got 0"),
    (dict(d_in=2, d_h=-1), r"d_h must be a positive integer: got -1"),
    (dict(d_in=2.5, d_h=3), r"d_in must be a positive integer: got 2.5"),
    (dict(d_in=2, d_h=3, recurrent_scale=float("nan")), r"recurrent_scale must be a finite real"),
    (dict(d_in=2, d_h=3, recurrent_scale="1"), r"recurrent_scale must be a finite real"),
])
def test_init_errors(arguments, message):
    with pytest.raises(ValueError, match=message):
        init_elman_np(**arguments)


# --- errors -------------------------------------------------------------------------------


def np_backend(array):
    return array


def torch_backend(array):
    return None if array is None else torch.from_numpy(np.asarray(array))


def with_value(array, index, value):
    array = np.array(array, dtype=float)
    array[index] = value
    return array


def elman_call(**changes):
    """Arguments of a valid call (n=5, d_in=3, d_h=4), with `changes` applied."""
    rng = np.random.default_rng(3)
    arguments = dict(x=rng.standard_normal((5, 3)), **init_elman_np(3, 4), h0=np.zeros(4))
    arguments.update(changes)
    return arguments


ELMAN_ERRORS = [  # (id, changes, message regex)
    ("x 1-D", dict(x=np.ones(3)),
     re.escape("x must be 2-D with layout (n, d_in): got x.shape=(3,)")),
    ("x batched", dict(x=np.ones((2, 5, 3))), r"x must be 2-D"),
    ("w_xh 1-D", dict(w_xh=np.ones(3)), r"w_xh must be 2-D with layout \(d_in, d_h\)"),
    ("no time steps", dict(x=np.ones((0, 3))),
     re.escape("x must not be empty (layout (n, d_in)): got x.shape=(0, 3)")),
    ("d_in = 0", dict(x=np.ones((5, 0)), w_xh=np.ones((0, 4))), r"x must not be empty"),
    ("d_h = 0", dict(w_xh=np.ones((3, 0)), w_hh=np.ones((0, 0)), b_h=np.ones(0), h0=np.ones(0)),
     r"w_xh must not be empty"),
    ("d_in mismatch", dict(w_xh=np.ones((2, 4))),
     re.escape("x and w_xh must have the same input size d_in: x.shape=(5, 3), w_xh.shape=(2, 4)")),
    ("w_hh not square", dict(w_hh=np.ones((4, 3))),
     re.escape("w_hh must have shape (d_h, d_h) = (4, 4): got w_hh.shape=(4, 3)")),
    ("w_hh wrong d_h", dict(w_hh=np.ones((5, 5))), r"w_hh must have shape \(d_h, d_h\) = \(4, 4\)"),
    ("b_h wrong shape", dict(b_h=np.ones((1, 4))),
     re.escape("b_h must have shape (d_h,) = (4,): got b_h.shape=(1, 4)")),
    ("h0 wrong shape", dict(h0=np.ones(3)),
     re.escape("h0 must have shape (d_h,) = (4,): got h0.shape=(3,)")),
    ("NaN in x", dict(x=with_value(np.ones((5, 3)), (2, 1), np.nan)),
     re.escape("x contains non-finite values (1 NaN, 0 inf): first is x[2, 1] = nan")),
    ("inf in w_hh", dict(w_hh=with_value(np.ones((4, 4)), (3, 0), np.inf)),
     r"w_hh contains non-finite.*w_hh\[3, 0\] = inf"),
    ("NaN in b_h", dict(b_h=with_value(np.ones(4), 0, np.nan)), r"b_h contains non-finite"),
    ("inf in h0", dict(h0=with_value(np.ones(4), 1, -np.inf)), r"h0 contains non-finite"),
]


@pytest.mark.parametrize("elman, backend", [(elman_rnn_np, np_backend),
                                             (elman_rnn_torch, torch_backend)],
                         ids=["np", "torch"])
@pytest.mark.parametrize("changes, message",
                         [pytest.param(*case[1:], id=case[0]) for case in ELMAN_ERRORS])
def test_elman_errors(elman, backend, changes, message):
    arguments = {name: backend(value) for name, value in elman_call(**changes).items()}
    with pytest.raises(ValueError, match=message):
        elman(**arguments)


def test_elman_torch_type_errors():
    arguments = {name: torch.from_numpy(value) for name, value in elman_call().items()}
    with pytest.raises(ValueError, match=r"w_hh must be a torch.Tensor: got numpy.ndarray"):
        elman_rnn_torch(**{**arguments, "w_hh": np.ones((4, 4))})
    with pytest.raises(ValueError, match=r"x and b_h must have the same dtype: "
                                         r"got torch.float64 and torch.float32"):
        elman_rnn_torch(**{**arguments, "b_h": arguments["b_h"].float()})
    with pytest.raises(ValueError, match=r"x must have a floating-point dtype: got torch.int64"):
        elman_rnn_torch(**{**arguments, "x": torch.ones(5, 3, dtype=torch.int64)})


def test_elman_np_rejects_tensors():
    arguments = elman_call()
    with pytest.raises(ValueError, match=r"x is a torch.Tensor"):
        elman_rnn_np(**{**arguments, "x": torch.from_numpy(arguments["x"])})
