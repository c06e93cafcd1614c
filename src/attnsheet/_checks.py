"""Input checks shared by `attention` and `rnn`.

Every helper raises `ValueError` whose message names the argument and shows the offending
shape or value, so a wrong call can be fixed from the message alone. The helpers accept
numpy arrays and torch tensors alike, which keeps the numpy and torch functions' error
messages identical.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch


def is_torch(array) -> bool:
    return isinstance(array, torch.Tensor)


def shape_of(array) -> tuple[int, ...]:
    """The shape as a plain tuple: `torch.Size([4, 8])` would clutter the messages."""
    return tuple(int(size) for size in array.shape)


def _show_shape(name: str, array) -> str:
    return f"{name}.shape={shape_of(array)}"


def _show_index(index: tuple[int, ...]) -> str:
    return ", ".join(str(i) for i in index)


# --- converting / type checks ---------------------------------------------------------


def as_float_array(name: str, value) -> np.ndarray:
    """`value` as a numpy array of floats; integer arrays become float64, anything else fails."""
    if is_torch(value):
        # np.asarray would work on some tensors (CPU, no grad) and fail on others; one clear
        # boundary is easier to explain than that rule.
        raise ValueError(
            f"{name} is a torch.Tensor: use the *_torch function, or pass {name}.detach().numpy()"
        )
    array = np.asarray(value)
    if array.dtype.kind in "iu":
        return array.astype(np.float64)
    if array.dtype.kind != "f":
        raise ValueError(f"{name} must hold real numbers: got dtype {array.dtype}")
    return array


def require_tensor(name: str, value) -> None:
    """`value` must be a real floating-point torch tensor."""
    if not is_torch(value):
        raise ValueError(
            f"{name} must be a torch.Tensor: got {type(value).__module__}.{type(value).__name__}"
            " (use the *_np function for numpy arrays)"
        )
    # Integer tensors would fail later inside softmax / tanh with a less helpful error.
    if not value.is_floating_point():
        raise ValueError(f"{name} must have a floating-point dtype: got {value.dtype}")


def require_same(name_a: str, a, name_b: str, b, what: str) -> None:
    """Two plain values (dtypes, devices, sizes) must be equal."""
    if a != b:
        raise ValueError(f"{name_a} and {name_b} must have the same {what}: got {a} and {b}")


def require_same_tensor_kind(named_tensors: dict[str, torch.Tensor]) -> None:
    """All tensors share the first one's dtype and device, as torch.matmul requires."""
    (first_name, first), *rest = named_tensors.items()
    for name, tensor in rest:
        require_same(first_name, first.dtype, name, tensor.dtype, "dtype")
        require_same(first_name, first.device, name, tensor.device, "device")


def require_torch_inputs(named_tensors: dict[str, torch.Tensor], mask, anchor: str) -> None:
    """Tensors of one dtype and device, and an optional mask tensor on `anchor`'s device."""
    for name, tensor in named_tensors.items():
        require_tensor(name, tensor)
    require_same_tensor_kind(named_tensors)
    if mask is None:
        return
    if not isinstance(mask, torch.Tensor):
        raise ValueError(f"mask must be a torch.Tensor: got {type(mask).__name__}")
    device = named_tensors[anchor].device
    if mask.device != device:
        raise ValueError(f"mask must be on {anchor}'s device {device}: got {mask.device}")


def require_positive_int(name: str, value) -> None:
    # bool is an int subclass, but n_heads=True is always a mistake.
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer: got {value!r}")


def require_int(name: str, value, low: int | None = None, high: int | None = None) -> int:
    """An integer (not a bool, not a float that happens to be whole) in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer: got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = (f"from {low} to {high}" if low is not None and high is not None
                  else f">= {low}" if low is not None else f"<= {high}")
        raise ValueError(f"{name} must be an integer {bounds}: got {value!r}")
    return int(value)


def require_real(name: str, value, *, positive: bool = False) -> float:
    """A finite real number (not a bool or a string), > 0 if `positive`; as a float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number: got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite: got {value!r}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0: got {value!r}")
    return float(value)


def require_flag(name: str, value) -> None:
    """True or False, not a truthy stand-in such as 1 or "yes"."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False: got {value!r}")


def require_float_dtype(name: str, dtype) -> None:
    """A torch floating-point dtype: not a string, a numpy type or an integer dtype, which
    would silently round every value to a whole number."""
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(
            f"{name} must be a floating-point torch.dtype such as torch.float32: got {dtype!r}"
        )


def require_finite_parameters(owner: str, module: torch.nn.Module) -> None:
    """Every weight and buffer of `module` finite: a NaN in a weight would make every output
    NaN. O(parameters), and the message names the parameter."""
    for name, tensor in [*module.named_parameters(), *module.named_buffers()]:
        if tensor.is_floating_point():
            require_finite(f"{owner} parameter {name}", tensor.detach())


def require_token_ids(name: str, ids, vocab_size: int) -> None:
    """A tensor of integer ids (not bool, not float), each in [0, vocab_size)."""
    if not isinstance(ids, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of token ids: got {type(ids).__name__}")
    if ids.dtype == torch.bool or ids.is_floating_point() or ids.is_complex():
        raise ValueError(f"{name} must hold integer token ids: got dtype {ids.dtype}")
    if ids.numel():
        low, high = int(ids.min()), int(ids.max())
        if low < 0 or high >= vocab_size:
            bad = low if low < 0 else high
            raise ValueError(
                f"{name} must hold ids from 0 to {vocab_size - 1} (the vocabulary): got {bad}"
            )


# --- shapes -----------------------------------------------------------------------------


def require_ndim(name: str, array, ndim: int, layout: str) -> None:
    """`array` must have exactly `ndim` axes; `layout` (e.g. "(n, d_in)") says which."""
    if array.ndim != ndim:
        raise ValueError(
            f"{name} must be {ndim}-D with layout {layout}: got {_show_shape(name, array)}"
        )


def require_min_ndim(name: str, array, min_ndim: int, layout: str) -> None:
    if array.ndim < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dims, layout {layout}: "
            f"got {_show_shape(name, array)}"
        )


def require_shape(name: str, array, expected: tuple[int, ...], layout: str,
                  source: str = "") -> None:
    """`array.shape` must equal `expected`; `layout` names the sizes, e.g. "(d_h, d_h)", and
    `source` where they were read (e.g. "d_h = w_xh.shape[1]": the culprit may be that one)."""
    if shape_of(array) != tuple(expected):
        raise ValueError(
            f"{name} must have shape {layout} = {tuple(expected)}: got {_show_shape(name, array)}"
            + (f" ({source})" if source else "")
        )


def require_nonempty(name: str, array, layout: str) -> None:
    """No axis may have size 0: a softmax over 0 keys or a 0-wide feature axis means nothing."""
    if 0 in shape_of(array):
        raise ValueError(
            f"{name} must not be empty (layout {layout}): got {_show_shape(name, array)}"
        )


def require_same_size(name_a: str, a, axis_a: int, name_b: str, b, axis_b: int, what: str) -> None:
    """`a.shape[axis_a]` must equal `b.shape[axis_b]`; the message shows both full shapes."""
    if shape_of(a)[axis_a] != shape_of(b)[axis_b]:
        raise ValueError(
            f"{name_a} and {name_b} must have the same {what}: "
            f"{_show_shape(name_a, a)}, {_show_shape(name_b, b)}"
        )


def require_same_batch(named_arrays: dict[str, object], core_ndim: int) -> tuple[int, ...]:
    """All arrays share their leading (batch) axes, everything before the last `core_ndim`.

    Exact equality, not broadcasting: a stray size-1 axis that silently broadcasts is a bug
    the caller wants to hear about. Returns the common batch shape.
    """
    batch_shapes = {name: shape_of(a)[: a.ndim - core_ndim] for name, a in named_arrays.items()}
    if len(set(batch_shapes.values())) > 1:
        names = list(named_arrays)
        joined = ", ".join(names[:-1]) + f" and {names[-1]}"
        shown = ", ".join(_show_shape(name, a) for name, a in named_arrays.items())
        raise ValueError(
            f"{joined} must have the same batch dims (all axes before the last {core_ndim}): "
            f"{shown}"
        )
    return next(iter(batch_shapes.values()))


# --- values -----------------------------------------------------------------------------


def require_finite(name: str, array, hint: str = "") -> None:
    """No NaN or ±inf anywhere; the message counts them and shows the first one."""
    if math.isfinite(largest_magnitude(array)):
        return  # the usual case, in one fast pass; the rest only builds the message
    if is_torch(array):
        not_finite = ~torch.isfinite(array)
        first = tuple(int(i) for i in torch.nonzero(not_finite)[0])
        n_nan, n_inf = int(torch.isnan(array).sum()), int(torch.isinf(array).sum())
        value = array[first].item()
    else:
        not_finite = ~np.isfinite(array)
        first = tuple(int(i) for i in np.argwhere(not_finite)[0])
        n_nan, n_inf = int(np.isnan(array).sum()), int(np.isinf(array).sum())
        value = array[first].item()
    message = (
        f"{name} contains non-finite values ({n_nan} NaN, {n_inf} inf): "
        f"first is {name}[{_show_index(first)}] = {value}"
    )
    raise ValueError(f"{message}; {hint}" if hint else message)


def require_finite_stages(stages) -> None:
    """The last of `stages` [(name, array, hint), ...], the stages of one computation in
    order, is finite; if not, the error names the first stage that was not. One pass over
    the last when all is well (NaN and inf propagate to it)."""
    if math.isfinite(largest_magnitude(stages[-1][1])):
        return
    for name, array, hint in stages:
        require_finite(name, array, hint)


def require_no_overflow(name: str, array) -> None:
    """`require_finite` for an intermediate result computed from already-checked, finite
    inputs and weights: a NaN or an inf there can only be an overflow, and the message says so."""
    require_finite(name, array, "the inputs and weights are finite, so this overflowed: "
                   "some are far too large for the dtype")


def largest_magnitude(array) -> float:
    """max |x| over the array in one pass; NaN or inf when an entry is not finite (min and
    max propagate NaN in torch and numpy alike). 0 for an empty array."""
    if 0 in shape_of(array):
        return 0.0
    if is_torch(array):
        low, high = (float(x) for x in torch.aminmax(array.detach()))
    else:
        low, high = float(array.min()), float(array.max())
    if math.isnan(low) or math.isnan(high):
        return math.nan
    return max(-low, high)


def product_bound(a, b) -> float:
    """d * max|a| * max|b|: each of the d terms of a dot product of a row of `a` with a row of
    `b` is at most max|a| * max|b|, so this bounds every such product and every partial sum of
    one. One pass over each input; NaN or inf when an input is not finite."""
    return a.shape[-1] * largest_magnitude(a) * largest_magnitude(b)


def overflow_limit(array) -> float:
    """Half the largest value of `array`'s dtype: a bound below it leaves room for rounding."""
    return (torch.finfo(array.dtype).max if is_torch(array)
            else float(np.finfo(array.dtype).max)) / 2


def products_stay_finite(a, b) -> bool:
    """Whether no dot product of a row of `a` with a row of `b` can overflow `a`'s dtype
    (`product_bound` below `overflow_limit`). Costs one pass over each input, not one over
    the n_a x n_b products; only inputs that fail it need the products checked one by one."""
    return product_bound(a, b) < overflow_limit(a)  # False for inf and NaN alike


def require_mask(name: str, mask, n_q: int, n_k: int, batch_shape: tuple[int, ...]) -> None:
    """A boolean attention mask, True = this query may attend to this key.

    Shape (n_q, n_k), shared by every batch entry, or batch_shape + (n_q, n_k). Every query
    row needs at least one True: a softmax over no keys is 0/0.
    """
    bool_dtype = torch.bool if is_torch(mask) else np.bool_
    if mask.dtype != bool_dtype:
        # Refused rather than cast: torch *adds* float masks to the scores, so a 0/1 float
        # mask means something else there, and guessing would hide that.
        raise ValueError(f"{name} must be a bool array (True = may attend): got dtype {mask.dtype}")
    allowed = [(n_q, n_k)] + ([batch_shape + (n_q, n_k)] if batch_shape else [])
    if shape_of(mask) not in allowed:
        layouts = " or ".join(str(shape) for shape in allowed)
        raise ValueError(
            f"{name} must have shape (n_q, n_k) or (..., n_q, n_k) with q's batch dims, "
            f"here {layouts}: got {_show_shape(name, mask)}"
        )
    if is_torch(mask):
        dead_rows = ~mask.any(dim=-1)
        n_dead = int(dead_rows.sum())
        first = tuple(int(i) for i in torch.nonzero(dead_rows)[0]) if n_dead else ()
    else:
        dead_rows = ~mask.any(axis=-1)
        n_dead = int(dead_rows.sum())
        first = tuple(int(i) for i in np.argwhere(dead_rows)[0]) if n_dead else ()
    if n_dead:
        row = str(first[0]) if len(first) == 1 else f"({_show_index(first)})"
        raise ValueError(
            f"{name} row {row} has no True ({name}[{_show_index(first)}, :] is all False): "
            f"query {first[-1]} may attend to no key, and a softmax over no keys is 0/0 = NaN "
            f"({n_dead} such row{'s' if n_dead > 1 else ''} in all)"
        )


def require_device(name: str, device) -> torch.device | None:
    """None, or a device torch can name and use here ("cpu", "cuda:0", a torch.device): as a
    torch.device. A misspelt name or an absent accelerator would otherwise fail deep inside
    torch with a RuntimeError that does not say which argument was wrong."""
    if device is None:
        return None
    # bool is an int subclass, and torch would read device=True as "cuda:1".
    if isinstance(device, bool) or not isinstance(device, (str, torch.device, numbers.Integral)):
        raise ValueError(
            f"{name} must be a torch.device or a name such as 'cpu' or 'cuda:0': got {device!r}"
        )
    try:
        device = torch.device(device)
        torch.empty(0, device=device)  # raises if torch cannot use it here
    except (RuntimeError, AssertionError, ValueError) as error:  # AssertionError: no CUDA build
        raise ValueError(f"{name} must be a device torch can use here: got {device!r} ({error})") \
            from error
    return device


# --- seeds, choices, lists of sizes, large weight tables ------------------------------------


def require_seed(name: str, value) -> int:
    """A seed: an integer from 0 to 2**63 - 1, the range numpy and torch both take. Not a bool
    (seed=True would silently be seed 1), not a float, not a negative number (numpy refuses it
    with a message that does not name the argument; torch silently wraps it around)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer seed: got {value!r}")
    if not 0 <= value < 2**63:
        raise ValueError(f"{name} must be a seed from 0 to 2**63 - 1: got {value!r}")
    return int(value)


def require_choice(name: str, value, allowed: tuple[str, ...]) -> str:
    """One of the names in `allowed`, spelt exactly (no case folding, no list of one name)."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}: got {value!r}")
    return value


def require_positive_ints(name: str, values) -> list[int]:
    """A non-empty list or tuple of distinct positive integers (sizes, lengths, thread counts).
    Distinct, because results keyed by the value would silently merge the repeats."""
    if not isinstance(values, (list, tuple)) or not values:
        raise ValueError(f"{name} must be a non-empty list of positive integers: got {values!r}")
    for i, value in enumerate(values):
        require_positive_int(f"{name}[{i}]", value)
    if len(set(values)) != len(values):
        raise ValueError(f"{name} must not repeat a value: got {list(values)!r}")
    return [int(value) for value in values]


def require_finite_by_sum(name: str, tensor, hint: str = "") -> None:
    """Like require_finite, at the cost of one sum: NaN and ±inf survive a sum, so only a
    tensor whose sum is not finite (a NaN, an infinity, or large finite values that overflow
    the sum) is searched element by element, for require_finite's message. For weight tables
    large enough that require_finite's boolean mask would cost several forward passes."""
    with torch.no_grad():
        total = tensor.detach().sum() if is_torch(tensor) else np.sum(tensor)
    if not math.isfinite(float(total)):
        require_finite(name, tensor.detach() if is_torch(tensor) else tensor, hint)


def require_float_tensor(name: str, value) -> None:
    """A real floating-point torch tensor, for torch-only code (the transformer block, its
    cache, rotary positions): `require_tensor` without its pointer to a *_np twin that such
    code does not have."""
    if not is_torch(value):
        raise ValueError(
            f"{name} must be a torch.Tensor: got {type(value).__module__}.{type(value).__name__}"
        )
    require_tensor(name, value)


def describe(value) -> str:
    """What `value` is, for a message: "numpy.ndarray of dtype float32", "list", ..."""
    if isinstance(value, (torch.Tensor, np.ndarray)):
        kind = "torch.Tensor" if is_torch(value) else "numpy.ndarray"
        return f"{kind} of dtype {value.dtype}"
    return type(value).__name__


def require_finite_weights(owner: str, module: torch.nn.Module) -> None:
    """`require_finite_parameters` (same message) at the cost of one sum per tensor and one
    sync, not a min/max and a sync per tensor: for a small model, called on every forward,
    that per-tensor overhead outweighed the forward itself. NaN and ±inf survive a sum, so
    only a non-finite total (a NaN, an inf, or large finite weights whose sum overflows) has
    the tensors searched one by one."""
    tensors = [tensor for tensor in (*module.parameters(), *module.buffers())
               if tensor.is_floating_point()]
    if not tensors:
        return
    kinds = {(tensor.dtype, tensor.device) for tensor in tensors}
    if len(kinds) == 1:  # one dtype, one device: the sums stack into one tensor
        with torch.no_grad():  # no graph, and no detach() per tensor
            total = torch.stack([tensor.sum() for tensor in tensors]).sum()
        if math.isfinite(float(total)):
            return
    require_finite_parameters(owner, module)
