import TesseraKernelCore

/// Vectorized transcendental functions used by softmax and GELU.
///
/// Error bounds (checked against libm in the tests over the ranges used):
/// - `vexp`: relative error below 3e-7 for x in [-87, 88]; 0 below -87.3.
/// - `vexpSoftmax`: below 3e-7 for x in [-80, 0], 1e-7 for x in [-10, 0].
/// - `vgelu`: its erf (a rational fit, see below) has an absolute error
///   below 4e-7 in single precision, so GELU's is below 2e-7 · max(1, |x|).
enum VectorMath {
    static let log2e: Float = 1.44269504088896341
    static let ln2Hi: Float = 0.693145751953125
    static let ln2Lo: Float = 1.42860682030941723212e-6
    static let ln2: Float = 0.693147180559945309
    /// 1.5 * 2^23: adding it to a float of magnitude < 2^22 leaves its
    /// rounded integer value in the low mantissa bits.
    static let magic: Float = 12582912.0
}

/// Lane-wise maximum and minimum: one instruction each where the vectors
/// have one (see `VectorFloat.greater`). Where either lane is NaN, b's lane
/// is taken. (Before: sign-bit selects on the difference,
/// five integer operations; softmax's running maximum and floor with one
/// instead: attention 1–5 % faster, Xeon.)
@inline(__always)
func vmax<V: VectorFloat>(_ a: V, _ b: V) -> V { V.greater(a, b) }

@inline(__always)
func vmin<V: VectorFloat>(_ a: V, _ b: V) -> V { V.lesser(a, b) }

/// exp for any x, clamped to [−87.3, 88.3]: above 88.37, x·log2 e would
/// round to 128 and the result be infinite.
@inline(__always)
func vexp<V: VectorFloat>(_ x: V) -> V {
    vexpWithin(vmax(vmin(x, V(repeating: 88.3)), V(repeating: -87.3)))
}

/// exp for x in [−87.3, 88.3], unchecked (outside, the result is garbage);
/// vexp's body, so vexp's tests cover it. Near −87.3 the result is
/// subnormal, which costs a microcode assist per use on some CPUs: the
/// softmax floors its arguments higher, at −80.
@inline(__always)
func vexpWithin<V: VectorFloat>(_ x: V) -> V {
    let (shifted, n) = expExponent(x)
    var r = x
    V.madd(&r, n, V(repeating: -VectorMath.ln2Hi))
    V.madd(&r, n, V(repeating: -VectorMath.ln2Lo))
    // Taylor series of e^r on |r| <= ln2/2, degree 7: truncation < 2e-8.
    var p = V(repeating: 1.0 / 5040.0)
    p = horner(p, r, 1.0 / 720.0)
    p = horner(p, r, 1.0 / 120.0)
    p = horner(p, r, 1.0 / 24.0)
    p = horner(p, r, 1.0 / 6.0)
    p = horner(p, r, 0.5)
    p = horner(p, r, 1.0)
    p = horner(p, r, 1.0)
    return timesPowerOfTwo(p, shifted)
}

/// n = x·log2(e) rounded to the nearest integer, by adding 1.5·2²³ (plus
/// 127): the sum (`shifted`) holds n + 127 in its low mantissa bits (no
/// libm call). Fused multiply-adds here and in the reductions: four
/// operations fewer than separate ones (softmax, Xeon: attention 2–4 %
/// faster).
@inline(__always)
func expExponent<V: VectorFloat>(_ x: V) -> (shifted: V, n: V) {
    var shifted = V(repeating: VectorMath.magic + 127)
    V.madd(&shifted, x, V(repeating: VectorMath.log2e))
    return (shifted, shifted - (VectorMath.magic + 127))
}

/// p · 2^n for `shifted` from expExponent: shifted left by 23, n + 127
/// fills the exponent field and the bits of 1.5·2²³ leave the word.
@inline(__always)
func timesPowerOfTwo<V: VectorFloat>(_ p: V, _ shifted: V) -> V {
    let scaleBits = unsafeBitCast(shifted, to: V.Bits.self) &<< 23
    return p * unsafeBitCast(scaleBits, to: V.self)
}

/// exp for x in [−80, 0], as the softmax calls it: vexpWithin with a
/// degree-6 near-minimax polynomial (1.9e-9 in exact arithmetic, made with
/// `scripts/fit_exp.py`) instead of the degree-7 Taylor series and, where
/// multiply-adds are fused, one step of range reduction instead of two
/// (ln 2 rounded to a float is 1.9e-9 off, times |n| ≤ 116; unfused, the
/// product's rounding would cost up to 4e-6): two operations fewer
/// (Xeon, `tessera-gemm-bench --attention`, builds alternating: avx512
/// attention 2–4 % faster at 197–1370 tokens). Relative error below 3e-7
/// (below 1e-7 for x ≥ −10, the terms a softmax sum is made of), as vexp's.
@inline(__always)
func vexpSoftmax<V: VectorFloat>(_ x: V) -> V {
    let (shifted, n) = expExponent(x)
    var r = x
    if V.fused {
        V.madd(&r, n, V(repeating: -VectorMath.ln2))
    } else {
        V.madd(&r, n, V(repeating: -VectorMath.ln2Hi))
        V.madd(&r, n, V(repeating: -VectorMath.ln2Lo))
    }
    var p = V(repeating: 0.0013838169928871967)
    p = horner(p, r, 0.008374823674647648)
    p = horner(p, r, 0.041668201950107585)
    p = horner(p, r, 0.16666420052145822)
    p = horner(p, r, 0.4999999218445415)
    p = horner(p, r, 1.0000000363582626)
    p = horner(p, r, 1.0000000005474072)
    return timesPowerOfTwo(p, shifted)
}

/// p · x + c, fused where the instruction set has FMA.
@inline(__always)
func horner<V: VectorFloat>(_ p: V, _ x: V, _ c: Float) -> V {
    var acc = V(repeating: c)
    V.madd(&acc, p, x)
    return acc
}

/// GELU with the exact (erf) form, as PyTorch's default `nn.GELU()`:
/// x·Φ(x) = ½x + ½|x|·erf(|x|/√2), erf being odd, so no sign is put back
/// and the sum is one FMA (4–6 % faster than ½x·(1 + erf(x/√2)) with the
/// sign restored, Xeon, avx512 and avx2).
///
/// erf(a) ≈ a·P(a²)/Q(a²) on 0 ≤ a ≤ 4, P and Q of degree 5 (a weighted
/// least-squares fit refined toward minimax, made with
/// `scripts/fit_erf.py`: 2.2e-8 in exact arithmetic); beyond 4 erf rounds
/// to 1 in single precision. One division and ten FMAs, no exp.
@inline(__always)
func vgelu<V: VectorFloat>(_ x: V) -> V {
    let ax = unsafeBitCast(unsafeBitCast(x, to: V.Bits.self) & V.Bits(repeating: 0x7FFF_FFFF), to: V.self)
    let a = vmin(ax * 0.70710678118654752, V(repeating: 4))
    let t = a * a
    var p = V(repeating: 1.9759329297208694e-06)
    p = horner(p, t, 0.00028800000429893974)
    p = horner(p, t, 0.004000229149649464)
    p = horner(p, t, 0.0534570217742514)
    p = horner(p, t, 0.19616445959821685)
    p = horner(p, t, 1.1283789779439053)
    var q = V(repeating: 3.749015374115289e-05)
    q = horner(q, t, 0.0012155983251801589)
    q = horner(q, t, 0.015437540703730341)
    q = horner(q, t, 0.11644214294171308)
    q = horner(q, t, 0.5071774007985347)
    q = horner(q, t, 1.0)
    var y = 0.5 * x
    V.madd(&y, 0.5 * ax, a * p / q)
    return y
}

/// SiLU, x·σ(x) = x / (1 + e^−x): relative error below 5e-7 (vexp's and one
/// division). For x below −88.3 e^−x is clamped to e^88.3, still finite, so
/// the result is a tiny number of the right sign instead of a NaN.
@inline(__always)
func vsilu<V: VectorFloat>(_ x: V) -> V {
    x / (1.0 + vexp(-x))
}

/// Scalar twins for tails.
@inline(__always)
func sexp(_ x: Float) -> Float { vexp(SIMD4<Float>(repeating: x))[0] }
@inline(__always)
func sexpSoftmax(_ x: Float) -> Float { vexpSoftmax(SIMD4<Float>(repeating: x))[0] }
@inline(__always)
func sgelu(_ x: Float) -> Float { vgelu(SIMD4<Float>(repeating: x))[0] }
@inline(__always)
func ssilu(_ x: Float) -> Float { vsilu(SIMD4<Float>(repeating: x))[0] }
