"""One transformer layer: attention + feed-forward, residuals and norms."""
import torch
from torch import nn


class Block(nn.Module):
    """Pre-norm layer: x + attention(norm(x)), then + feed-forward(norm)."""

    def __init__(self, d_model, n_heads, d_ff):
        super().__init__()
        self.n_heads = n_heads
        self.norm_attention = nn.LayerNorm(d_model)
        self.w_q = nn.Linear(d_model, d_model)  # queries: what to look for
        self.w_k = nn.Linear(d_model, d_model)  # keys: what each offers
        self.w_v = nn.Linear(d_model, d_model)  # values: what each hands over
        self.w_o = nn.Linear(d_model, d_model)  # mixes the heads together
        self.norm_ff = nn.LayerNorm(d_model)
        self.ff_in = nn.Linear(d_model, d_ff)  # weighted sums...
        self.ff_out = nn.Linear(d_ff, d_model)  # ...squashed, summed again

    def attention(self, x):
        *batch, n, d_model = x.shape  # batch dims, tokens, features
        d_head = d_model // self.n_heads

        def split_heads(t):  # (..., n, d_model) -> (..., heads, n, d_head)
            t = t.reshape(*batch, n, self.n_heads, d_head)
            return t.transpose(-3, -2)

        q = split_heads(self.w_q(x))  # (..., heads, n, d_head)
        k = split_heads(self.w_k(x))
        v = split_heads(self.w_v(x))
        scores = q @ k.transpose(-2, -1) / d_head**0.5  # (..., heads, n, n)
        weights = scores.softmax(dim=-1)  # each row sums to 1
        out = (weights @ v).transpose(-3, -2)  # (..., n, heads, d_head)
        return self.w_o(out.reshape(*batch, n, d_model))  # (..., n, d_model)

    def forward(self, x):  # (..., n, d_model): every position at once
        h = x + self.attention(self.norm_attention(x))
        ff = self.ff_out(torch.relu(self.ff_in(self.norm_ff(h))))
        return h + ff  # (..., n, d_model)


torch.manual_seed(0)
n, d_model, n_heads = 10, 64, 4  # tokens, features, heads
block = Block(d_model, n_heads, d_ff=4 * d_model)
x = torch.randn(1, n, d_model)  # (batch, n, d_model)
with torch.no_grad():
    y = block(x)  # one call: every position, no loop over tokens
print("input", tuple(x.shape), "-> output", tuple(y.shape))

# PyTorch's own layer, given the same weights, computes the same thing.
torch_layer = nn.TransformerEncoderLayer(
    d_model, n_heads, dim_feedforward=4 * d_model, dropout=0.0,
    batch_first=True, norm_first=True,
).eval()
same_weights = {  # torch's name -> ours
    "self_attn.in_proj_weight":  # q, k, v stacked in one matrix
        torch.cat([block.w_q.weight, block.w_k.weight, block.w_v.weight]),
    "self_attn.in_proj_bias":
        torch.cat([block.w_q.bias, block.w_k.bias, block.w_v.bias]),
}
for theirs, ours in [
    ("self_attn.out_proj", block.w_o),
    ("linear1", block.ff_in), ("linear2", block.ff_out),
    ("norm1", block.norm_attention), ("norm2", block.norm_ff),
]:
    same_weights[f"{theirs}.weight"] = ours.weight
    same_weights[f"{theirs}.bias"] = ours.bias
torch_layer.load_state_dict(same_weights)
with torch.no_grad():
    gap = (torch_layer(x) - y).abs().max().item()
print(f"largest difference from torch's layer: {gap:.1e}")
assert gap < 1e-5

parts = {
    "attention (w_q, w_k, w_v, w_o)": ["w_q", "w_k", "w_v", "w_o"],
    "feed-forward (ff_in, ff_out)": ["ff_in", "ff_out"],
    "layer norms": ["norm_attention", "norm_ff"],
}
counts = {
    part: sum(p.numel() for name in names
              for p in getattr(block, name).parameters())
    for part, names in parts.items()
}
total = sum(p.numel() for p in block.parameters())
assert sum(counts.values()) == total  # the three parts are the whole layer
for part, count in counts.items():
    print(f"{part:31s} {count:7,d}  {count / total:6.1%}")
print(f"{'total':31s} {total:7,d}")

linear = sum(p.numel() for m in block.modules()
             if isinstance(m, nn.Linear) for p in m.parameters())
print(f"in plain linear layers: {linear / total:.1%}")
assert linear / total > 0.99  # nearly all weights: ordinary weighted sums
