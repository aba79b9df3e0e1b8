import Foundation
import XCTest
@testable import Tessera
import TesseraKernelCore

/// The int8 smoothing of qkv's and fc1's input channels: the factors follow
/// their formula (with its guards), and the int8 norms with the smoothed
/// int8 weights compute what the fp32 norms with the fp32 weights do.
final class InputSmoothingTests: XCTestCase {
    func testFactorsFollowTheFormulaOnOddSizes() {
        let n = 5, k = 13
        var gamma = (0..<k).map { Float(sin(Double($0) * 1.7)) * 3 }
        var beta = (0..<k).map { Float(cos(Double($0) * 0.9)) }
        var w = (0..<(n * k)).map { Float(sin(Double($0) * 0.37)) * 0.2 }
        gamma[2] = 0; beta[2] = 0                     // a channel always 0: s = 1
        for c in 0..<n { w[c * k + 5] = 0 }           // a column no output reads: s = 1
        gamma[7] = 0; beta[7] = -0.5                  // β alone sets the range
        gamma[11] = .nan                              // never a non-finite factor
        let s = InputSmoothing.factors(gamma: gamma, beta: beta, weight: w, n: n, k: k)
        XCTAssertEqual(s.count, k)
        for j in 0..<k {
            let a = 4 * abs(Double(gamma[j])) + abs(Double(beta[j]))
            let m = (0..<n).map { abs(Double(w[$0 * k + j])) }.max()!
            let want = (a > 0 && m > 0 && a.isFinite) ? (a / m).squareRoot() : 1
            XCTAssertEqual(Double(s[j]), want, accuracy: 1e-6 * want, "channel \(j)")
        }
        XCTAssertEqual(s[2], 1); XCTAssertEqual(s[5], 1); XCTAssertEqual(s[11], 1)
        XCTAssertEqual(Double(s[7]), (0.5 / (0..<n).map { abs(Double(w[$0 * k + 7])) }.max()!).squareRoot(), accuracy: 1e-6)
    }

    /// W_int8 · (n ⊙ γ' + β') against W · (n ⊙ γ + β) for normalized rows n,
    /// with γ', β' the int8 norms: equal up to the weights' 8-bit rounding,
    /// and far from equal if the norms did not match the smoothed columns.
    func testInt8NormsAndWeightsKeepTheProduct() throws {
        for name in ["vit_hf", "dinov2_reg_hf", "dinov3_swiglu_hf_bf16"] {
            let model = try Model.load(path: fixturesDir + "/" + name)
            let s = model.spec, q = try model.quantized()
            try model.prepareFP32()
            let shapes = QuantizedWeights.shapes(s)
            for (i, block) in q.blocks.enumerated() {
                let fp = model.weights.blocks[i]
                for (int8, norm8, norm, linear, shape, label) in [
                    (block.qkv, block.norm1, fp.norm1, fp.qkv, shapes[0], "qkv"),
                    (block.fc1, block.norm2, fp.norm2, fp.fc1, shapes[2], "fc1")] {
                    let k = shape.k, kp = Int8Layout.depth(k)
                    var moved = false
                    for t in 0..<3 {
                        let x = (0..<k).map { Float(sin(Double($0 * (t + 2)) * 0.61 + Double(t))) * 1.3 }
                        var worst = 0.0, scale = 0.0
                        for c in 0..<shape.n {
                            var want = 0.0, got = 0.0
                            let packed = int8.packed + Int8Layout.columnOffset(c, depth: kp)
                            for j in 0..<k {
                                let w = Double(linear.packed[GemmLayout.columnOffset(c, depth: k) + j * GemmLayout.panelWidth])
                                want += w * Double(x[j] * norm.weight[j] + norm.bias[j])
                                let wq = Double(packed[(j / 4) * 64 + j % 4]) * Double(int8.scales[c])
                                got += wq * Double(x[j] * norm8.weight[j] + norm8.bias[j])
                                if abs(norm8.weight[j] - norm.weight[j]) > 1e-3 * abs(norm.weight[j]) { moved = true }
                            }
                            worst = max(worst, abs(got - want)); scale = max(scale, abs(want))
                        }
                        XCTAssertLessThan(worst, 0.03 * scale, "\(name) block \(i) \(label) row \(t)")
                    }
                    XCTAssertTrue(moved, "\(name) block \(i) \(label): the smoothing changed no channel")
                }
            }
        }
    }
}
