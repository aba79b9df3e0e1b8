import XCTest
@testable import Tessera
import TesseraKernelCore

/// Every optimized kernel against a plain twin, on odd sizes, for every
/// variant this CPU runs.
final class KernelTests: XCTestCase {
    /// C = residual + scale ⊙ act(A·Wᵀ + bias), written the obvious way.
    func naiveLinear(_ a: [Float], _ w: [Float], m: Int, n: Int, k: Int, bias: [Float]?, gelu: Bool,
                     scale: [Float]?, residual: [Float]?) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s: Double = 0
                for p in 0..<k { s += Double(a[i * k + p]) * Double(w[j * k + p]) }
                var v = Float(s) + (bias?[j] ?? 0)
                if gelu { v = Float(0.5 * Double(v) * (1 + erf(Double(v) / 2.0.squareRoot()))) }
                if let scale { v *= scale[j] }
                if let residual { v += residual[i * n + j] }
                c[i * n + j] = v
            }
        }
        return c
    }

    func runGemm(_ table: KernelTable, m: Int, n: Int, k: Int, threads: Int, blocking: GemmBlocking,
                 epilogue: Bool, seed: UInt64, chunked: Bool = false) -> (got: [Float], want: [Float]) {
        var r = TestRandom(seed: seed)
        let a = r.array(m * k), w = r.array(n * k, scale: 0.5)
        let bias = r.array(n), scale = r.array(n), residual = r.array(m * n)
        var packed = [Float](repeating: .nan, count: GemmLayout.packedCount(n: n, k: k))
        w.withUnsafeBufferPointer { wp in
            packed.withUnsafeMutableBufferPointer { GemmLayout.packWeights(wp.baseAddress!, n: n, k: k, ldw: k, into: $0.baseAddress!) }
        }
        var c = [Float](repeating: .nan, count: m * n)
        let stride = blocking.scratchFloats + 16
        var scratch = [Float](repeating: .nan, count: stride * threads)
        a.withUnsafeBufferPointer { ap in packed.withUnsafeBufferPointer { bp in
            bias.withUnsafeBufferPointer { biasp in scale.withUnsafeBufferPointer { sp in residual.withUnsafeBufferPointer { rp in
                c.withUnsafeMutableBufferPointer { cp in scratch.withUnsafeMutableBufferPointer { scp in
                    let ep = epilogue ? GemmEpilogue(bias: biasp.baseAddress, activation: .gelu, scale: sp.baseAddress,
                                                     addend: rp.baseAddress, ldAddend: n) : GemmEpilogue()
                    let counter = UnsafeMutablePointer<Int>.allocate(capacity: 1)
                    counter.pointee = 0
                    defer { counter.deallocate() }
                    let g = GemmArgs(m: m, n: n, k: k, a: ap.baseAddress!, lda: k, b: bp.baseAddress!,
                                     c: cp.baseAddress!, ldc: n, epilogue: ep, blocking: blocking,
                                     scratch: scp.baseAddress!, scratchStride: stride,
                                     counter: chunked ? counter : nil)
                    for t in 0..<threads { table.gemm(g, t, threads) }
                }}
            }}}
        }}
        let want = naiveLinear(a, w, m: m, n: n, k: k, bias: epilogue ? bias : nil, gelu: epilogue,
                               scale: epilogue ? scale : nil, residual: epilogue ? residual : nil)
        return (c, want)
    }

    func testGemmMatchesNaiveOnOddSizes() {
        let shapes = [(1, 1, 1), (7, 5, 3), (13, 33, 17), (197, 48, 37), (6, 16, 300), (25, 100, 64), (12, 32, 8), (257, 97, 129)]
        for (name, table) in kernelVariants() {
            // Small blocks so that K and M blocking and edge tiles are all exercised.
            let blockings = [GemmBlocking(kc: 16, mc: table.gemmMR * 2), GemmBlocking(kc: 24, mc: table.gemmMR), GemmBlocking.forCaches(l1: 32 << 10, l2: 512 << 10, mr: table.gemmMR, nr: table.gemmNR)]
            for (m, n, k) in shapes {
                for blocking in blockings {
                    for epilogue in [false, true] {
                        for (threads, chunked) in [(1, false), (3, false), (3, true)] {
                            let (got, want) = runGemm(table, m: m, n: n, k: k, threads: threads, blocking: blocking,
                                                      epilogue: epilogue, seed: UInt64(m * 1000 + n * 10 + k), chunked: chunked)
                            let tol = Float(2e-5) * Float(k).squareRoot() + 1e-5
                            XCTAssertLessThanOrEqual(maxAbsDiff(got, want), tol,
                                                     "\(name) gemm \(m)x\(n)x\(k) blocking \(blocking) epilogue \(epilogue) threads \(threads)")
                        }
                    }
                }
            }
            print("gemm checked on variant \(name)")
        }
    }

    func testGemmIsBitIdenticalAcrossThreadCounts() {
        for (name, table) in kernelVariants() {
            // 61 rows: threads split the columns; 197 rows with two-tile
            // blocks: threads take blocks of rows (17 tiles in 8, 9 or 10 blocks).
            for (m, mc) in [(61, table.gemmMR * 4), (197, table.gemmMR * 2)] {
                let blocking = GemmBlocking(kc: 64, mc: mc)
                let one = runGemm(table, m: m, n: 130, k: 200, threads: 1, blocking: blocking, epilogue: true, seed: 7).got
                for t in [2, 3, 5] {
                    let many = runGemm(table, m: m, n: 130, k: 200, threads: t, blocking: blocking, epilogue: true, seed: 7).got
                    XCTAssertEqual(one, many, "\(name) \(m) rows: \(t) threads differ from 1")
                    let chunked = runGemm(table, m: m, n: 130, k: 200, threads: t, blocking: blocking, epilogue: true, seed: 7, chunked: true).got
                    XCTAssertEqual(one, chunked, "\(name) \(m) rows: \(t) threads taking chunks differ from 1")
                }
            }
            // Many rows and a large mc: one thread splits the columns, several
            // split the rows in blocks of eight tiles (`rowModeRows`); the
            // last block ends in a partial tile.
            let m = 8 * 3 * 8 * table.gemmMR + 5
            let blocking = GemmBlocking(kc: 16, mc: 1020)
            let single = runGemm(table, m: m, n: 40, k: 37, threads: 1, blocking: blocking, epilogue: true, seed: 11)
            XCTAssertEqual(blocking.rowModeRows(m: m, mr: table.gemmMR, threads: 1), 0)
            XCTAssertLessThanOrEqual(maxAbsDiff(single.got, single.want), Float(2e-5) * Float(37).squareRoot() + 1e-5,
                                     "\(name) \(m) rows, one thread, against the naive GEMM")
            for (t, chunked) in [(2, false), (3, false), (2, true)] {
                XCTAssertEqual(blocking.rowModeRows(m: m, mr: table.gemmMR, threads: t), 8 * table.gemmMR)
                let many = runGemm(table, m: m, n: 40, k: 37, threads: t, blocking: blocking, epilogue: true, seed: 11, chunked: chunked).got
                XCTAssertEqual(single.got, many, "\(name) \(m) rows: \(t) threads\(chunked ? " taking chunks" : "") differ from 1")
            }
            // Rows of A per block capped by L2 (`blockRows`): 16 tiles' rows
            // of 40 floats in half of the L2 given, 2.5 blocks of them;
            // against the naive GEMM and bit for bit against mc rows.
            let mr = table.gemmMR, capped = GemmBlocking(kc: 40, mc: 1020, l2: 2 * 16 * mr * 40 * 4)
            XCTAssertEqual(capped.blockRows(depth: 40, mr: mr), 16 * mr)
            let rows = 40 * mr + 7
            let small = runGemm(table, m: rows, n: 70, k: 83, threads: 1, blocking: capped, epilogue: true, seed: 13)
            XCTAssertLessThanOrEqual(maxAbsDiff(small.got, small.want), Float(2e-5) * Float(83).squareRoot() + 1e-5,
                                     "\(name) \(rows) rows in L2-sized blocks, against the naive GEMM")
            let wide = runGemm(table, m: rows, n: 70, k: 83, threads: 1, blocking: GemmBlocking(kc: 40, mc: 1020), epilogue: true, seed: 13)
            XCTAssertEqual(small.got, wide.got, "\(name): L2-sized row blocks change the bits")
        }
    }

    func testLayerNormMatchesNaive() {
        for (name, table) in kernelVariants() {
            for (rows, n) in [(1, 1), (3, 7), (5, 48), (9, 197), (7, 257), (4, 384), (2, 1000)] {
                var r = TestRandom(seed: UInt64(rows * 31 + n))
                let x = r.array(rows * n, scale: 3).map { $0 + 0.7 }, w = r.array(n), b = r.array(n)
                var y = [Float](repeating: .nan, count: rows * n)
                x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in b.withUnsafeBufferPointer { bp in
                    y.withUnsafeMutableBufferPointer { yp in
                        let args = LayerNormArgs(x: xp.baseAddress!, y: yp.baseAddress!, rows: rows, n: n, ldx: n, ldy: n,
                                                 weight: wp.baseAddress!, bias: bp.baseAddress!, eps: 1e-6)
                        for t in 0..<2 { table.layerNorm(args, t, 2) }
                    }
                }}}
                var want = [Float](repeating: 0, count: rows * n)
                for i in 0..<rows {
                    let row = x[(i * n)..<((i + 1) * n)].map(Double.init)
                    let mean = row.reduce(0, +) / Double(n)
                    let v = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
                    for j in 0..<n { want[i * n + j] = Float((row[j] - mean) / (v + 1e-6).squareRoot()) * w[j] + b[j] }
                }
                XCTAssertLessThanOrEqual(maxAbsDiff(y, want), 2e-5, "\(name) layernorm \(rows)x\(n)")
            }
        }
    }

    func naiveAttention(_ qkv: [Float], batch: Int, tokens: Int, heads: Int, dh: Int) -> [Float] {
        let d = heads * dh
        var out = [Float](repeating: 0, count: batch * tokens * d)
        let scale = 1 / Double(dh).squareRoot()
        for b in 0..<batch {
            for h in 0..<heads {
                for i in 0..<tokens {
                    var scores = [Double](repeating: 0, count: tokens)
                    for j in 0..<tokens {
                        var s = 0.0
                        for e in 0..<dh {
                            s += Double(qkv[(b * tokens + i) * 3 * d + h * dh + e]) * Double(qkv[(b * tokens + j) * 3 * d + d + h * dh + e])
                        }
                        scores[j] = s * scale
                    }
                    let mx = scores.max()!
                    let ex = scores.map { Foundation_exp($0 - mx) }
                    let sum = ex.reduce(0, +)
                    for e in 0..<dh {
                        var o = 0.0
                        for j in 0..<tokens { o += ex[j] / sum * Double(qkv[(b * tokens + j) * 3 * d + 2 * d + h * dh + e]) }
                        out[(b * tokens + i) * d + h * dh + e] = Float(o)
                    }
                }
            }
        }
        return out
    }

    func testAttentionMatchesNaive() {
        for (name, table) in kernelVariants() {
            // The last two: sharply peaked attention, scores spread far past
            // 87 (the exponentials' floor at −80 must not show).
            for (batch, tokens, heads, dh, spread) in [(1, 1, 1, 8, 2), (2, 5, 3, 16, 2), (1, 17, 4, 8, 2), (2, 50, 2, 64, 2),
                                                       (1, 197, 3, 12, 2), (1, 37, 1, 33, 2), (1, 101, 2, 64, 2), (1, 7, 2, 7, 2),
                                                       (1, 257, 1, 64, 2), (1, 61, 2, 64, 16), (2, 29, 1, 16, 30)] as [(Int, Int, Int, Int, Float)] {
                var r = TestRandom(seed: UInt64(tokens * 13 + dh))
                let d = heads * dh
                let qkv = r.array(batch * tokens * 3 * d, scale: spread)
                var out = [Float](repeating: .nan, count: batch * tokens * d)
                let threads = 3
                let blocking = GemmBlocking(kc: 16, mc: 48)
                let stride = AttentionArgs.scratchFloats(tokens: tokens, headDim: dh, mr: table.gemmMR, nr: table.gemmNR)
                var scratch = [Float](repeating: .nan, count: stride * threads)
                qkv.withUnsafeBufferPointer { qp in out.withUnsafeMutableBufferPointer { op in scratch.withUnsafeMutableBufferPointer { sp in
                    let args = AttentionArgs(qkv: qp.baseAddress!, ldqkv: 3 * d, out: op.baseAddress!, ldo: d, batch: batch,
                                             tokens: tokens, heads: heads, headDim: dh, scale: 1 / Float(dh).squareRoot(),
                                             blocking: blocking, scratch: sp.baseAddress!, scratchStride: stride)
                    for t in 0..<threads { table.attention(args, t, threads) }
                }}}
                let want = naiveAttention(qkv, batch: batch, tokens: tokens, heads: heads, dh: dh)
                // fp32 scores of size ~spread² carry errors that grow with it.
                XCTAssertLessThanOrEqual(maxAbsDiff(out, want), 5e-6 * spread * spread, "\(name) attention b\(batch) t\(tokens) h\(heads) dh\(dh) spread \(spread)")
            }
        }
    }

    /// The first `queries` tokens of each image as the queries (a session
    /// that needs only the prefix tokens after the last block): the rows
    /// of the full attention, packed per image.
    func testAttentionOnTheFirstQueries() {
        for (name, table) in kernelVariants() {
            for (batch, tokens, heads, dh, queries) in [(1, 1, 1, 8, 1), (2, 7, 2, 7, 3), (2, 50, 3, 16, 1), (3, 37, 2, 33, 5),
                                                        (1, 197, 2, 64, 2), (2, 257, 1, 64, 5), (2, 29, 1, 8, 29)] {
                var r = TestRandom(seed: UInt64(tokens * 7 + queries))
                let d = heads * dh
                let qkv = r.array(batch * tokens * 3 * d, scale: 2)
                var out = [Float](repeating: .nan, count: batch * queries * d)
                let threads = 3
                let stride = AttentionArgs.scratchFloats(tokens: tokens, headDim: dh, mr: table.gemmMR, nr: table.gemmNR)
                var scratch = [Float](repeating: .nan, count: stride * threads)
                qkv.withUnsafeBufferPointer { qp in out.withUnsafeMutableBufferPointer { op in scratch.withUnsafeMutableBufferPointer { sp in
                    let args = AttentionArgs(qkv: qp.baseAddress!, ldqkv: 3 * d, out: op.baseAddress!, ldo: d, batch: batch,
                                             tokens: tokens, heads: heads, headDim: dh, scale: 1 / Float(dh).squareRoot(),
                                             blocking: GemmBlocking(kc: 16, mc: 48), scratch: sp.baseAddress!, scratchStride: stride,
                                             queries: queries)
                    for t in 0..<threads { table.attention(args, t, threads) }
                }}}
                let full = naiveAttention(qkv, batch: batch, tokens: tokens, heads: heads, dh: dh)
                let want = (0..<batch).flatMap { b in full[(b * tokens * d)..<((b * tokens + queries) * d)] }
                XCTAssertLessThanOrEqual(maxAbsDiff(out, Array(want)), 2e-5, "\(name) attention b\(batch) t\(tokens) h\(heads) dh\(dh) queries \(queries)")
            }
        }
    }

    /// Threads split the heads' blocks of queries (a thread may start or end
    /// inside a head): every split gives the same bits as one thread.
    func testAttentionIsBitIdenticalAcrossThreadCounts() {
        for (name, table) in kernelVariants() {
            let (tokens, heads, dh) = (201, 3, 64), d = heads * dh
            var r = TestRandom(seed: 99)
            let qkv = r.array(tokens * 3 * d, scale: 2)
            func run(_ threads: Int) -> [Float] {
                var out = [Float](repeating: .nan, count: tokens * d)
                let stride = AttentionArgs.scratchFloats(tokens: tokens, headDim: dh, mr: table.gemmMR, nr: table.gemmNR)
                var scratch = [Float](repeating: .nan, count: stride * threads)
                qkv.withUnsafeBufferPointer { qp in out.withUnsafeMutableBufferPointer { op in scratch.withUnsafeMutableBufferPointer { sp in
                    let args = AttentionArgs(qkv: qp.baseAddress!, ldqkv: 3 * d, out: op.baseAddress!, ldo: d, batch: 1,
                                             tokens: tokens, heads: heads, headDim: dh, scale: 0.125,
                                             blocking: GemmBlocking(kc: 64, mc: 48), scratch: sp.baseAddress!, scratchStride: stride)
                    for t in 0..<threads { table.attention(args, t, threads) }
                }}}
                return out
            }
            let one = run(1)
            XCTAssertFalse(one.contains { $0.isNaN }, "\(name): attention left outputs unwritten")
            for t in [2, 4, 5] { XCTAssertEqual(one, run(t), "\(name): attention on \(t) threads differs from 1") }
        }
    }

    func testIm2colAndNormalize() {
        // 2 channels, 4x6 image, patch 2: check a few entries against direct indexing.
        let c = 2, h = 4, w = 6, p = 2
        let img = (0..<(c * h * w)).map { Float($0) }
        var cols = [Float](repeating: -1, count: (h / p) * (w / p) * c * p * p)
        img.withUnsafeBufferPointer { ip in cols.withUnsafeMutableBufferPointer {
            ImageOps.im2col(ip.baseAddress!, channels: c, height: h, width: w, patch: p, into: $0.baseAddress!)
        }}
        for py in 0..<(h / p) { for px in 0..<(w / p) { for ch in 0..<c { for ky in 0..<p { for kx in 0..<p {
            let got = cols[(py * (w / p) + px) * c * p * p + ch * p * p + ky * p + kx]
            XCTAssertEqual(got, img[(ch * h + py * p + ky) * w + px * p + kx])
        }}}}}
        let rgb: [UInt8] = [0, 128, 255, 10, 20, 30]
        var out = [Float](repeating: 0, count: 6)
        rgb.withUnsafeBufferPointer { rp in out.withUnsafeMutableBufferPointer {
            ImageOps.normalizeRGB8(rp.baseAddress!, height: 1, width: 2, mean: (0.5, 0.4, 0.3), std: (0.2, 0.25, 0.5), into: $0.baseAddress!)
        }}
        XCTAssertEqual(out[0], (0 / 255 - 0.5) / 0.2, accuracy: 1e-6)
        XCTAssertEqual(out[1], (10.0 / 255 - 0.5) / 0.2, accuracy: 1e-6)
        XCTAssertEqual(out[2], (128.0 / 255 - 0.4) / 0.25, accuracy: 1e-6)
        XCTAssertEqual(out[5], (30.0 / 255 - 0.3) / 0.5, accuracy: 1e-6)
    }
}

@inline(__always) func Foundation_exp(_ x: Double) -> Double { exp(x) }
