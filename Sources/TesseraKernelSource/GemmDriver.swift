import TesseraKernelCore

/// The blocked GEMM loop around a micro-kernel: K blocks, then blocks of
/// rows of A (read in place), then B slivers (packed weights), then row tiles.
///
/// Threads split the columns of C in units of the kernel's width (one image)
/// or, for many rows, blocks of rows; statically or through a shared chunk
/// counter. Every element is computed by one thread in the same order
/// whatever the split, so results are bit-identical for any number of threads.
func gemmPart<K: GemmMicroKernel>(_ kernel: K.Type, _ g: GemmArgs, thread t: Int, of nt: Int) {
    let nr = K.nr, mr = K.mr
    let blocksN = (g.n + nr - 1) / nr
    if g.m == 0 || blocksN == 0 { return }
    let scratch = g.scratch + t * g.scratchStride
    let rowBlock = g.blocking.rowModeRows(m: g.m, mr: mr, threads: nt)
    if rowBlock > 0 {
        // Many rows (a batch): threads take blocks of rows, each over all
        // columns, so that A is read once and each block of it stays in L2
        // while the kernels sweep the weights. The row tiles split evenly
        // into a multiple of nt blocks of about rowBlock rows (577 rows, mc
        // 144: 4 blocks of 144-156 rows, not 4 of 144 and one of 1 row that
        // streams all the weights again; ViT-B at 384, two threads, Xeon:
        // 5.5 and 9.4 % faster, interleaved per-pair medians).
        let tiles = (g.m + mr - 1) / mr
        var count = max(1, Int((Double(tiles) / Double(rowBlock / mr)).rounded()))
        count = min(tiles, (count + nt - 1) / nt * nt)
        var units = WorkUnits(count, counter: g.counter, thread: t, of: nt)
        while let u = units.next() {
            gemmBlock(kernel, g, rows: (u * tiles / count * mr)..<min(g.m, (u + 1) * tiles / count * mr),
                      blocks: 0..<blocksN, scratch: scratch)
        }
        return
    }
    // Columns: from the shared counter about sixteen chunks per thread (one
    // or two slivers each at ViT sizes: four left up to a tenth of a GEMM
    // to one thread at the end; Xeon, ViT-S two threads, min 51.0 -> 49.9 ms),
    // statically one per thread.
    let chunk = nt > 1 && g.counter != nil
        ? max(1, min(max(1, g.blocking.nc / nr), (blocksN + 16 * nt - 1) / (16 * nt)))
        : (blocksN + nt - 1) / nt
    var units = WorkUnits((blocksN + chunk - 1) / chunk, counter: g.counter, thread: t, of: nt)
    while let c = units.next() {
        gemmBlock(kernel, g, rows: 0..<g.m, blocks: (c * chunk)..<min(blocksN, (c + 1) * chunk), scratch: scratch)
    }
}

/// C's rows `rows` (starting at a multiple of the kernel's row count) by
/// column blocks `blocks` (units of the kernel's width).
@inline(__always)
func gemmBlock<K: GemmMicroKernel>(_: K.Type, _ g: GemmArgs, rows: Range<Int>, blocks: Range<Int>,
                                   scratch: UnsafeMutablePointer<Float>) {
    let nr = K.nr, mr = K.mr
    let jb0 = blocks.lowerBound, jb1 = blocks.upperBound
    let kcMax = max(1, g.blocking.kc)
    let rowCount = rows.count
    // Rows per block: `blockRows` (mc, or fewer where A would overflow
    // L2), stretched or shrunk by up to half so that the rows split into
    // equal blocks (257 rows: one block, not 252 + 5).
    let depth = min(kcMax, g.k)
    let mcBase = g.blocking.blockRows(depth: depth, mr: mr)
    let mBlocks = max(1, Int((Double(rowCount) / Double(mcBase)).rounded()))
    let mcMax = min(g.blocking.maxRows(depth: depth, mr: mr), ((rowCount + mBlocks - 1) / mBlocks + mr - 1) / mr * mr)
    let ncBlocks = max(1, g.blocking.nc / nr)
    let fullRows = g.m / mr * mr
    var jbStart = jb0
    while jbStart < jb1 {
        let jbEnd = min(jb1, jbStart + ncBlocks)
        var k0 = 0
        while k0 < g.k {
            let kc = min(kcMax, g.k - k0)
            let first = k0 == 0, last = k0 + kc == g.k
            // A is read in place; the rows of a last, partial tile are copied
            // (zero-padded to mr rows) so that the kernel never reads past A.
            if fullRows < g.m && rows.upperBound > fullRows {
                copyRows(g.a + fullRows * g.lda + k0, lda: g.lda, rows: g.m - fullRows, depth: kc, mr: mr, into: scratch)
            }
            var m0 = rows.lowerBound
            while m0 < rows.upperBound {
                let mc = min(mcMax, rows.upperBound - m0)
                for jb in jbStart..<jbEnd {
                    let col = jb * nr
                    let pw = GemmLayout.panelWidth
                    let at = GemmLayout.columnOffset(col, depth: g.k)
                    let bp = g.b + at + k0 * pw
                    let bNext = GemmLayout.columnOffset(col + K.V.scalarCount, depth: g.k) - at
                    let cols = min(nr, g.n - col)
                    var i = 0
                    while i < mc {
                        let row = m0 + i
                        let a: UnsafePointer<Float>, aRow: Int, aStep: Int
                        if row < fullRows {
                            a = g.a + row * g.lda + k0; aRow = g.lda; aStep = 1
                        } else {
                            a = UnsafePointer(scratch); aRow = kc; aStep = 1
                        }
                        let rowsHere = min(mr, mc - i)
                        if mr > 6 && rowsHere <= 6 {
                            // A short last tile (M = 197 or 257: 5 rows) on
                            // the 6-row kernel: half the work of a 12-row one.
                            // Same order of additions, so the same results.
                            Kernel6x2<K.V>.run(kc: kc, a: a, aRow: aRow, aStep: aStep, b: bp, bNext: bNext, ldb: pw,
                                               c: g.c + row * g.ldc + col, ldc: g.ldc,
                                               rows: rowsHere, cols: cols, first: first, last: last,
                                               epilogue: g.epilogue, row: row, col: col, stepsPerPass: 4)
                        } else {
                            K.run(kc: kc, a: a, aRow: aRow, aStep: aStep, b: bp, bNext: bNext, ldb: pw,
                                  c: g.c + row * g.ldc + col, ldc: g.ldc,
                                  rows: rowsHere, cols: cols, first: first, last: last,
                                  epilogue: g.epilogue, row: row, col: col, stepsPerPass: 4)
                        }
                        i += mr
                    }
                }
                m0 += mc
            }
            k0 += kc
        }
        jbStart = jbEnd
    }
    // K == 0: C = epilogue(0).
    if g.k == 0 {
        for jb in jb0..<jb1 {
            let col = jb * nr
            let cols = min(nr, g.n - col)
            for r in rows {
                finishRow(K.V(repeating: 0), K.V(repeating: 0), g.c + r * g.ldc + col, cols: cols,
                          first: true, last: true, g.epilogue, row: r, col: col)
            }
        }
    }
}

/// Copies rows × depth of A to `dst` (leading dimension depth), zero rows
/// after them up to `mr`.
@inline(__always)
func copyRows(_ a: UnsafePointer<Float>, lda: Int, rows: Int, depth: Int, mr: Int,
              into dst: UnsafeMutablePointer<Float>) {
    for r in 0..<mr {
        if r < rows { (dst + r * depth).update(from: a + r * lda, count: depth) }
        else { (dst + r * depth).update(repeating: 0, count: depth) }
    }
}
