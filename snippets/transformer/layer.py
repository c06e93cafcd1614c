"""One transformer layer: attention + feed-forward, residuals and norms."""
import torch

torch.manual_seed(0)
n, d_model = 10, 64  # tokens, features
layer = torch.nn.TransformerEncoderLayer(
    d_model=d_model, nhead=4, dim_feedforward=4 * d_model, dropout=0.0,
    batch_first=True, norm_first=True,
)
x = torch.randn(1, n, d_model)  # (batch, n, d_model)
y = layer(x)  # one call: every position at once, no loop over tokens
print("input", tuple(x.shape), "-> output", tuple(y.shape))

parts = {
    "attention (q, k, v, out)": [layer.self_attn],
    "feed-forward (2 linear)": [layer.linear1, layer.linear2],
    "layer norms": [layer.norm1, layer.norm2],
}
counts = {
    name: sum(p.numel() for module in modules for p in module.parameters())
    for name, modules in parts.items()
}
total = sum(p.numel() for p in layer.parameters())
assert sum(counts.values()) == total  # the three parts are the whole layer
for name, count in counts.items():
    print(f"{name:26s} {count:7,d}  {count / total:6.1%}")
print(f"{'total':26s} {total:7,d}")

in_linear_maps = total - counts["layer norms"]
assert in_linear_maps / total > 0.99  # nearly all weights: plain linear maps
