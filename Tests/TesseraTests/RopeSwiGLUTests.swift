import XCTest
@testable import Tessera
import TesseraKernelCore
import TesseraKernelsAVX2
import TesseraKernelsAVX512
import TesseraKernelsCheck
import TesseraKernelsPortable

/// DINOv3's kernels against naive twins: the RoPE rotation and its tables,
/// SwiGLU's silu(gate) ⊙ up, and SiLU's accuracy, on every variant, odd sizes.
final class RopeSwiGLUTests: XCTestCase {
    /// The tables from the definition, in double: coordinates (i + 0.5)/n·2 − 1,
    /// periods θ^(4k/d), [y, x] angles twice.
    func naiveTables(gridH: Int, gridW: Int, headDim: Int, theta: Double) -> (cos: [Double], sin: [Double]) {
        let q = headDim / 4
        var c = [Double](), s = [Double]()
        for y in 0..<gridH {
            for x in 0..<gridW {
                let cy = (Double(y) + 0.5) / Double(gridH) * 2 - 1, cx = (Double(x) + 0.5) / Double(gridW) * 2 - 1
                var angles = [Double]()
                for coord in [cy, cx] { for k in 0..<q { angles.append(2 * Double.pi * coord / pow(theta, Double(4 * k) / Double(headDim))) } }
                angles += angles
                c += angles.map { Foundation.cos($0) }; s += angles.map { Foundation.sin($0) }
            }
        }
        return (c, s)
    }

    func testRopeTablesMatchTheDefinition() {
        for (gh, gw, hd) in [(1, 1, 4), (3, 5, 16), (14, 14, 64), (2, 7, 12)] {
            let n = RopeTable.floats(gridH: gh, gridW: gw, headDim: hd)
            var c = [Float](repeating: .nan, count: n), s = [Float](repeating: .nan, count: n)
            c.withUnsafeMutableBufferPointer { cp in s.withUnsafeMutableBufferPointer { sp in
                RopeTable.build(gridH: gh, gridW: gw, headDim: hd, theta: 100, cosTable: cp.baseAddress!, sinTable: sp.baseAddress!)
            }}
            let want = naiveTables(gridH: gh, gridW: gw, headDim: hd, theta: 100)
            XCTAssertLessThanOrEqual(maxAbsDiff(c, want.cos.map(Float.init)), 2e-6, "cos \(gh)x\(gw) d\(hd)")
            XCTAssertLessThanOrEqual(maxAbsDiff(s, want.sin.map(Float.init)), 2e-6, "sin \(gh)x\(gw) d\(hd)")
        }
    }

    func testRopeMatchesNaiveOnOddSizes() {
        for (name, table) in kernelVariants() {
            for (images, prefix, gh, gw, heads, hd) in [(1, 0, 1, 1, 1, 4), (2, 5, 3, 5, 3, 16), (1, 1, 2, 7, 2, 12),
                                                        (3, 5, 4, 4, 6, 64), (1, 2, 5, 3, 1, 36), (2, 5, 1, 9, 4, 8),
                                                        (1, 1, 14, 14, 6, 64), (1, 1, 16, 16, 3, 64), (1, 5, 1, 2, 1, 4)] {
                let patches = gh * gw, tokens = prefix + patches, d = heads * hd, ld = 3 * d
                var r = TestRandom(seed: UInt64(images * 97 + tokens * 13 + hd))
                let input = r.array(images * tokens * ld)
                let n = RopeTable.floats(gridH: gh, gridW: gw, headDim: hd)
                var tables = [Float](repeating: 0, count: 2 * n)
                tables.withUnsafeMutableBufferPointer {
                    RopeTable.build(gridH: gh, gridW: gw, headDim: hd, theta: 100, cosTable: $0.baseAddress!, sinTable: $0.baseAddress! + n)
                }
                // Naive: x·cos + rotate_half(x)·sin on q and k of the patch tokens.
                var want = input
                for b in 0..<images {
                    for p in 0..<patches {
                        let row = (b * tokens + prefix + p) * ld
                        for part in 0..<2 {
                            for h in 0..<heads {
                                let at = row + part * d + h * hd
                                let x = Array(input[at..<(at + hd)])
                                for j in 0..<hd {
                                    let rot = j < hd / 2 ? -x[j + hd / 2] : x[j - hd / 2]
                                    want[at + j] = x[j] * tables[p * hd + j] + rot * tables[n + p * hd + j]
                                }
                            }
                        }
                    }
                }
                for threads in [1, 3] {
                    var got = input
                    got.withUnsafeMutableBufferPointer { g in tables.withUnsafeBufferPointer { t in
                        let args = RopeArgs(qkv: g.baseAddress!, ld: ld, images: images, tokens: tokens, prefix: prefix,
                                            heads: heads, headDim: hd, kOffset: d, cos: t.baseAddress!, sin: t.baseAddress! + n)
                        for i in 0..<threads { table.rope(args, i, threads) }
                    }}
                    XCTAssertLessThanOrEqual(maxAbsDiff(got, want), 1e-6, "\(name) rope \(images)x(\(prefix)+\(gh)x\(gw)) \(heads)x\(hd), \(threads) threads")
                    // v and the prefix tokens are untouched.
                    for b in 0..<images {
                        for t in 0..<tokens {
                            let row = (b * tokens + t) * ld
                            let from = t < prefix ? row : row + 2 * d
                            XCTAssertEqual(Array(got[from..<(row + ld)]), Array(input[from..<(row + ld)]), "\(name): untouched")
                        }
                    }
                }
            }
        }
    }

    func testSwiGLUMatchesNaiveOnOddSizes() {
        for (name, table) in kernelVariants() {
            for (rows, n) in [(1, 1), (3, 7), (5, 48), (2, 1000), (7, 33), (4, 1536), (197, 48), (257, 33), (7, 257), (1, 197)] {
                var r = TestRandom(seed: UInt64(rows * 7 + n))
                let x = r.array(rows * 2 * n, scale: 6)
                var want = [Float](repeating: 0, count: rows * n)
                for i in 0..<rows {
                    for j in 0..<n {
                        let g = Double(x[i * 2 * n + j]), u = Double(x[i * 2 * n + n + j])
                        want[i * n + j] = Float(g / (1 + exp(-g)) * u)
                    }
                }
                for threads in [1, 2] {
                    var y = [Float](repeating: .nan, count: rows * n)
                    x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
                        let args = SwiGLUArgs(x: xp.baseAddress!, ldx: 2 * n, y: yp.baseAddress!, ldy: n, rows: rows, n: n)
                        for t in 0..<threads { table.swiglu(args, t, threads) }
                    }}
                    var worst: Float = 0
                    for k in y.indices { worst = max(worst, abs(y[k] - want[k]) / max(1, abs(want[k]))) }
                    XCTAssertLessThanOrEqual(worst, 2e-6, "\(name) swiglu \(rows)x\(n), \(threads) threads")
                }
            }
        }
    }

    func testSiluRelativeError() {
        typealias Fn = (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
        var fns: [(String, Fn)] = [("portable", TesseraKernelsPortable.VariantKernels.silu)]
        if Machine.hasAVX2 { fns += [("avx2", TesseraKernelsAVX2.VariantKernels.silu), ("avx512-on-avx2", TesseraKernelsCheck.VariantKernels.silu)] }
        if Machine.hasAVX512 { fns.append(("avx512", TesseraKernelsAVX512.VariantKernels.silu)) }
        let xs = stride(from: Float(-80), through: 80, by: 0.00917).map { $0 } + [-200, -1000, 1000]
        for (name, silu) in fns {
            var y = [Float](repeating: .nan, count: xs.count)
            xs.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { silu(xp.baseAddress!, $0.baseAddress!, xs.count) } }
            var worst = 0.0
            for i in xs.indices {
                let x = Double(xs[i]), want = x / (1 + exp(-x))
                XCTAssertTrue(y[i].isFinite, "\(name): silu(\(x)) = \(y[i])")
                if abs(want) > 1e-30 { worst = max(worst, abs(Double(y[i]) - want) / abs(want)) }
            }
            print("SiLU max relative error (\(name)): \(worst)")
            XCTAssertLessThan(worst, 5e-7, name)
        }
    }
}
