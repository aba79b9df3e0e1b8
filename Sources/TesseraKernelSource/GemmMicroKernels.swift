import CTesseraCPU
import TesseraKernelCore

/// Register-blocked GEMM micro-kernels: an `mr` × `nr` tile of C held in
/// registers while A and B stream through. A's element (row r, step k) is
/// at `a + r * aRow + k * aStep`: a packed panel ([kc][mr]: aRow 1, aStep
/// mr) or rows of a row-major matrix read in place (aRow lda, aStep 1). B:
/// per k, one vector at `b` and one at `b + bNext`, then `b += ldb`.
/// `stepsPerPass`: 4 (four k steps per loop pass, the rows' addresses
/// computed once) or 1; the sums are added in the same order either way.
protocol GemmMicroKernel {
    associatedtype V: VectorFloat
    static var mr: Int { get }
    static func run(kc: Int, a: UnsafePointer<Float>, aRow: Int, aStep: Int,
                    b: UnsafePointer<Float>, bNext: Int, ldb: Int,
                    c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, cols: Int,
                    first: Bool, last: Bool, epilogue: GemmEpilogue, row: Int, col: Int,
                    stepsPerPass: Int)
}

extension GemmMicroKernel {
    static var nr: Int { 2 * V.scalarCount }
}

@inline(__always)
func loadPartial<V: VectorFloat>(_ p: UnsafePointer<Float>, _ n: Int) -> V {
    if n >= V.scalarCount { return V.load(p) }
    var v = V(repeating: 0)
    for i in 0..<max(0, n) { v[i] = p[i] }
    return v
}

@inline(__always)
func storePartial<V: VectorFloat>(_ v: V, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
    if n >= V.scalarCount { v.store(p); return }
    for i in 0..<max(0, n) { p[i] = v[i] }
}

/// Adds the previous partial sums (unless first) and, on the last K block,
/// applies the epilogue; then stores one row of a tile (two vectors).
/// Transparent: `@inline(__always)` left it a call per row (and all 24
/// accumulators spilled around the calls) once the kernels grew.
@_transparent
func finishRow<V: VectorFloat>(_ x0: V, _ x1: V, _ c: UnsafeMutablePointer<Float>, cols: Int,
                               first: Bool, last: Bool, _ ep: GemmEpilogue, row: Int, col: Int) {
    let w = V.scalarCount
    var v0 = x0, v1 = x1
    let n0 = min(cols, w), n1 = cols - w
    if !first {
        v0 += loadPartial(UnsafePointer(c), n0)
        v1 += loadPartial(UnsafePointer(c + w), n1)
    }
    if last {
        if let bias = ep.bias {
            v0 += loadPartial(bias + col, n0)
            v1 += loadPartial(bias + col + w, n1)
        }
        if ep.activation == .gelu { v0 = vgelu(v0); v1 = vgelu(v1) }
        if let s = ep.scale {
            v0 *= loadPartial(s + col, n0)
            v1 *= loadPartial(s + col + w, n1)
        }
        if let r = ep.addend {
            let rp = r + row * ep.ldAddend + col
            v0 += loadPartial(rp, n0)
            v1 += loadPartial(rp + w, n1)
        }
    }
    if cols == 2 * w {
        v0.store(c); v1.store(c + w)
    } else {
        storePartial(v0, c, n0)
        storePartial(v1, c + w, n1)
    }
}

/// Finishes a tile cut by the edge of C (accumulators spilled to `t`, two
/// vectors per row), row by row; out of line, so that the kernels' whole-tile
/// path stays small.
@inline(never)
func finishTile<V: VectorFloat>(_ t: UnsafeMutablePointer<V>, rows: Int, cols: Int,
                                _ c: UnsafeMutablePointer<Float>, ldc: Int,
                                first: Bool, last: Bool, _ ep: GemmEpilogue, row: Int, col: Int) {
    for r in 0..<rows {
        finishRow(t[2 * r], t[2 * r + 1], c + r * ldc, cols: cols, first: first, last: last, ep, row: row + r, col: col)
    }
}

/// Starts loading the C tile (and, on the last K block, the addend's rows)
/// so that the misses overlap the K loop instead of stalling the finish.
@inline(__always)
func prefetchTile(_ c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, bytesPerRow: Int,
                  last: Bool, _ ep: GemmEpilogue, row: Int, col: Int) {
    for r in 0..<rows {
        var off = 0
        while off < bytesPerRow {
            tessera_prefetch_write(UnsafeRawPointer(c + r * ldc) + off)
            if last, let add = ep.addend { tessera_prefetch_read(UnsafeRawPointer(add + (row + r) * ep.ldAddend + col) + off) }
            off += 64
        }
    }
}

/// 6 rows × 2 vectors: 12 accumulators + 2 B vectors + 1 broadcast fit the
/// 16 registers of SSE/AVX2.
enum Kernel6x2<V: VectorFloat>: GemmMicroKernel {
    static var mr: Int { 6 }

    @inline(__always)
    static func run(kc: Int, a: UnsafePointer<Float>, aRow: Int, aStep: Int,
                           b: UnsafePointer<Float>, bNext: Int, ldb: Int,
                           c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, cols: Int,
                           first: Bool, last: Bool, epilogue: GemmEpilogue, row: Int, col: Int,
                           stepsPerPass: Int) {
        let w = V.scalarCount
        var c00 = V(repeating: 0), c01 = V(repeating: 0)
        var c10 = V(repeating: 0), c11 = V(repeating: 0)
        var c20 = V(repeating: 0), c21 = V(repeating: 0)
        var c30 = V(repeating: 0), c31 = V(repeating: 0)
        var c40 = V(repeating: 0), c41 = V(repeating: 0)
        var c50 = V(repeating: 0), c51 = V(repeating: 0)
        prefetchTile(c, ldc: ldc, rows: rows, bytesPerRow: 8 * w, last: last, epilogue, row: row, col: col)
        // One step of k: two B vectors, each row's broadcast, 2·mr FMAs.
        @inline(__always)
        func step(_ pa: UnsafePointer<Float>, _ pb: UnsafePointer<Float>) {
            let b0 = V.load(pb), b1 = V.load(pb + bNext)
            var x = V(repeating: pa[0]); V.madd(&c00, x, b0); V.madd(&c01, x, b1)
            x = V(repeating: pa[aRow]); V.madd(&c10, x, b0); V.madd(&c11, x, b1)
            x = V(repeating: pa[2 * aRow]); V.madd(&c20, x, b0); V.madd(&c21, x, b1)
            x = V(repeating: pa[3 * aRow]); V.madd(&c30, x, b0); V.madd(&c31, x, b1)
            x = V(repeating: pa[4 * aRow]); V.madd(&c40, x, b0); V.madd(&c41, x, b1)
            x = V(repeating: pa[5 * aRow]); V.madd(&c50, x, b0); V.madd(&c51, x, b1)
        }
        // Four steps of k per pass, as in Kernel12x2.
        var pa = a, pb = b
        var k = 0
        while stepsPerPass == 4 && k + 4 <= kc {
            step(pa, pb)
            step(pa + aStep, pb + ldb)
            step(pa + 2 * aStep, pb + 2 * ldb)
            step(pa + 3 * aStep, pb + 3 * ldb)
            pa += 4 * aStep; pb += 4 * ldb; k += 4
        }
        while k < kc {
            step(pa, pb)
            pa += aStep; pb += ldb; k += 1
        }
        if rows == 6 && cols == 2 * w {
            finishRow(c00, c01, c + 0 * ldc, cols: 2 * w, first: first, last: last, epilogue, row: row + 0, col: col)
            finishRow(c10, c11, c + 1 * ldc, cols: 2 * w, first: first, last: last, epilogue, row: row + 1, col: col)
            finishRow(c20, c21, c + 2 * ldc, cols: 2 * w, first: first, last: last, epilogue, row: row + 2, col: col)
            finishRow(c30, c31, c + 3 * ldc, cols: 2 * w, first: first, last: last, epilogue, row: row + 3, col: col)
            finishRow(c40, c41, c + 4 * ldc, cols: 2 * w, first: first, last: last, epilogue, row: row + 4, col: col)
            finishRow(c50, c51, c + 5 * ldc, cols: 2 * w, first: first, last: last, epilogue, row: row + 5, col: col)
            return
        }
        // Spilled to a tuple on the stack: a temporary allocation of more
        // than 1 KiB (24 zmm) would come from the heap.
        var t = (c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51)
        withUnsafeMutableBytes(of: &t) { raw in
            finishTile(raw.baseAddress!.assumingMemoryBound(to: V.self), rows: rows, cols: cols, c, ldc: ldc,
                       first: first, last: last, epilogue, row: row, col: col)
        }
    }
}

/// 12 rows × 2 vectors: 24 accumulators + 2 B vectors + 1 broadcast fit the
/// 32 registers of AVX-512.
enum Kernel12x2<V: VectorFloat>: GemmMicroKernel {
    static var mr: Int { 12 }

    @inline(__always)
    static func run(kc: Int, a: UnsafePointer<Float>, aRow: Int, aStep: Int,
                           b: UnsafePointer<Float>, bNext: Int, ldb: Int,
                           c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, cols: Int,
                           first: Bool, last: Bool, epilogue: GemmEpilogue, row: Int, col: Int,
                           stepsPerPass: Int) {
        let w = V.scalarCount
        var c00 = V(repeating: 0), c01 = V(repeating: 0)
        var c10 = V(repeating: 0), c11 = V(repeating: 0)
        var c20 = V(repeating: 0), c21 = V(repeating: 0)
        var c30 = V(repeating: 0), c31 = V(repeating: 0)
        var c40 = V(repeating: 0), c41 = V(repeating: 0)
        var c50 = V(repeating: 0), c51 = V(repeating: 0)
        var c60 = V(repeating: 0), c61 = V(repeating: 0)
        var c70 = V(repeating: 0), c71 = V(repeating: 0)
        var c80 = V(repeating: 0), c81 = V(repeating: 0)
        var c90 = V(repeating: 0), c91 = V(repeating: 0)
        var ca0 = V(repeating: 0), ca1 = V(repeating: 0)
        var cb0 = V(repeating: 0), cb1 = V(repeating: 0)
        prefetchTile(c, ldc: ldc, rows: rows, bytesPerRow: 8 * w, last: last, epilogue, row: row, col: col)
        // One step of k: two B vectors, each row's broadcast, 2·mr FMAs.
        @inline(__always)
        func step(_ pa: UnsafePointer<Float>, _ pb: UnsafePointer<Float>) {
            let b0 = V.load(pb), b1 = V.load(pb + bNext)
            var x = V(repeating: pa[0]); V.madd(&c00, x, b0); V.madd(&c01, x, b1)
            x = V(repeating: pa[aRow]); V.madd(&c10, x, b0); V.madd(&c11, x, b1)
            x = V(repeating: pa[2 * aRow]); V.madd(&c20, x, b0); V.madd(&c21, x, b1)
            x = V(repeating: pa[3 * aRow]); V.madd(&c30, x, b0); V.madd(&c31, x, b1)
            x = V(repeating: pa[4 * aRow]); V.madd(&c40, x, b0); V.madd(&c41, x, b1)
            x = V(repeating: pa[5 * aRow]); V.madd(&c50, x, b0); V.madd(&c51, x, b1)
            x = V(repeating: pa[6 * aRow]); V.madd(&c60, x, b0); V.madd(&c61, x, b1)
            x = V(repeating: pa[7 * aRow]); V.madd(&c70, x, b0); V.madd(&c71, x, b1)
            x = V(repeating: pa[8 * aRow]); V.madd(&c80, x, b0); V.madd(&c81, x, b1)
            x = V(repeating: pa[9 * aRow]); V.madd(&c90, x, b0); V.madd(&c91, x, b1)
            x = V(repeating: pa[10 * aRow]); V.madd(&ca0, x, b0); V.madd(&ca1, x, b1)
            x = V(repeating: pa[11 * aRow]); V.madd(&cb0, x, b0); V.madd(&cb1, x, b1)
        }
        // Four steps of k per pass: the twelve rows' addresses are computed
        // once per pass, each then reached with a constant displacement.
        var pa = a, pb = b
        var k = 0
        while stepsPerPass == 4 && k + 4 <= kc {
            step(pa, pb)
            step(pa + aStep, pb + ldb)
            step(pa + 2 * aStep, pb + 2 * ldb)
            step(pa + 3 * aStep, pb + 3 * ldb)
            // B 24 steps ahead into L1: the hardware's prefetch fell behind
            // where the weights stream from beyond L2 (Xeon, 197 × 768 × 3072:
            // 140 -> 148 GFLOP/s).
            for u in 0..<4 {
                tessera_prefetch_read(UnsafeRawPointer(pb + (24 + u) * ldb))
                tessera_prefetch_read(UnsafeRawPointer(pb + (24 + u) * ldb + bNext))
            }
            pa += 4 * aStep; pb += 4 * ldb; k += 4
        }
        while k < kc {
            step(pa, pb)
            pa += aStep; pb += ldb; k += 1
        }
        if rows == 12 && cols == 2 * w {
            finishRow(c00, c01, c + 0 * ldc, cols: 2 * w, first: first, last: last, epilogue, row: row + 0, col: col)
            finishRow(c10, c11, c + 1 * ldc, cols: 2 * w, first: first, last: last, epilogue, row: row + 1, col: col)
            finishRow(c20, c21, c + 2 * ldc, cols: 2 * w, first: first, last: last, epilogue, row: row + 2, col: col)
            finishRow(c30, c31, c + 3 * ldc, cols: 2 * w, first: first, last: last, epilogue, row: row + 3, col: col)
            finishRow(c40, c41, c + 4 * ldc, cols: 2 * w, first: first, last: last, epilogue, row: row + 4, col: col)
            finishRow(c50, c51, c + 5 * ldc, cols: 2 * w, first: first, last: last, epilogue, row: row + 5, col: col)
            finishRow(c60, c61, c + 6 * ldc, cols: 2 * w, first: first, last: last, epilogue, row: row + 6, col: col)
            finishRow(c70, c71, c + 7 * ldc, cols: 2 * w, first: first, last: last, epilogue, row: row + 7, col: col)
            finishRow(c80, c81, c + 8 * ldc, cols: 2 * w, first: first, last: last, epilogue, row: row + 8, col: col)
            finishRow(c90, c91, c + 9 * ldc, cols: 2 * w, first: first, last: last, epilogue, row: row + 9, col: col)
            finishRow(ca0, ca1, c + 10 * ldc, cols: 2 * w, first: first, last: last, epilogue, row: row + 10, col: col)
            finishRow(cb0, cb1, c + 11 * ldc, cols: 2 * w, first: first, last: last, epilogue, row: row + 11, col: col)
            return
        }
        // Spilled to a tuple on the stack: a temporary allocation of more
        // than 1 KiB (24 zmm) would come from the heap.
        var t = (c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51,
                 c60, c61, c70, c71, c80, c81, c90, c91, ca0, ca1, cb0, cb1)
        withUnsafeMutableBytes(of: &t) { raw in
            finishTile(raw.baseAddress!.assumingMemoryBound(to: V.self), rows: rows, cols: cols, c, ldc: ldc,
                       first: first, last: last, epilogue, row: row, col: col)
        }
    }
}
