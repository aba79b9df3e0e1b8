import CTesseraCPU
import TesseraKernelCore

/// Threads take whole (image, head) pairs, statically or from a shared
/// counter. Per pair: pack
/// K as GEMM panels (scores = Q·Kᵀ) and V as transposed panels (out = P·V);
/// then, per block of query rows, two GEMMs on this variant's micro-kernel
/// with a softmax in between. The softmax normalizes P before the second GEMM.
func attentionPart<V: VectorFloat>(_: V.Type, _ a: AttentionArgs, thread t: Int, of nt: Int) {
    let pairs = a.batch * a.heads
    let T = a.tokens, dh = a.headDim, D = a.heads * dh
    let tp = AttentionArgs.paddedTokens(T)
    let layout = AttentionArgs.ScratchLayout(tokens: T, headDim: dh, kc: a.blocking.kc)
    let base = a.scratch + t * a.scratchStride
    let packedK = base + layout.packedK, packedV = base + layout.packedV
    let scores = base + layout.scores
    let gemmScratch = base + layout.gemm
    let R = AttentionArgs.rowBlock
    let blocking = GemmBlocking(kc: a.blocking.kc, mc: R, nc: 1 << 30)
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
        let qBase = rows + h * dh
        // K scaled by 1/√dh as it is packed (exact when dh is a power of 4).
        GemmLayout.packWeights(rows + D + h * dh, n: T, k: dh, ldw: a.ldqkv, into: packedK, scale: a.scale)
        GemmLayout.packTransposed(rows + 2 * D + h * dh, n: dh, k: T, lds: a.ldqkv, into: packedV)
        var i0 = 0
        while i0 < T {
            let nr = min(R, T - i0)
            // Scores = Q · (scale·K)ᵀ, over the padded key count: the padding
            // keys are zero panels, and whole tiles take the fast store path.
            gemmPart(VariantTile.self,
                     GemmArgs(m: nr, n: tp, k: dh, a: qBase + i0 * a.ldqkv, lda: a.ldqkv, b: packedK,
                              c: scores, ldc: tp, epilogue: GemmEpilogue(),
                              blocking: blocking, scratch: gemmScratch, scratchStride: 0),
                     thread: 0, of: 1)
            softmaxRows(V.self, scores, rows: nr, count: T, stride: tp)
            // Out = P · V, written to this head's columns.
            gemmPart(VariantTile.self,
                     GemmArgs(m: nr, n: dh, k: T, a: scores, lda: tp, b: packedV,
                              c: a.out + (b * T + i0) * a.ldo + h * dh, ldc: a.ldo, epilogue: GemmEpilogue(),
                              blocking: blocking, scratch: gemmScratch, scratchStride: 0),
                     thread: 0, of: 1)
            i0 += R
        }
    }
}

/// Each row: exp(x − max) / Σ, in place over `count` entries.
@inline(__always)
func softmaxRows<V: VectorFloat>(_: V.Type, _ s0: UnsafeMutablePointer<Float>, rows: Int, count: Int, stride: Int) {
    let w = V.scalarCount
    let tv = count - count % w
    for r in 0..<rows {
        let s = s0 + r * stride
        var mv = V(repeating: -.infinity)
        var j = 0
        while j < tv { mv = vmax(mv, V.load(s + j)); j += w }
        var mx = mv.max()
        while j < count { mx = max(mx, s[j]); j += 1 }
        let m = V(repeating: mx)
        var sv = V(repeating: 0)
        j = 0
        while j < tv { let e = vexp(V.load(s + j) - m); e.store(s + j); sv += e; j += w }
        var sum = sv.sum()
        while j < count { let e = sexp(s[j] - mx); s[j] = e; sum += e; j += 1 }
        let inv = V(repeating: 1 / sum)
        j = 0
        while j < tv { (V.load(s + j) * inv).store(s + j); j += w }
        while j < count { s[j] *= 1 / sum; j += 1 }
    }
}
