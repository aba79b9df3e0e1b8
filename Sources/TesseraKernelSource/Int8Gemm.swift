import TesseraKernelCore

/// Quantizes rows of activations to unsigned bytes (see `Int8Layout`)
/// with the variant's quantizer, four rows at a time (C: Swift's SIMD min,
/// max and compares go lane by lane). Threads split the groups of four rows
/// statically; every version and thread count writes the same bytes.
func quantizeRowsPart(_ q: QuantizeArgs, thread t: Int, of nt: Int) {
    let groups = Int8Layout.paddedRows(q.rows) / 4
    let out = Int8Rows(q.buffer, rows: q.rows, k: q.k)
    for g in (t * groups / nt)..<((t + 1) * groups / nt) {
        // A group past the matrix (padding rows only) gets zero bytes; its
        // pointer stays on row 0, which the quantizer then reads times 0.
        let r = 4 * g, rows = max(0, min(4, q.rows - r))
        variantQuantizeRows(q.x + (rows > 0 ? r * q.ldx : 0), q.ldx, rows, q.k, out.rowBytes, q.rotation, Float(q.levels),
                            out.row(r), out.scales + r, out.zeros + r)
        for p in rows..<4 { out.scales[r + p] = 0; out.zeros[r + p] = 0 }
    }
}

/// The int8 GEMM loop around a tile: chunks of column slivers (from the
/// shared counter), blocks of rows, slivers, row tiles. Each tile's int32
/// sums are dequantized, x = sa · sb · (Σ qa·qb − za · Σ qb), and finished
/// by the float GEMM's epilogue (bias, GELU, layer scale, residual). Sums
/// are exact, so results are bit-identical for any number of threads.
func int8GemmPart<V: VectorFloat>(_: V.Type, _ g: Int8GemmArgs, thread t: Int, of nt: Int) {
    let tile = g.tile
    let mr = tile.mr, nr = tile.nr, w = V.scalarCount
    precondition(nr == 2 * w, "int8 tile \(tile.name) does not fit \(w)-lane vectors")
    let slivers = (g.n + nr - 1) / nr
    if g.m == 0 || slivers == 0 { return }
    let kp = Int8Layout.depth(g.k)
    let a = Int8Rows(UnsafeMutablePointer(mutating: g.a), rows: g.m, k: g.k)
    let acc = UnsafeMutableRawPointer(g.scratch + t * g.scratchStride).assumingMemoryBound(to: Int32.self)
    let chunk = nt > 1 && g.counter != nil ? max(1, (slivers + 16 * nt - 1) / (16 * nt)) : (slivers + nt - 1) / nt
    let rowBlock = max(mr, g.rowBlock / mr * mr)
    var units = WorkUnits((slivers + chunk - 1) / chunk, counter: g.counter, thread: t, of: nt)
    while let u = units.next() {
        let s0 = u * chunk, s1 = min(slivers, s0 + chunk)
        var m0 = 0
        while m0 < g.m {
            let m1 = min(g.m, m0 + rowBlock)
            for s in s0..<s1 {
                let col = s * nr, cols = min(nr, g.n - col)
                let b = g.b.packed + Int8Layout.columnOffset(col, depth: kp)
                let half = tile.halfOffset(col: col, depth: kp)
                // Scales and sums are padded to whole tiles (zeros).
                let sb0 = V.load(g.b.scales + col), sb1 = V.load(g.b.scales + col + w)
                let qb0 = V.loadBits(g.b.sums + col), qb1 = V.loadBits(g.b.sums + col + w)
                var row = m0
                while row < m1 {
                    tile.run(kp, a.row(row), b, half, acc, nr)
                    for r in 0..<min(mr, g.m - row) {
                        let za = V.Bits(repeating: a.zeros[row + r]), sa = V(repeating: a.scales[row + r])
                        let x0 = V.convert(V.loadBits(acc + r * nr) &- za &* qb0) * (sa * sb0)
                        let x1 = V.convert(V.loadBits(acc + r * nr + w) &- za &* qb1) * (sa * sb1)
                        finishRow(x0, x1, g.c + (row + r) * g.ldc + col, cols: cols, first: true, last: true,
                                  g.epilogue, row: row + r, col: col)
                    }
                    row += mr
                }
            }
            m0 = m1
        }
    }
}
