"""Forgetting, measured: name the token you saw k steps back."""
import torch
from torch import nn

torch.manual_seed(0)
torch.set_num_threads(1)  # one thread: the same numbers on every run
vocab, n, width = 8, 16, 32  # token kinds, sequence length, features


def sequences(count):
    """Random token sequences and, per k = 1..n, the token k steps back."""
    x = torch.randint(0, vocab, (count, n))  # (count, n)
    return x, x.flip(1)  # answers (count, n): column k-1 is x[:, n-k]


class Recurrent(nn.Module):
    """Reads the tokens one by one; answers from its final state."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.rnn = nn.RNN(width, width, batch_first=True)  # tanh
        self.out = nn.Linear(width, n * vocab)  # an answer for every k

    def forward(self, x):
        _, h = self.rnn(self.embed(x))  # h: (1, b, width), the last state
        return self.out(h[0]).view(-1, n, vocab)  # (b, n, vocab)


class Attention(nn.Module):
    """One query per k looks at every (token + position) directly."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.where = nn.Parameter(torch.randn(n, width))  # positions
        self.ask = nn.Parameter(torch.randn(n, width))  # query per k
        self.out = nn.Linear(width, vocab)

    def forward(self, x):
        keys = self.embed(x) + self.where  # (b, n, width)
        scores = self.ask @ keys.transpose(1, 2) / width**0.5  # (b, n, n)
        return self.out(scores.softmax(-1) @ keys)  # (b, n, vocab)


def train(model, steps=200, lr=0.01):
    """Adam, written out (torch.optim takes seconds to import)."""
    params = list(model.parameters())
    mean = [torch.zeros_like(p) for p in params]  # running gradient
    size = [torch.zeros_like(p) for p in params]  # running squared
    for step in range(1, steps + 1):
        x, answers = sequences(64)
        logits = model(x)  # (64, n, vocab)
        loss = nn.functional.cross_entropy(
            logits.flatten(0, 1), answers.flatten())
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g, m, v in zip(params, grads, mean, size):
                m.lerp_(g, 0.1)  # m = 0.9 m + 0.1 g
                v.lerp_(g * g, 0.001)
                m_hat = m / (1 - 0.9**step)
                v_hat = v / (1 - 0.999**step)
                p -= lr * m_hat / (v_hat.sqrt() + 1e-8)
    return model


x, answers = sequences(2000)  # fresh sequences, never trained on
accuracy = {}
for name, model in [("RNN", Recurrent()), ("attention", Attention())]:
    count = sum(p.numel() for p in model.parameters())
    print(f"{name}: {count:,} parameters, 200 steps of training")
    train(model)
    with torch.no_grad():
        hits = model(x).argmax(-1) == answers  # (2000, n)
    accuracy[name] = hits.float().mean(0)  # (n,): one per k

print(f"accuracy naming the token k steps back (chance: 1/{vocab})")
print("    k     RNN   attention")
for k in range(1, n + 1):
    rnn, att = accuracy["RNN"][k - 1], accuracy["attention"][k - 1]
    print(f"  {k:3d}   {rnn:5.2f}   {att:5.2f}")

assert accuracy["attention"].min() > 0.95  # every distance, directly
assert accuracy["RNN"][0] > 0.9  # the last token: remembered
assert accuracy["RNN"][-1] < 0.5  # n steps back: mostly forgotten
