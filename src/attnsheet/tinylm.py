"""A tiny character-level language model: a decoder-only transformer built from this library's
`TransformerBlock`, small enough to train in seconds on a CPU.

    ids (n,)  -> embed + sinusoidal positions      (n, d_model)
              -> n_layers x TransformerBlock        each with causal_mask(n): no peeking ahead
              -> final LayerNorm -> linear head     (n, vocab_size) logits for the next character

`TinyLM.generate` writes text one character at a time, either re-running the whole sequence
at every step or, with `use_cache=True`, feeding only the newest character through the
blocks' `forward_cached` (a key/value cache). Both give the same characters. `CharVocab`
turns text into ids and back; `train` fits the model on random windows of a text.
"""

from __future__ import annotations

import math
import numbers

import torch
from torch import nn

from ._checks import (
    require_finite,
    require_finite_weights,
    require_flag,
    require_positive_int,
    require_seed,
)
from .transformer import KVCache, TransformerBlock, causal_mask, sinusoidal_positions

__all__ = ["CharVocab", "TinyLM", "train"]


class CharVocab:
    """The distinct characters of a text, each given an id (in sorted order)."""

    def __init__(self, text: str):
        if not isinstance(text, str):
            raise ValueError(f"text must be a str: got {type(text).__name__}")
        if not text:
            raise ValueError("text must not be empty: a vocabulary needs at least one character")
        self.chars = tuple(sorted(set(text)))  # id -> character
        self._ids = {char: i for i, char in enumerate(self.chars)}  # character -> id

    def __len__(self) -> int:
        return len(self.chars)

    def __repr__(self) -> str:
        return f"CharVocab({len(self)} characters)"

    def encode(self, text: str) -> torch.Tensor:
        """text -> ids (len(text),), int64; a character outside the vocabulary is an error."""
        if not isinstance(text, str):
            raise ValueError(f"text must be a str: got {type(text).__name__}")
        unknown = [(i, char) for i, char in enumerate(text) if char not in self._ids]
        if unknown:
            i, char = unknown[0]
            raise ValueError(
                f"text has {len(unknown)} character(s) not in the vocabulary: first is "
                f"{char!r} at index {i}"
            )
        return torch.tensor([self._ids[char] for char in text], dtype=torch.int64)

    def decode(self, ids) -> str:
        """ids (n,), a tensor or a sequence of ints -> the text they stand for."""
        if not isinstance(ids, torch.Tensor):
            try:
                ids = torch.as_tensor(ids)
            except (TypeError, ValueError, RuntimeError, OverflowError) as error:
                # torch's own messages ("new(): invalid data type 'str'") do not say which
                # argument; a ragged list, a string, None or an id past int64 end up here.
                raise ValueError(
                    f"ids must be a tensor or a sequence of integer ids: got "
                    f"{type(ids).__name__} ({error})"
                ) from error
        _check_ids("ids", ids, len(self), max_ndim=1)
        return "".join(self.chars[i] for i in ids.tolist())


def _check_ids(name: str, ids, vocab_size: int, max_ndim: int = 2,
               max_len: int | None = None, device: torch.device | None = None) -> None:
    """Token ids: an integer tensor (n,) or (batch, n), on `device` if given, non-empty, each
    in 0..vocab_size-1, at most max_len long."""
    if not isinstance(ids, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of token ids: got {type(ids).__name__}")
    if ids.dtype == torch.bool or ids.is_floating_point() or ids.is_complex():
        raise ValueError(f"{name} must hold integer token ids: got dtype {ids.dtype}")
    # Before the values are read: reading them from another device fails, or costs a copy.
    if device is not None and ids.device != device:
        raise ValueError(f"{name} must be on the model's device {device}: got {ids.device}")
    if ids.is_meta:  # where any device will do (train moves its windows to the model)
        raise ValueError(f"{name} is on the meta device, which holds no ids to read")
    layout = "(n,)" if max_ndim == 1 else "(n,) or (batch, n)"
    if not 1 <= ids.ndim <= max_ndim:
        raise ValueError(f"{name} must have layout {layout}: got {name}.shape={tuple(ids.shape)}")
    if ids.numel() == 0:
        raise ValueError(f"{name} must not be empty: got {name}.shape={tuple(ids.shape)}")
    low, high = int(ids.min()), int(ids.max())
    if low < 0 or high >= vocab_size:
        bad = low if low < 0 else high
        raise ValueError(
            f"{name} has an id out of the vocabulary's range 0..{vocab_size - 1}: got {bad}"
        )
    if max_len is not None and ids.shape[-1] > max_len:
        raise ValueError(
            f"{name} has {ids.shape[-1]} positions, longer than the model's max context "
            f"max_len={max_len}"
        )


def _in_block(i: int, error: ValueError) -> ValueError:
    """A block's overflow error, saying which block: "x" in it is that block's input."""
    return ValueError(f"in TinyLM block blocks.{i}: {error}")


class TinyLM(nn.Module):
    """Decoder-only character model: embedding + sinusoidal positions, n_layers causal
    `TransformerBlock`s, a final LayerNorm and a linear head onto the vocabulary."""

    def __init__(self, vocab_size: int, max_len: int = 256, d_model: int = 64,
                 n_heads: int = 4, n_layers: int = 2, d_ff: int = 256):
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("max_len", max_len),
                            ("d_model", d_model), ("n_heads", n_heads), ("n_layers", n_layers),
                            ("d_ff", d_ff)):
            require_positive_int(name, value)
        self.vocab_size, self.max_len, self.d_model = vocab_size, max_len, d_model
        self.embed = nn.Embedding(vocab_size, d_model)  # one learned vector per character
        # Fixed, not learned: not in state_dict, rebuilt from max_len and d_model.
        self.register_buffer("positions", sinusoidal_positions(max_len, d_model),
                             persistent=False)  # (max_len, d_model)
        self.blocks = nn.ModuleList(
            TransformerBlock(d_model, n_heads, d_ff) for _ in range(n_layers)
        )
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)  # scores for the next character

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (n,) or (batch, n) -> logits (..., n, vocab_size), all positions in one call;
        row i scores the character after position i, seeing only positions 0..i."""
        _check_ids("ids", ids, self.vocab_size, max_len=self.max_len, device=self._device)
        # Every weight once, O(parameters): the blocks then skip their own check.
        require_finite_weights("TinyLM", self)
        return self._logits(ids)

    def forward_cached(self, ids_new: torch.Tensor, caches: list[KVCache] | None = None):
        """The next positions only: ids_new (n_new,) or (batch, n_new), following the
        positions whose keys and values `caches` (one KVCache per block, None at the start)
        hold. Returns (logits (..., n_new, vocab_size), caches grown by n_new); the logits
        equal the last n_new rows of `forward` on the whole sequence."""
        _check_ids("ids_new", ids_new, self.vocab_size, device=self._device)
        # What the blocks will see: the caches are checked against its shape, dtype, device.
        x_like = torch.empty(*ids_new.shape, self.d_model, dtype=self.head.weight.dtype,
                             device=ids_new.device)
        n_past = self._check_caches(caches, x_like)
        n_new = ids_new.shape[-1]
        if n_past + n_new > self.max_len:
            raise ValueError(
                f"the caches' {n_past} positions + ids_new's {n_new} are longer than the "
                f"model's max context max_len={self.max_len}"
            )
        require_finite_weights("TinyLM", self)
        return self._run_cached(ids_new, caches, n_past)

    @torch.no_grad()
    def generate(self, prompt_ids: torch.Tensor, n_new: int, use_cache: bool,
                 greedy: bool = True, generator: torch.Generator | None = None,
                 temperature: float = 1.0, return_logits: bool = False):
        """Extend prompt_ids (n_prompt,) or (batch, n_prompt) by n_new characters.

        use_cache=False re-runs `forward` on the whole sequence so far at every step;
        use_cache=True runs the prompt once through `forward_cached`, then one character
        per step. greedy picks the most likely character; greedy=False samples from
        softmax(logits / temperature) with `generator` (required, so a seed reproduces the
        text). Returns ids (..., n_prompt + n_new), and with return_logits also the logits
        each new character was chosen from, (..., n_new, vocab_size).
        """
        _check_ids("prompt_ids", prompt_ids, self.vocab_size, device=self._device)
        require_positive_int("n_new", n_new)
        for name, flag in (("use_cache", use_cache), ("greedy", greedy),
                           ("return_logits", return_logits)):
            require_flag(name, flag)  # 1 or "yes" would pass a truthiness test
        if prompt_ids.shape[-1] + n_new > self.max_len:
            raise ValueError(
                f"prompt_ids ({prompt_ids.shape[-1]} positions) + n_new ({n_new}) is longer "
                f"than the model's max context max_len={self.max_len}"
            )
        if not greedy and not isinstance(generator, torch.Generator):
            raise ValueError(
                "sampling (greedy=False) needs generator=torch.Generator().manual_seed(...), "
                f"so that the text can be reproduced: got {type(generator).__name__}"
            )
        if generator is not None and not isinstance(generator, torch.Generator):
            raise ValueError(
                f"generator must be a torch.Generator or None: got {type(generator).__name__}"
            )
        device = self._device
        if not greedy and generator.device != device:  # torch.multinomial needs them equal
            raise ValueError(
                f"generator must be on the model's device {device}: got {generator.device}"
            )
        if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real) \
                or not math.isfinite(temperature) or temperature <= 0:
            raise ValueError(f"temperature must be a positive number: got {temperature!r}")
        # Once for the whole generation, not once per step and block.
        require_finite_weights("TinyLM", self)

        def pick(logits):  # (..., vocab_size) -> (..., 1)
            if greedy:
                return logits.argmax(dim=-1, keepdim=True)
            scaled = logits / temperature  # (..., vocab_size)
            # A tiny temperature turns large logits into inf, and softmax(inf) into NaN.
            require_finite("logits / temperature", scaled,
                           f"the logits are too large to divide by temperature={temperature!r} "
                           f"in {logits.dtype}")
            probs = torch.softmax(scaled, dim=-1).reshape(-1, self.vocab_size)
            return torch.multinomial(probs, 1, generator=generator).reshape(*logits.shape[:-1], 1)

        ids = prompt_ids  # (..., n) grows by one column per step
        chosen_from = []  # logits of each step, (..., vocab_size)
        caches = None
        for step in range(n_new):
            # The checked-once inputs and weights go straight to the unchecked paths; the
            # new ids come from pick, so they are in the vocabulary.
            if not use_cache:  # everything again, keep the last row
                logits = self._logits(ids)[..., -1, :]  # (..., vocab_size)
            elif caches is None:  # the prompt, all of it in one call
                logits, caches = self._run_cached(ids, None, 0)
                logits = logits[..., -1, :]
            else:  # only the newest character; the rest is in the caches
                logits, caches = self._run_cached(ids[..., -1:], caches, ids.shape[-1] - 1)
                logits = logits[..., -1, :]
            chosen_from.append(logits)
            ids = torch.cat([ids, pick(logits)], dim=-1)  # (..., n + 1)
        if return_logits:
            return ids, torch.stack(chosen_from, dim=-2)  # (..., n_new, vocab_size)
        return ids

    def _logits(self, ids: torch.Tensor) -> torch.Tensor:
        """`forward` on checked ids and weights."""
        n = ids.shape[-1]
        x = self.embed(ids) + self.positions[:n]  # (..., n, d_model)
        mask = causal_mask(n, device=ids.device)  # (n, n), True = may attend
        for i, block in enumerate(self.blocks):  # layers, not positions
            try:
                x = block._run(x, mask)  # (..., n, d_model)
            except ValueError as error:
                raise _in_block(i, error) from error
        return self._head(x)  # (..., n, vocab_size)

    def _head(self, x: torch.Tensor) -> torch.Tensor:
        """The final norm and the head, with a check that they did not overflow."""
        logits = self.head(self.norm(x))  # (..., n, vocab_size)
        require_finite("logits", logits, "the final norm or the head overflowed: the last "
                       "block's output or the head's weights are too large for their dtype")
        return logits

    @property
    def _device(self) -> torch.device:
        return self.head.weight.device

    def _check_caches(self, caches, x_new: torch.Tensor) -> int:
        """caches: None or one KVCache per block, all of one length, each fitting its block
        and x_new (the new positions' embeddings). Returns that length, n_past."""
        if caches is None:
            return 0
        if not isinstance(caches, (list, tuple)) or len(caches) != len(self.blocks):
            raise ValueError(
                f"caches must be None or a list of one KVCache per block ({len(self.blocks)}): "
                f"got {type(caches).__name__}"
                + (f" of length {len(caches)}" if isinstance(caches, (list, tuple)) else "")
            )
        for i, (block, cache) in enumerate(zip(self.blocks, caches)):
            if not isinstance(cache, KVCache):
                raise ValueError(f"caches[{i}] must be a KVCache: got {type(cache).__name__}")
            block._check_cache(cache, x_new, name=f"caches[{i}]",
                               x_name="the model's activations")
        lengths = [cache.length for cache in caches]
        if len(set(lengths)) > 1:  # each block would attend to a different past
            raise ValueError(
                f"caches must all hold the same positions, one cache per block: got lengths "
                f"{lengths}"
            )
        return lengths[0]

    def _run_cached(self, ids_new: torch.Tensor, caches: list[KVCache] | None, n_past: int):
        """`forward_cached` on checked ids, caches and weights."""
        n_new = ids_new.shape[-1]
        x = self.embed(ids_new) + self.positions[n_past:n_past + n_new]  # (..., n_new, d_model)
        grown = []
        for i, (block, cache) in enumerate(zip(self.blocks, caches or [None] * len(self.blocks))):
            try:
                x, cache = block._run_cached(x, cache)  # (..., n_new, d_model)
            except ValueError as error:
                raise _in_block(i, error) from error
            grown.append(cache)
        return self._head(x), grown  # (..., n_new, vocab_size)


def train(model: TinyLM, ids: torch.Tensor, steps: int, batch: int, context: int,
          lr: float = 3e-3, seed: int = 0) -> list[float]:
    """Fit `model` to predict each next character of `ids` (n,): `steps` Adam steps, each
    on `batch` random windows of `context` characters (seeded, so a run repeats on the same
    machine). Returns the training loss (cross-entropy, nats per character) of every step."""
    if not isinstance(model, TinyLM):
        raise ValueError(f"model must be a TinyLM: got {type(model).__name__}")
    for name, value in (("steps", steps), ("batch", batch), ("context", context)):
        require_positive_int(name, value)
    _check_ids("ids", ids, model.vocab_size, max_ndim=1)
    if context > model.max_len:
        raise ValueError(f"context={context} is longer than the model's max context "
                         f"max_len={model.max_len}")
    if ids.shape[0] < context + 1:
        raise ValueError(f"ids has {ids.shape[0]} characters: a window of context={context} "
                         f"needs at least context + 1 (inputs and the next characters)")
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not math.isfinite(lr) \
            or lr <= 0:
        raise ValueError(f"lr must be a positive number: got {lr!r}")
    # manual_seed would read -1 as 2**64 - 1 without a word.
    seed = require_seed("seed", seed)
    require_finite_weights("TinyLM", model)

    generator = torch.Generator().manual_seed(seed)
    adam = torch.optim.Adam(model.parameters(), lr=lr)
    offsets = torch.arange(context + 1)  # (context + 1,)
    losses = []
    model.train()
    try:
        for step in range(steps):
            starts = torch.randint(0, ids.shape[0] - context, (batch,), generator=generator)
            windows = ids[starts[:, None] + offsets]  # (batch, context + 1)
            windows = windows.to(model._device)
            inputs, targets = windows[:, :-1], windows[:, 1:]  # each (batch, context)
            try:
                logits = model._logits(inputs)  # (batch, context, vocab_size)
            except ValueError as error:  # an overflow; after step 0, the updates caused it
                if step == 0:
                    raise
                raise _diverged(step, lr, error) from error
            loss = nn.functional.cross_entropy(logits.reshape(-1, model.vocab_size),
                                               targets.reshape(-1))
            model.zero_grad(set_to_none=True)
            loss.backward()
            try:
                adam.step()
            except RuntimeError as error:  # a step size past float32's range, from lr
                raise _diverged(step, lr, error) from error
            losses.append(loss.item())
            # No weight check here: a step that made a weight inf or NaN makes the next
            # step's logits non-finite, which _logits reports (as divergence, above), and
            # Adam moves a weight by a few lr at most, so the last step cannot push finite
            # weights past the dtype's range unless lr is itself near it, which adam.step
            # refuses with the RuntimeError caught above.
    finally:
        model.eval()
    return losses


def _diverged(step: int, lr: float, error: Exception) -> ValueError:
    """An overflow or a non-finite weight in step `step` (from 0) of a run that started from
    finite weights: the updates made it, so lr is the likely cause."""
    return ValueError(f"training diverged at step {step} (from 0): lr={lr!r} may be too "
                      f"large: {error}")
