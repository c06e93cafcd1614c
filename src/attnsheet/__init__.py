"""attnsheet: the code behind an attention-and-transformers cheatsheet.

Small, readable reference implementations, each in numpy and in torch: a stable softmax,
scaled dot-product attention with boolean masks (True = may attend, as in torch's
scaled_dot_product_attention), multi-head self-attention, and a minimal Elman RNN for
contrast. The tests check them against torch's own implementations, and every function
rejects bad input with a ValueError that names the problem instead of returning NaN.
"""

from .attention import (
    attention_np,
    attention_torch,
    multi_head_attention_np,
    multi_head_attention_torch,
    softmax_np,
)
from .rnn import elman_rnn_np, elman_rnn_torch, init_elman_np

__all__ = [
    "attention_np",
    "attention_torch",
    "elman_rnn_np",
    "elman_rnn_torch",
    "init_elman_np",
    "multi_head_attention_np",
    "multi_head_attention_torch",
    "softmax_np",
]
