"""An Elman RNN in a few lines, and how long the first input still matters."""
import numpy as np

rng = np.random.default_rng(0)
n, d = 30, 16  # tokens, features
x = rng.standard_normal((n, d))  # (n, d)
w_xh = rng.standard_normal((d, d)) / np.sqrt(d)
base_w_hh = rng.standard_normal((d, d)) / np.sqrt(d)


def rnn(x, w_hh):
    h, states = np.zeros(d), []
    for x_t in x:  # strictly in order: step t needs step t-1
        h = np.tanh(x_t @ w_xh + h @ w_hh)
        states.append(h)
    return np.stack(states)  # (n, d): one state per token


def effect_of_first_input(w_hh):
    """Size of dh_t/dx_0 for every t: the chain rule, one factor per step."""
    h = rnn(x, w_hh)
    jacobian = (1 - h[0] ** 2)[:, None] * w_xh.T  # dh_0/dx_0, (d, d)
    sizes = [np.linalg.norm(jacobian)]
    for t in range(1, n):
        # dh_t/dx_0 = diag(1 - h_t^2) @ w_hh.T @ dh_{t-1}/dx_0, (d, d)
        jacobian = (1 - h[t] ** 2)[:, None] * (w_hh.T @ jacobian)
        sizes.append(np.linalg.norm(jacobian))
    return np.array(sizes)  # (n,)


scales = (0.5, 1.0, 2.0)
effects = {s: effect_of_first_input(s * base_w_hh) for s in scales}
print("size of dh_t/dx_0 for three scales of the recurrent weights")
print("   t" + "".join(f"   scale {s:<3}" for s in scales))
for t in (0, 1, 2, 5, 10, 20, 29):
    print(f"  {t:2d}" + "".join(f"   {effects[s][t]:9.2e}" for s in scales))

for s, effect in effects.items():
    assert effect[-1] < effect[0] / 10, s  # faded >10x over 30 steps
