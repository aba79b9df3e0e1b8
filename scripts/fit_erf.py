"""Fits the rational erf used by the vector GELU: erf(x) ≈ x·P(x²)/Q(x²) on
[0, 4], P and Q of degree 5, Q(0) = 1.

Linearized weighted least squares (x·P − erf·Q = 0, divided by the last Q),
then Lawson-style reweighting by the error to move toward the minimax fit.
Prints the coefficients (highest degree last) and the max abs error in
double precision. Needs numpy and mpmath (e.g. the benchmark venv).
"""
import mpmath
import numpy as np

DEG_P, DEG_Q, ITERATIONS = 5, 5, 30
x = np.linspace(1e-6, 4.0, 40001)
f = np.array([float(mpmath.erf(v)) for v in x])
t = x * x
w = np.ones_like(x)
q_values = np.ones_like(x)
for it in range(ITERATIONS):
    columns = [x * t**i for i in range(DEG_P + 1)] + [-f * t**j for j in range(1, DEG_Q + 1)]
    a = np.stack(columns, 1) / q_values[:, None]
    b = f / q_values
    sw = np.sqrt(w)
    c, *_ = np.linalg.lstsq(a * sw[:, None], b * sw, rcond=None)
    p = c[:DEG_P + 1]
    q = np.concatenate([[1.0], c[DEG_P + 1:]])
    p_values = sum(p[i] * t**i for i in range(DEG_P + 1))
    q_values = sum(q[j] * t**j for j in range(DEG_Q + 1))
    err = x * p_values / q_values - f
    if it > 2:
        w = w * np.sqrt(np.abs(err) + 1e-30)
        w /= w.mean()
print("P:", ", ".join(repr(float(v)) for v in p))
print("Q:", ", ".join(repr(float(v)) for v in q))
print("max abs error (double):", np.abs(err).max())
