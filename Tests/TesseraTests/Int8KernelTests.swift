import XCTest
@testable import Tessera
import TesseraKernelCore

/// The int8 tiles, the row quantizer and the int8 GEMM against plain twins,
/// on odd sizes, for every variant and every tile this CPU runs.
final class Int8KernelTests: XCTestCase {
    /// Every (variant, tile) pair this CPU runs.
    func int8Variants() -> [(String, KernelTable, Int8Tile)] {
        kernelVariants().flatMap { (name, table) in table.int8Tiles.map { (name, table, $0) } }
    }

    struct Bytes {
        var state: UInt64
        mutating func next() -> UInt64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
    }

    func testTilesMatchNaiveSums() {
        for (name, _, tile) in int8Variants() {
            for kp in [4, 8, 12, 100, 772] {
                var r = Bytes(state: UInt64(kp) &* 0x9E3779B97F4A7C15 | 1)
                // A 12-row panel; the tile's rows start at row `first` of it.
                let rowsA = (0..<12).map { _ in (0..<kp).map { _ in UInt8(r.next() % UInt64(tile.levels + 1)) } }
                var panel = [UInt8](repeating: 0, count: 12 * kp)
                for i in 0..<12 { for k in 0..<kp { panel[(k / 4) * 48 + i * 4 + k % 4] = rowsA[i][k] } }
                let first = 12 - tile.mr
                // Two panels' worth (32 columns), extremes included.
                var w = [[Int8]](repeating: [Int8](repeating: 0, count: kp), count: 32)
                for c in 0..<32 { for k in 0..<kp { w[c][k] = Int8(truncatingIfNeeded: r.next()) } }
                w[0] = [Int8](repeating: -128, count: kp); w[1] = [Int8](repeating: 127, count: kp)
                var packed = [Int8](repeating: 0, count: 32 * kp)
                for c in 0..<32 { for k in 0..<kp { packed[Int8Layout.columnOffset(c, depth: kp) + (k / 4) * 64 + k % 4] = w[c][k] } }
                // Every aligned tile position across the two panels.
                for col in stride(from: 0, to: 32, by: tile.nr) {
                    var out = [Int32](repeating: -1, count: tile.mr * tile.nr)
                    panel.withUnsafeBufferPointer { ap in packed.withUnsafeBufferPointer { bp in out.withUnsafeMutableBufferPointer { op in
                        tile.run(kp, ap.baseAddress! + 4 * first, bp.baseAddress! + Int8Layout.columnOffset(col, depth: kp),
                                 tile.halfOffset(col: col, depth: kp), op.baseAddress!, tile.nr)
                    }}}
                    for i in 0..<tile.mr {
                        for j in 0..<tile.nr {
                            var s: Int32 = 0
                            for k in 0..<kp { s += Int32(rowsA[first + i][k]) * Int32(w[col + j][k]) }
                            if out[i * tile.nr + j] != s {
                                XCTFail("\(name) \(tile.name) kp \(kp) col \(col): [\(i)][\(j)] \(out[i * tile.nr + j]) != \(s)")
                                return
                            }
                        }
                    }
                }
            }
            print("int8 tile \(tile.name) checked on variant \(name)")
        }
    }

    /// Quantizes x [m, k] with the variant's quantizer on `threads` threads.
    func quantize(_ table: KernelTable, _ x: [Float], m: Int, k: Int, levels: Int, threads: Int) -> [Float] {
        var buf = [Float](repeating: .nan, count: Int8Layout.activationFloats(m: m, k: k))
        var rows = x
        rows.withUnsafeMutableBufferPointer { xp in buf.withUnsafeMutableBufferPointer { bp in
            let q = QuantizeArgs(x: xp.baseAddress!, ldx: k, rows: m, k: k, levels: levels, buffer: bp.baseAddress!)
            for t in 0..<threads { table.quantizeRows(q, t, threads) }
        }}
        return buf
    }

    func testQuantizeRowsIsExactAndTheSameOnEveryVariant() {
        // Odd sizes: vector tails of every width, one row, a ViT's 197 and 257 rows.
        for (m, k) in [(15, 77), (1, 1), (7, 7), (1, 257), (197, 17), (257, 197)] {
            checkQuantizeRows(m: m, k: k)
        }
    }

    func checkQuantizeRows(m: Int, k: Int) {
        var r = TestRandom(seed: UInt64(3 + m * k))
        var x = r.array(m * k, scale: 3)
        if m >= 5 {
            for i in 0..<k { x[2 * k + i] = 0 }                  // a zero row
            for i in 0..<k { x[3 * k + i] = 1.5 }                // positive only
            for i in 0..<k { x[4 * k + i] = -Float(i) / 7 }      // negative only
        }
        for levels in [255, 127] {
            var first: [UInt8]? = nil
            for (name, table) in kernelVariants() {
                for threads in [1, 4] {
                    let buf = quantize(table, x, m: m, k: k, levels: levels, threads: threads)
                    let bytes = buf.withUnsafeBufferPointer { bp -> [UInt8] in
                        let raw = UnsafeRawBufferPointer(bp)
                        return Array(raw)
                    }
                    if let first { XCTAssertEqual(first, bytes, "\(m)x\(k) \(name) \(threads) threads, levels \(levels): bytes differ") }
                    else { first = bytes }
                    buf.withUnsafeBufferPointer { bp in
                        let rows = Int8Rows(UnsafeMutablePointer(mutating: bp.baseAddress!), rows: m, k: k)
                        for i in 0..<m {
                            let s = rows.scales[i], z = rows.zeros[i]
                            XCTAssert(z >= 0 && z <= levels, "zero point \(z)")
                            for j in 0..<k {
                                let q = rows.byte(i, j)
                                XCTAssertLessThanOrEqual(Int(q), levels)
                                let back = s * Float(Int32(q) - z)
                                XCTAssertLessThanOrEqual(abs(back - x[i * k + j]), s * 0.5001 + 1e-6, "\(name) row \(i) col \(j)")
                                if x[i * k + j] == 0 { XCTAssertEqual(back, 0, "zero must be exact") }
                            }
                            for j in k..<rows.rowBytes { XCTAssertEqual(rows.byte(i, j), 0, "padding") }
                        }
                        for i in m..<Int8Layout.paddedRows(m) {
                            for j in 0..<rows.rowBytes { XCTAssertEqual(rows.byte(i, j), 0, "padding row") }
                        }
                    }
                }
            }
        }
    }

    /// Quantized weights for W [n, k] and what they stand for.
    struct QuantizedWeight {
        var packed: [Int8], scales: [Float], sums: [Int32]
    }

    func quantizeWeights(_ w: [Float], n: Int, k: Int) -> QuantizedWeight {
        var q = QuantizedWeight(packed: [Int8](repeating: 99, count: Int8Layout.packedBytes(n: n, k: k)),
                                scales: [Float](repeating: .nan, count: Int8Layout.paddedColumns(n)),
                                sums: [Int32](repeating: 99, count: Int8Layout.paddedColumns(n)))
        q.packed.withUnsafeMutableBufferPointer { p in q.scales.withUnsafeMutableBufferPointer { s in q.sums.withUnsafeMutableBufferPointer { u in
            Int8Layout.quantizeWeights(n: n, k: k, weight: { w[$0 * k + $1] }, packed: p.baseAddress!, scales: s.baseAddress!, sums: u.baseAddress!)
        }}}
        return q
    }

    func testWeightQuantizationIsSymmetricPerColumn() {
        let n = 37, k = 29
        var r = TestRandom(seed: 11)
        var w = r.array(n * k)
        for j in 0..<k { w[5 * k + j] = 0 }
        let q = quantizeWeights(w, n: n, k: k)
        let kp = Int8Layout.depth(k)
        for c in 0..<Int8Layout.paddedColumns(n) {
            var sum: Int32 = 0
            for j in 0..<kp {
                let v = q.packed[Int8Layout.columnOffset(c, depth: kp) + (j / 4) * 64 + j % 4]
                sum += Int32(v)
                if c >= n || j >= k { XCTAssertEqual(v, 0, "padding \(c) \(j)"); continue }
                XCTAssert(v >= -127 && v <= 127)
                XCTAssertLessThanOrEqual(abs(q.scales[c] * Float(v) - w[c * k + j]), q.scales[c] * 0.5001)
            }
            XCTAssertEqual(sum, q.sums[c], "column \(c)")
            if c < n && c != 5 { XCTAssertEqual((0..<k).map { abs(w[c * k + $0]) }.max()! / 127, q.scales[c], accuracy: 1e-9) }
        }
        XCTAssertEqual(q.scales[5], 1, "an all-zero column gets scale 1")
    }

    /// The int8 GEMM on a variant and tile against the same arithmetic done
    /// plainly: exact integer sums of the quantized values, then dequantized,
    /// bias, GELU, scale and residual in double.
    func runInt8Gemm(_ table: KernelTable, _ tile: Int8Tile, m: Int, n: Int, k: Int, threads: Int, rowBlock: Int,
                     epilogue: Bool, chunked: Bool, seed: UInt64) -> (got: [Float], want: [Float]) {
        var r = TestRandom(seed: seed)
        let x = r.array(m * k, scale: 2), w = r.array(n * k, scale: 0.5)
        let bias = r.array(n), scale = r.array(n), residual = r.array(m * n)
        let qa = quantize(table, x, m: m, k: k, levels: tile.levels, threads: 1)
        let qw = quantizeWeights(w, n: n, k: k)
        var c = [Float](repeating: .nan, count: m * n)
        let stride = Int8GemmArgs.scratchFloats + 16
        var scratch = [Float](repeating: .nan, count: stride * threads)
        qa.withUnsafeBufferPointer { ap in qw.packed.withUnsafeBufferPointer { bp in qw.scales.withUnsafeBufferPointer { sbp in
            qw.sums.withUnsafeBufferPointer { sup in bias.withUnsafeBufferPointer { biasp in scale.withUnsafeBufferPointer { sp in
                residual.withUnsafeBufferPointer { rp in c.withUnsafeMutableBufferPointer { cp in scratch.withUnsafeMutableBufferPointer { scp in
                    let ep = epilogue ? GemmEpilogue(bias: biasp.baseAddress, activation: .gelu, scale: sp.baseAddress,
                                                     addend: rp.baseAddress, ldAddend: n) : GemmEpilogue()
                    let counter = UnsafeMutablePointer<Int>.allocate(capacity: 1)
                    counter.pointee = 0
                    defer { counter.deallocate() }
                    let g = Int8GemmArgs(m: m, n: n, k: k, a: ap.baseAddress!,
                                         b: Int8Weights(packed: bp.baseAddress!, scales: sbp.baseAddress!, sums: sup.baseAddress!),
                                         tile: tile, c: cp.baseAddress!, ldc: n, epilogue: ep, rowBlock: rowBlock,
                                         scratch: scp.baseAddress!, scratchStride: stride, counter: chunked ? counter : nil)
                    for t in 0..<threads { table.int8Gemm(g, t, threads) }
                }}}
            }}}
        }}}
        var want = [Float](repeating: 0, count: m * n)
        qa.withUnsafeBufferPointer { ap in
            let rows = Int8Rows(UnsafeMutablePointer(mutating: ap.baseAddress!), rows: m, k: k)
            let kp = Int8Layout.depth(k)
            for i in 0..<m {
                for j in 0..<n {
                    var s: Int64 = 0
                    for p in 0..<k {
                        let qb = qw.packed[Int8Layout.columnOffset(j, depth: kp) + (p / 4) * 64 + p % 4]
                        s += (Int64(rows.byte(i, p)) - Int64(rows.zeros[i])) * Int64(qb)
                    }
                    var v = Double(s) * Double(rows.scales[i]) * Double(qw.scales[j])
                    if epilogue {
                        v += Double(bias[j])
                        v = 0.5 * v * (1 + erf(v / 2.0.squareRoot()))
                        v = v * Double(scale[j]) + Double(residual[i * n + j])
                    }
                    want[i * n + j] = Float(v)
                }
            }
        }
        return (c, want)
    }

    func testInt8GemmMatchesNaiveOnOddSizes() {
        let shapes = [(1, 1, 1), (7, 5, 3), (13, 33, 17), (197, 48, 37), (25, 100, 64), (12, 32, 8), (257, 97, 129), (30, 70, 301),
                      (197, 7, 257), (7, 257, 197)]
        for (name, table, tile) in int8Variants() {
            for (m, n, k) in shapes {
                for rowBlock in [tile.mr, 1 << 20] {
                    for epilogue in [false, true] {
                        for (threads, chunked) in [(1, false), (3, false), (3, true)] {
                            let (got, want) = runInt8Gemm(table, tile, m: m, n: n, k: k, threads: threads, rowBlock: rowBlock,
                                                          epilogue: epilogue, chunked: chunked, seed: UInt64(m * 1000 + n * 10 + k))
                            let scale = want.map { abs($0) }.max() ?? 1
                            XCTAssertLessThanOrEqual(maxAbsDiff(got, want), 1e-5 * max(1, scale) * 4,
                                                     "\(name) \(tile.name) \(m)x\(n)x\(k) rowBlock \(rowBlock) epilogue \(epilogue) threads \(threads)")
                        }
                    }
                }
            }
            print("int8 gemm checked on variant \(name), tile \(tile.name)")
        }
    }

    func testInt8GemmIsBitIdenticalAcrossThreadCounts() {
        for (name, table, tile) in int8Variants() {
            let one = runInt8Gemm(table, tile, m: 61, n: 130, k: 200, threads: 1, rowBlock: 24, epilogue: true, chunked: false, seed: 7).got
            for t in [2, 3, 5] {
                for chunked in [false, true] {
                    let many = runInt8Gemm(table, tile, m: 61, n: 130, k: 200, threads: t, rowBlock: 24, epilogue: true,
                                           chunked: chunked, seed: 7).got
                    XCTAssertEqual(one, many, "\(name) \(tile.name): \(t) threads (chunked \(chunked)) differ from 1")
                }
            }
        }
    }

    /// The VNNI tiles and their twins give the same sums, so the same
    /// results: the 12 × 32 tile built for AVX2 stands in for AVX-512 VNNI
    /// on machines without it.
    func testVNNITwinsAgree() {
        let full = int8Variants().filter { $0.2.levels == 255 }
        guard full.count > 1 else { return }
        let base = runInt8Gemm(full[0].1, full[0].2, m: 45, n: 70, k: 130, threads: 2, rowBlock: 1 << 20, epilogue: false,
                               chunked: false, seed: 5).got
        for (name, table, tile) in full.dropFirst() {
            let got = runInt8Gemm(table, tile, m: 45, n: 70, k: 130, threads: 2, rowBlock: 1 << 20, epilogue: false,
                                  chunked: false, seed: 5).got
            // Same int32 sums; the dequantizing multiply may differ by fusion only.
            XCTAssertLessThanOrEqual(maxAbsDiff(base, got), 1e-5, "\(name) \(tile.name) against \(full[0].0) \(full[0].2.name)")
        }
    }
}
