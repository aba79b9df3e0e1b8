import CTesseraCPU
import TesseraKernelCore

/// Attention computed transposed, so that no step needs a horizontal
/// reduction or a repacking of the probabilities:
///
/// - Sᵀ = (scale·K) · Qᵀ for a block of `nr` queries: K is the A operand
///   (row panels of keys), the block's queries the B operand;
/// - the softmax runs down the columns of Sᵀ (over keys), one vector of
///   queries at a time, and leaves the unnormalized exponentials in place;
/// - Oᵀ = Vᵀ · Pᵀ: Vᵀ is the A operand and Sᵀ, as it stands, the B operand;
/// - O is written to the head's columns, divided by the softmax sums.
///
/// Threads take whole (image, head) pairs, statically or from the shared
/// counter; each pair is computed the same way by whichever thread takes it.
func attentionPart<K: GemmMicroKernel>(_: K.Type, _ a: AttentionArgs, thread t: Int, of nt: Int) {
    typealias V = K.V
    let pairs = a.batch * a.heads
    let T = a.tokens, dh = a.headDim, D = a.heads * dh
    if T == 0 || dh == 0 { return }
    let mr = K.mr, nr = K.nr, w = V.scalarCount
    let keyPanels = (T + mr - 1) / mr, dimPanels = (dh + mr - 1) / mr
    let layout = AttentionArgs.ScratchLayout(tokens: T, headDim: dh, mr: mr, nr: nr)
    let base = a.scratch + t * a.scratchStride
    let packedK = base + layout.packedK, packedV = base + layout.packedV
    let queries = base + layout.queries, scores = base + layout.scores
    let output = base + layout.output, inverse = base + layout.inverse
    let kc = max(1, a.blocking.kc)
    var nextStatic = t * pairs / nt
    let endStatic = (t + 1) * pairs / nt
    while true {
        let pair: Int
        if let counter = a.counter {
            pair = tessera_next_chunk(counter)
            if pair >= pairs { break }
        } else {
            if nextStatic >= endStatic { break }
            pair = nextStatic
            nextStatic += 1
        }
        let b = pair / a.heads, h = pair % a.heads
        let rows = a.qkv + b * T * a.ldqkv
        // K scaled by 1/√dh as it is packed (exact when dh is a power of 4).
        packRowPanels(rows + D + h * dh, ld: a.ldqkv, rows: T, depth: dh, mr: mr, scale: a.scale, into: packedK)
        packColumnPanels(rows + 2 * D + h * dh, ld: a.ldqkv, depth: T, cols: dh, mr: mr, into: packedV)
        var q0 = 0
        while q0 < T {
            let nq = min(nr, T - q0)
            // Qᵀ for this block: [dh][nr], zero past the last query.
            for d in 0..<dh {
                let dst = queries + d * nr
                let src = rows + q0 * a.ldqkv + h * dh + d
                for j in 0..<nq { dst[j] = src[j * a.ldqkv] }
                for j in nq..<nr { dst[j] = 0 }
            }
            // Sᵀ = K · Qᵀ: [keys][nr], whole tiles (padding keys are zero rows).
            for p in 0..<keyPanels {
                K.run(kc: dh, a: packedK + p * mr * dh, aRow: 1, aStep: mr, b: queries, bNext: w, ldb: nr,
                      c: scores + p * mr * nr, ldc: nr, rows: mr, cols: nr, first: true, last: true,
                      epilogue: GemmEpilogue(), row: 0, col: 0)
            }
            columnSoftmax(V.self, scores, keys: T, stride: nr, vectors: 2, inverse: inverse)
            // Oᵀ = Vᵀ · Pᵀ: [dims][nr], over the keys in blocks of kc.
            var k0 = 0
            while k0 < T {
                let depth = min(kc, T - k0)
                for p in 0..<dimPanels {
                    K.run(kc: depth, a: packedV + p * mr * T + k0 * mr, aRow: 1, aStep: mr, b: scores + k0 * nr, bNext: w, ldb: nr,
                          c: output + p * mr * nr, ldc: nr, rows: mr, cols: nr, first: k0 == 0, last: k0 + depth == T,
                          epilogue: GemmEpilogue(), row: 0, col: 0)
                }
                k0 += depth
            }
            // O = (Oᵀ)ᵀ / sums, into this head's columns.
            let out = a.out + (b * T + q0) * a.ldo + h * dh
            for d in 0..<dh {
                let src = output + d * nr
                for j in 0..<nq { out[j * a.ldo + d] = src[j] * inverse[j] }
            }
            q0 += nr
        }
    }
}

/// Rows × depth of a row-major matrix as row panels of `mr` rows, each
/// [depth][mr] (rows past the end zero), multiplied by `scale`.
@inline(__always)
func packRowPanels(_ src: UnsafePointer<Float>, ld: Int, rows: Int, depth: Int, mr: Int, scale: Float,
                   into dst: UnsafeMutablePointer<Float>) {
    var r0 = 0
    while r0 < rows {
        let panel = dst + r0 * depth
        let n = min(mr, rows - r0)
        for r in 0..<mr {
            var d = panel + r
            if r < n {
                let s = src + (r0 + r) * ld
                for k in 0..<depth { d.pointee = s[k] * scale; d += mr }
            } else {
                for _ in 0..<depth { d.pointee = 0; d += mr }
            }
        }
        r0 += mr
    }
}

/// The transpose of depth × cols of a row-major matrix as row panels of `mr`
/// of its columns, each [depth][mr] (columns past the end zero).
@inline(__always)
func packColumnPanels(_ src: UnsafePointer<Float>, ld: Int, depth: Int, cols: Int, mr: Int,
                      into dst: UnsafeMutablePointer<Float>) {
    var c0 = 0
    while c0 < cols {
        let panel = dst + c0 * depth
        let n = min(mr, cols - c0)
        for k in 0..<depth {
            let s = src + k * ld + c0
            let d = panel + k * mr
            for c in 0..<n { d[c] = s[c] }
            for c in n..<mr { d[c] = 0 }
        }
        c0 += mr
    }
}

/// Softmax down each column of `keys` × (vectors · V.scalarCount) values
/// (row stride `stride`): the columns' exponentials exp(x − max) are left in
/// place and 1 / their sums written to `inverse`.
@inline(__always)
func columnSoftmax<V: VectorFloat>(_: V.Type, _ s: UnsafeMutablePointer<Float>, keys: Int, stride: Int,
                                   vectors: Int, inverse: UnsafeMutablePointer<Float>) {
    let w = V.scalarCount
    for v in 0..<vectors {
        let col = s + v * w
        var mx = V.load(col)
        for r in 1..<keys { mx = vmax(mx, V.load(col + r * stride)) }
        var sum = V(repeating: 0)
        for r in 0..<keys {
            let p = col + r * stride
            let e = vexp(V.load(p) - mx)
            e.store(p)
            sum += e
        }
        (V(repeating: 1) / sum).store(inverse + v * w)
    }
}
