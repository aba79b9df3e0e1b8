"""Fits the polynomial of the softmax's exp (`vexpSoftmax`): e^r ≈ P(r) on
|r| ≤ ln2/2, P of degree 6, near-minimax in relative error.

Least squares on Chebyshev nodes, weighted by 1/e^r, then Lawson-style
reweighting by the error to move toward the minimax fit. Prints the
coefficients (lowest degree first) and the max relative error in double
precision, then the max relative error of the whole float32 computation as
the kernel does it (n = round(x·log2 e), r = x − n·ln2 with one rounded
ln 2, Horner with fused multiply-adds) for x in [−80, 0]. Needs numpy.
"""
import numpy as np

DEGREE, NODES, ITERATIONS = 6, 4000, 30
half = np.log(2) / 2
x = np.cos(np.pi * (np.arange(NODES) + 0.5) / NODES) * half
w = np.ones(NODES)
for _ in range(ITERATIONS):
    a = np.vander(x, DEGREE + 1, increasing=True) / np.exp(x)[:, None]
    c, *_ = np.linalg.lstsq(a * w[:, None], w, rcond=None)
    err = np.vander(x, DEGREE + 1, increasing=True) @ c / np.exp(x) - 1
    w = w * (1 + 50 * np.abs(err) / np.abs(err).max())
    w /= w.max()
print("coefficients (degree 0 first):", ", ".join(repr(float(v)) for v in c))
print(f"max relative error, exact arithmetic: {np.abs(err).max():.3g}")

f32 = np.float32
xs = np.linspace(-80, 0, 2_000_001).astype(f32)
magic = f32(12582912.0) + f32(127)
shifted = (xs.astype(np.float64) * np.float64(f32(1.44269504088896341)) + np.float64(magic)).astype(f32)
n = (shifted - magic).astype(f32)
r = (xs.astype(np.float64) - n.astype(np.float64) * np.float64(f32(np.log(2)))).astype(f32)
p = np.full_like(r, f32(c[-1]))
for v in c[-2::-1]:
    p = (p.astype(np.float64) * r + np.float64(f32(v))).astype(f32)
rel = np.abs(p.astype(np.float64) * np.exp2(n.astype(np.float64)) / np.exp(xs.astype(np.float64)) - 1)
print(f"max relative error, float32 on [-80, 0]: {rel.max():.3g}; on [-10, 0]: {rel[xs >= -10].max():.3g}")
