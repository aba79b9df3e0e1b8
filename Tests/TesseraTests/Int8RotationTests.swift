import XCTest
@testable import Tessera
import TesseraKernelCore

/// The rotation before int8 quantization (`Int8Rotation`): the reference is
/// the Walsh-Hadamard matrix, every variant's quantizer rotates to the same
/// floats, and a model's rotated int8 weights times rotated inputs give the
/// fp32 product.
final class Int8RotationTests: XCTestCase {
    /// H[i][j] = (-1)^popcount(i & j), Sylvester's Hadamard matrix.
    func hadamard(_ i: Int, _ j: Int) -> Float { (i & j).nonzeroBitCount % 2 == 0 ? 1 : -1 }

    func testBlockIsTheLargestPowerOfTwoUpTo128FromSixteen() {
        XCTAssertEqual(Int8Rotation.block(k: 384), 128)
        XCTAssertEqual(Int8Rotation.block(k: 3072), 128)
        XCTAssertEqual(Int8Rotation.block(k: 48), 16)
        XCTAssertEqual(Int8Rotation.block(k: 32), 32)
        XCTAssertEqual(Int8Rotation.block(k: 64), 64)
        XCTAssertEqual(Int8Rotation.block(k: 200), 0)   // 8 divides it, 16 does not
        XCTAssertEqual(Int8Rotation.block(k: 77), 0)
        XCTAssertEqual(Int8Rotation.block(k: 0), 0)
    }

    func testRotateIsTheSignedHadamardProductBlockByBlock() {
        let signs = Int8Rotation.signs
        for (k, block) in [(16, 16), (48, 16), (64, 32), (384, 128), (256, 64)] {
            var r = TestRandom(seed: UInt64(k * 31 + block))
            let x = r.array(k, scale: 2)
            var y = x
            y.withUnsafeMutableBufferPointer { Int8Rotation.rotate($0.baseAddress!, k: k, block: block) }
            for b in stride(from: 0, to: k, by: block) {
                for i in 0..<block {
                    var want: Double = 0
                    for j in 0..<block { want += Double(hadamard(i, j)) * Double(signs[j]) * Double(x[b + j]) }
                    XCTAssertEqual(Double(y[b + i]), want, accuracy: 1e-4 * Double(block), "k \(k) block \(block) [\(b + i)]")
                }
            }
            // (H·D)(H·D)ᵀ = block·I: lengths grow by √block.
            for b in stride(from: 0, to: k, by: block) {
                let before = (b..<(b + block)).reduce(0.0) { $0 + Double(x[$1]) * Double(x[$1]) }
                let after = (b..<(b + block)).reduce(0.0) { $0 + Double(y[$1]) * Double(y[$1]) }
                XCTAssertEqual(after, Double(block) * before, accuracy: 1e-5 * Double(block) * before, "k \(k): length")
            }
            let used = (0..<block).map { signs[$0] }
            XCTAssertTrue(used.allSatisfy { $0 == 1 || $0 == -1 }, "signs are ±1")
            XCTAssertTrue(used.contains(1) && used.contains(-1), "both signs occur in \(block)")
        }
    }

    /// Every variant, on 1 and 4 threads, rotates x in place to the
    /// reference's floats exactly, and writes the same bytes; the bytes
    /// stand for the rotated rows within half a level.
    func testQuantizerRotatesExactlyOnEveryVariant() {
        // Blocks of 1-8 vectors on every width; a ViT's 197 and 257 rows.
        for (m, k) in [(1, 16), (5, 48), (13, 128), (7, 384), (3, 272), (197, 384), (257, 64)] {
            let block = Int8Rotation.block(k: k)
            XCTAssertGreaterThan(block, 0)
            var r = TestRandom(seed: UInt64(m * 1000 + k))
            var x = r.array(m * k, scale: 1.5)
            x[k / 3] = 40   // one large channel, as LayerNorm outputs have
            var want = x
            want.withUnsafeMutableBufferPointer { Int8Rotation.rotate($0.baseAddress!, rows: m, k: k, block: block) }
            var first: [UInt8]? = nil
            for (name, table) in kernelVariants() {
                for threads in [1, 4] {
                    var rows = x
                    var buf = [Float](repeating: .nan, count: Int8Layout.activationFloats(m: m, k: k))
                    rows.withUnsafeMutableBufferPointer { xp in buf.withUnsafeMutableBufferPointer { bp in
                        let q = QuantizeArgs(x: xp.baseAddress!, ldx: k, rows: m, k: k, levels: 255, rotation: block,
                                             buffer: bp.baseAddress!)
                        for t in 0..<threads { table.quantizeRows(q, t, threads) }
                    }}
                    XCTAssertEqual(rows.map(\.bitPattern), want.map(\.bitPattern), "\(m)x\(k) \(name) \(threads) threads: rotated rows")
                    let bytes = buf.withUnsafeBytes { Array($0) }
                    if let first { XCTAssertEqual(first, bytes, "\(m)x\(k) \(name) \(threads) threads: bytes differ") }
                    else { first = bytes }
                    buf.withUnsafeMutableBufferPointer { bp in
                        let q = Int8Rows(bp.baseAddress!, rows: m, k: k)
                        for i in 0..<m {
                            for j in 0..<k {
                                let back = q.scales[i] * Float(Int32(q.byte(i, j)) - q.zeros[i])
                                XCTAssertLessThanOrEqual(abs(back - want[i * k + j]), q.scales[i] * 0.5001 + 1e-5,
                                                         "\(name) [\(i)][\(j)]")
                            }
                        }
                    }
                }
            }
        }
    }

    /// For every fixture's blocks: the int8 weights (rows rotated) times the
    /// rotated input is W·x up to the 8-bit rounding, and far from it with
    /// the input left unrotated (so the weights were rotated).
    func testRotatedWeightsKeepTheProduct() throws {
        for name in ["vit_hf", "dinov2_reg_hf", "dinov3_swiglu_hf_bf16"] {
            let model = try Model.load(path: fixturesDir + "/" + name)
            let s = model.spec, q = try model.quantized()
            try model.prepareFP32()
            let shapes = QuantizedWeights.shapes(s)
            for (i, block) in q.blocks.enumerated() {
                let fp = model.weights.blocks[i]
                for (int8, linear, shape, label) in [(block.qkv, fp.qkv, shapes[0], "qkv"), (block.proj, fp.proj, shapes[1], "proj"),
                                                     (block.fc1, fp.fc1, shapes[2], "fc1"), (block.fc2, fp.fc2, shapes[3], "fc2")] {
                    let k = shape.k, kp = Int8Layout.depth(k), rb = Int8Rotation.block(k: k)
                    XCTAssertGreaterThan(rb, 0, "\(name) \(label): k = \(k) should rotate")
                    var x = (0..<k).map { Float(sin(Double($0) * 0.61 + Double(i))) * 1.3 }
                    x[k / 2] = 25
                    var hx = x
                    hx.withUnsafeMutableBufferPointer { Int8Rotation.rotate($0.baseAddress!, k: k, block: rb) }
                    var worst = 0.0, unrotated = 0.0, scale = 0.0
                    for c in 0..<shape.n {
                        var want = 0.0, got = 0.0, plain = 0.0
                        let packed = int8.packed + Int8Layout.columnOffset(c, depth: kp)
                        for j in 0..<k {
                            want += Double(linear.packed[GemmLayout.columnOffset(c, depth: k) + j * GemmLayout.panelWidth]) * Double(x[j])
                            let wq = Double(packed[(j / 4) * 64 + j % 4]) * Double(int8.scales[c])
                            got += wq * Double(hx[j])
                            plain += wq * Double(x[j])
                        }
                        worst = max(worst, abs(got - want)); unrotated = max(unrotated, abs(plain - want))
                        scale = max(scale, abs(want))
                    }
                    XCTAssertLessThan(worst, 0.03 * scale, "\(name) block \(i) \(label)")
                    XCTAssertGreaterThan(unrotated, 0.3 * scale, "\(name) block \(i) \(label): the weights are not rotated")
                }
            }
        }
    }
}
