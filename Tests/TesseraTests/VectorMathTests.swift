import XCTest
@testable import Tessera
import TesseraKernelsAVX2
import TesseraKernelsAVX512
import TesseraKernelsCheck
import TesseraKernelsPortable

/// The vector exp and GELU against libm over the ranges that matter, with
/// the error bounds stated in VectorMath.swift.
final class VectorMathTests: XCTestCase {
    typealias Fn = (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void

    /// Each variant's exp, GELU and softmax exp over arrays.
    func variants() -> [(name: String, exp: Fn, gelu: Fn, expSoftmax: Fn)] {
        var v: [(name: String, exp: Fn, gelu: Fn, expSoftmax: Fn)] = [
            ("portable", TesseraKernelsPortable.VariantKernels.exp, TesseraKernelsPortable.VariantKernels.gelu,
             TesseraKernelsPortable.VariantKernels.expSoftmax)]
        if Machine.hasAVX2 {
            v.append(("avx2", TesseraKernelsAVX2.VariantKernels.exp, TesseraKernelsAVX2.VariantKernels.gelu,
                      TesseraKernelsAVX2.VariantKernels.expSoftmax))
            // The 16-lane vectors built for AVX2 (the AVX-512 code's arithmetic on any AVX2 CPU).
            v.append(("avx512-on-avx2", TesseraKernelsCheck.VariantKernels.exp, TesseraKernelsCheck.VariantKernels.gelu,
                      TesseraKernelsCheck.VariantKernels.expSoftmax))
        }
        if Machine.hasAVX512 {
            v.append(("avx512", TesseraKernelsAVX512.VariantKernels.exp, TesseraKernelsAVX512.VariantKernels.gelu,
                      TesseraKernelsAVX512.VariantKernels.expSoftmax))
        }
        return v
    }

    func testExpRelativeError() {
        let xs = stride(from: Float(-87), through: 88, by: 0.0137).map { $0 }
        for (name, exp_, _, _) in variants() {
            var y = [Float](repeating: 0, count: xs.count)
            xs.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { exp_(xp.baseAddress!, $0.baseAddress!, xs.count) } }
            var worst = 0.0
            for i in xs.indices {
                let want = exp(Double(xs[i]))
                worst = max(worst, abs(Double(y[i]) - want) / want)
            }
            print("exp max relative error (\(name)): \(worst)")
            XCTAssertLessThan(worst, 3e-7, name)
        }
        for (name, exp_, _, _) in variants() {
            // Far below the range: exactly 0-ish, never NaN.
            var y = [Float](repeating: 1, count: 16)
            let low = [Float](repeating: -1000, count: 16)
            low.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { exp_(xp.baseAddress!, $0.baseAddress!, 16) } }
            XCTAssertTrue(y.allSatisfy { $0 >= 0 && $0 < 1e-37 }, name)
            // Above it: clamped to a finite e^88.3, never infinite (88.4–88.7
            // once rounded to 2^128).
            let high: [Float] = [88.2, 88.3, 88.38, 88.4, 88.5, 88.6, 88.7, 88.72, 89, 100, 1000, 1e30, 87, 88, 88.1, 88.25]
            high.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { exp_(xp.baseAddress!, $0.baseAddress!, 16) } }
            XCTAssertTrue(y.allSatisfy { $0.isFinite && $0 > 6e37 }, "\(name): \(y)")
        }
    }

    /// The softmax's exp on its range, [−80, 0], against libm: the bound in
    /// VectorMath.swift, and tighter where softmax sums are made.
    func testSoftmaxExpRelativeError() {
        // An odd count, so the scalar tail runs too.
        let edges: [Float] = [0, -0.0, -80, -1e-30, -0.3465736, -0.3465737]
        let xs: [Float] = stride(from: Float(-80), through: 0, by: 0.000913).map { $0 } + edges
        for (name, _, _, f) in variants() {
            var y = [Float](repeating: 0, count: xs.count)
            xs.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { f(xp.baseAddress!, $0.baseAddress!, xs.count) } }
            var worst = 0.0, worstNear = 0.0
            for i in xs.indices {
                let want = exp(Double(xs[i]))
                let e = abs(Double(y[i]) - want) / want
                worst = max(worst, e)
                if xs[i] >= -10 { worstNear = max(worstNear, e) }
            }
            print("softmax exp max relative error (\(name)): \(worst), for x ≥ −10: \(worstNear)")
            XCTAssertLessThan(worst, 3e-7, name)
            XCTAssertLessThan(worstNear, 1.5e-7, name)
        }
    }

    func testGeluAbsoluteError() {
        let xs = stride(from: Float(-12), through: 12, by: 0.00731).map { $0 }
        for (name, _, gelu, _) in variants() {
            var y = [Float](repeating: 0, count: xs.count)
            xs.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { gelu(xp.baseAddress!, $0.baseAddress!, xs.count) } }
            var worst = 0.0
            for i in xs.indices {
                let x = Double(xs[i])
                let want = 0.5 * x * (1 + erf(x / 2.0.squareRoot()))
                worst = max(worst, abs(Double(y[i]) - want) / max(1, abs(x)))
            }
            print("GELU max error / max(1,|x|) (\(name)): \(worst)")
            XCTAssertLessThan(worst, 2e-7, name)
        }
    }
}
