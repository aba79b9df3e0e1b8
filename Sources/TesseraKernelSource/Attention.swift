import TesseraKernelCore

/// Attention for one block of queries at a time, with nothing repacked but
/// the block's queries:
///
/// - Sᵀ = K · (scale·Q)ᵀ: K is the A operand (row tiles of keys); the
///   block's queries, transposed and scaled, the B operand;
/// - the softmax runs down the columns of Sᵀ (over keys), one vector of
///   queries at a time, and leaves the unnormalized exponentials in place;
/// - O = P · V: Pᵀ as it stands is the A operand (a query's row is a column
///   of Sᵀ), V the B operand; O goes straight to the head's columns and is then divided by the
///   softmax sums, row by row.
///
/// K and V are gathered once per head into contiguous rows: read in place
/// (rows 3·hidden floats apart), each step of a kernel touched a new page.
///
/// Threads take (image, head, block of queries) units, statically or from
/// the shared counter; each block is computed the same way by whichever
/// thread takes it. A thread gathers a head's K and V again only when its
/// next unit is another head's (units of a head are consecutive, and two
/// threads walk them from opposite ends). Whole heads as units left DINOv3-S's
/// six heads three to a thread, however unevenly the host let the two
/// run (Xeon, two threads, interleaved per-pair medians: 1.3–4.1 % faster
/// runs on DINOv3-S, DINOv2-S at 224 and 518, ViT-B).
func attentionPart<K: GemmMicroKernel>(_: K.Type, _ a: AttentionArgs, thread t: Int, of nt: Int) {
    typealias V = K.V
    let pairs = a.batch * a.heads
    let T = a.tokens, Q = a.queries, dh = a.headDim, D = a.heads * dh
    if Q <= 0 || dh == 0 { return }
    let mr = K.mr, nr = K.nr, w = V.scalarCount
    let block = AttentionArgs.queryBlock(mr: mr, nr: nr)
    let keyRows = (T + mr - 1) / mr * mr
    let ldv = AttentionArgs.valueStride(headDim: dh, nr: nr)
    let layout = AttentionArgs.ScratchLayout(tokens: T, headDim: dh, mr: mr, nr: nr)
    let base = a.scratch + t * a.scratchStride
    let queries = base + layout.queries, scores = base + layout.scores
    let keys = base + layout.keys, values = base + layout.values
    let inverse = base + layout.inverse
    let kc = max(1, a.blocking.kc)
    let plain = GemmEpilogue()
    // One k step per pass for the 12-row tile: inlined here with four per
    // pass, its 24 accumulators and the steps' B vectors outgrew the 32
    // registers and the compiler spilled accumulators in the inner loop
    // (Xeon, `tessera-gemm-bench --attention`, interleaved, fastest of each
    // run: avx512 attention 6-10 % faster at 197-1370 tokens, the same
    // bits); the 6-row tile keeps four (one step per pass: 0-3 % slower).
    let steps = mr > 6 ? 1 : 4
    let blocksPerHead = (Q + block - 1) / block
    var units = WorkUnits(pairs * blocksPerHead, counter: a.counter, thread: t, of: nt)
    var gathered = -1
    while let unit = units.next() {
        let pair = unit / blocksPerHead
        let b = pair / a.heads, h = pair % a.heads
        let rows = a.qkv + b * T * a.ldqkv
        let qBase = rows + h * dh, kBase = rows + D + h * dh, vBase = rows + 2 * D + h * dh
        if pair != gathered {
            gathered = pair
            for k in 0..<keyRows {
                let dst = keys + k * dh
                if k < T { dst.update(from: kBase + k * a.ldqkv, count: dh) } else { dst.update(repeating: 0, count: dh) }
            }
            for k in 0..<T {
                let dst = values + k * ldv
                dst.update(from: vBase + k * a.ldqkv, count: dh)
                if ldv > dh { (dst + dh).update(repeating: 0, count: ldv - dh) }
            }
        }
        let q0 = unit % blocksPerHead * block
        let nq = min(block, Q - q0)
        let cols = (nq + nr - 1) / nr * nr
        // (scale·Q)ᵀ for this block: [dh][block] (scale exact when dh is
        // a power of 4), a vector of queries at a time: one element from
        // each query's row, then one contiguous store (element by element,
        // the strided stores took an eighth of attention's time).
        let scale = V(repeating: a.scale)
        var jv = 0
        while jv < cols {
            let src = qBase + (q0 + jv) * a.ldqkv
            if jv + w <= nq {
                for d in 0..<dh {
                    var v = V(repeating: 0)
                    for l in 0..<w { v[l] = src[l * a.ldqkv + d] }
                    (v * scale).store(queries + d * block + jv)
                }
            } else {
                let n = max(0, nq - jv)
                for d in 0..<dh {
                    var v = V(repeating: 0)
                    for l in 0..<n { v[l] = src[l * a.ldqkv + d] }
                    (v * scale).store(queries + d * block + jv)
                }
            }
            jv += w
        }
        // Sᵀ = K · (scale·Q)ᵀ: [keys][block].
        var k0 = 0
        while k0 < T {
            var c0 = 0
            while c0 < cols {
                K.run(kc: dh, a: keys + k0 * dh, aRow: dh, aStep: 1, b: queries + c0, bNext: w, ldb: block,
                      c: scores + k0 * block + c0, ldc: block, rows: mr, cols: nr, first: true, last: true,
                      epilogue: plain, row: 0, col: 0, stepsPerPass: steps)
                c0 += nr
            }
            // The columns' running maxima over these keys, while their
            // scores are still in L1 (`inverse` holds them until the
            // softmax replaces them with 1 / the sums): one pass over
            // Sᵀ fewer (Xeon, interleaved: attention 1–2 % faster on
            // avx512, level on avx2; the same bits).
            let rowsHere = min(T, k0 + mr) - k0
            var v = 0
            while v < cols / w {
                let p = scores + k0 * block + v * w
                var m = k0 == 0 ? V.load(p) : vmax(V.load(inverse + v * w), V.load(p))
                for r in 1..<rowsHere { m = vmax(m, V.load(p + r * block)) }
                m.store(inverse + v * w)
                v += 1
            }
            k0 += mr
        }
        columnSoftmax(V.self, scores, keys: T, stride: block, vectors: cols / w, inverse: inverse)
        // O = P · V, into the head's columns, over the keys in blocks of kc.
        let out = a.out + (b * Q + q0) * a.ldo + h * dh
        var j0 = 0
        while j0 < nq {
            var d0 = 0
            while d0 < dh {
                let vp = UnsafePointer(values + d0)
                var k0 = 0
                while k0 < T {
                    let depth = min(kc, T - k0)
                    K.run(kc: depth, a: scores + k0 * block + j0, aRow: 1, aStep: block,
                          b: vp + k0 * ldv, bNext: w, ldb: ldv,
                          c: out + j0 * a.ldo + d0, ldc: a.ldo, rows: min(mr, nq - j0), cols: min(nr, dh - d0),
                          first: k0 == 0, last: k0 + depth == T, epilogue: plain, row: 0, col: 0, stepsPerPass: steps)
                    k0 += depth
                }
                d0 += nr
            }
            j0 += mr
        }
        // Divide each query's output by its softmax sum.
        let dv = dh / w * w
        for j in 0..<nq {
            let row = out + j * a.ldo
            let inv = inverse[j], iv = V(repeating: inv)
            var d = 0
            while d < dv { (V.load(row + d) * iv).store(row + d); d += w }
            while d < dh { row[d] *= inv; d += 1 }
        }
    }
}

/// Softmax down each column of `keys` × (vectors · V.scalarCount) values
/// (row stride `stride`): `inverse` holds each column's maximum on entry
/// (taken as Sᵀ is computed) and 1 / its sum on return; the exponentials
/// exp(x − max) are left in place. Arguments below −80 count
/// as −80: e^−80 (2e-35) is far too small to change a sum of at least 1
/// (the maximum's own term), and unlike e^−87 it is not subnormal, which
/// costs a microcode assist per use on some CPUs (scores far below their
/// column's maximum are common where attention is sharp).
@inline(__always)
func columnSoftmax<V: VectorFloat>(_: V.Type, _ s: UnsafeMutablePointer<Float>, keys: Int, stride: Int,
                                   vectors: Int, inverse: UnsafeMutablePointer<Float>) {
    let w = V.scalarCount
    let floor = V(repeating: -80)
    var v = 0
    // Two columns at a time: a column's sum is a chain of dependent
    // additions, and two chains keep the vector units busy where one waits
    // (measured with the running maxima here, Xeon, 197–1370 tokens:
    // attention 1–5 % faster on every variant).
    while v + 2 <= vectors {
        let c0 = s + v * w, c1 = c0 + w
        let m0 = V.load(inverse + v * w), m1 = V.load(inverse + v * w + w)
        var s0 = V(repeating: 0), s1 = V(repeating: 0)
        for r in 0..<keys {
            let p0 = c0 + r * stride, p1 = c1 + r * stride
            let e0 = vexpSoftmax(vmax(V.load(p0) - m0, floor))
            let e1 = vexpSoftmax(vmax(V.load(p1) - m1, floor))
            e0.store(p0); e1.store(p1)
            s0 += e0; s1 += e1
        }
        (V(repeating: 1) / s0).store(inverse + v * w)
        (V(repeating: 1) / s1).store(inverse + v * w + w)
        v += 2
    }
    while v < vectors {
        let col = s + v * w
        let mx = V.load(inverse + v * w)
        var sum = V(repeating: 0)
        for r in 0..<keys {
            let p = col + r * stride
            let e = vexpSoftmax(vmax(V.load(p) - mx, floor))
            e.store(p)
            sum += e
        }
        (V(repeating: 1) / sum).store(inverse + v * w)
        v += 1
    }
}
