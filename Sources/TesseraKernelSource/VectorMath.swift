import TesseraKernelCore

/// Vectorized transcendental functions used by softmax and GELU.
///
/// Error bounds (checked against libm in the tests over the ranges used):
/// - `vexp`: relative error below 3e-7 for x in [-87, 88]; 0 below -87.3.
/// - `verf`: absolute error below 2e-7 (Abramowitz & Stegun 7.1.26 with an
///   exact exp), so GELU's absolute error is below 1e-7 * |x|.
enum VectorMath {
    static let log2e: Float = 1.44269504088896341
    static let ln2Hi: Float = 0.693145751953125
    static let ln2Lo: Float = 1.42860682030941723212e-6
    /// 1.5 * 2^23: adding it to a float of magnitude < 2^22 leaves its
    /// rounded integer value in the low mantissa bits.
    static let magic: Float = 12582912.0
}

@inline(__always)
func vexp<V: VectorFloat>(_ x0: V) -> V {
    let x = x0.clamped(lowerBound: V(repeating: -87.3), upperBound: V(repeating: 88.7))
    let n = (x * VectorMath.log2e).rounded(.toNearestOrEven)
    var r = x - n * VectorMath.ln2Hi
    r = r - n * VectorMath.ln2Lo
    // Taylor series of e^r on |r| <= ln2/2, degree 7: truncation < 2e-8.
    var p = V(repeating: 1.0 / 5040.0)
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    let shifted = n + VectorMath.magic
    let nBits = unsafeBitCast(shifted, to: V.Bits.self) &- unsafeBitCast(V(repeating: VectorMath.magic), to: V.Bits.self)
    let scaleBits = (nBits &+ 127) &<< 23
    return p * unsafeBitCast(scaleBits, to: V.self)
}

@inline(__always)
func verf<V: VectorFloat>(_ x: V) -> V {
    let zero = V(repeating: 0)
    let ax = x.replacing(with: -x, where: x .< zero)
    let t = 1.0 / (1.0 + 0.3275911 * ax)
    var p = V(repeating: 1.061405429)
    p = p * t - 1.453152027
    p = p * t + 1.421413741
    p = p * t - 0.284496736
    p = p * t + 0.254829592
    p = p * t
    let y = 1.0 - p * vexp(-(ax * ax))
    return y.replacing(with: -y, where: x .< zero)
}

/// GELU with the exact (erf) form, as PyTorch's default `nn.GELU()`.
@inline(__always)
func vgelu<V: VectorFloat>(_ x: V) -> V {
    0.5 * x * (1.0 + verf(x * 0.70710678118654752))
}

/// Scalar twins for tails.
@inline(__always)
func sexp(_ x: Float) -> Float { vexp(SIMD4<Float>(repeating: x))[0] }
@inline(__always)
func sgelu(_ x: Float) -> Float { vgelu(SIMD4<Float>(repeating: x))[0] }
