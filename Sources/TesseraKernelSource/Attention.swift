import TesseraKernelCore

/// Threads take whole (image, head) pairs, split statically.
func attentionPart<V: VectorFloat>(_: V.Type, _ a: AttentionArgs, thread t: Int, of nt: Int) {
    let pairs = a.batch * a.heads
    let p0 = t * pairs / nt, p1 = (t + 1) * pairs / nt
    if p0 >= p1 { return }
    let w = V.scalarCount
    let T = a.tokens, dh = a.headDim, D = a.heads * dh
    let tp = AttentionArgs.paddedTokens(T)
    let kt = a.scratch + t * a.scratchStride
    let scores = kt + tp * dh
    let R = AttentionArgs.rowBlock
    for pair in p0..<p1 {
        let b = pair / a.heads, h = pair % a.heads
        let rows = a.qkv + b * T * a.ldqkv
        let qBase = rows + h * dh
        let kBase = rows + D + h * dh
        let vBase = rows + 2 * D + h * dh
        // Kᵀ: [dh][tp], zero past T.
        for j in 0..<T {
            let k = kBase + j * a.ldqkv
            for d in 0..<dh { kt[d * tp + j] = k[d] }
        }
        if tp > T { for d in 0..<dh { for j in T..<tp { kt[d * tp + j] = 0 } } }
        var i0 = 0
        while i0 < T {
            let nr = min(R, T - i0)
            // Query row pointers; missing rows repeat the last one (results unused).
            let q0 = qBase + i0 * a.ldqkv
            let q1 = qBase + (i0 + min(1, nr - 1)) * a.ldqkv
            let q2 = qBase + (i0 + min(2, nr - 1)) * a.ldqkv
            let q3 = qBase + (i0 + min(3, nr - 1)) * a.ldqkv
            // Scores: 4 rows × 2 vectors of keys at a time.
            var j = 0
            while j < tp {
                var s00 = V(repeating: 0), s01 = V(repeating: 0)
                var s10 = V(repeating: 0), s11 = V(repeating: 0)
                var s20 = V(repeating: 0), s21 = V(repeating: 0)
                var s30 = V(repeating: 0), s31 = V(repeating: 0)
                let two = j + w < tp
                var kp = kt + j
                for d in 0..<dh {
                    let k0 = V.load(kp)
                    let k1 = two ? V.load(kp + w) : V(repeating: 0)
                    var x = V(repeating: q0[d]); V.madd(&s00, x, k0); V.madd(&s01, x, k1)
                    x = V(repeating: q1[d]); V.madd(&s10, x, k0); V.madd(&s11, x, k1)
                    x = V(repeating: q2[d]); V.madd(&s20, x, k0); V.madd(&s21, x, k1)
                    x = V(repeating: q3[d]); V.madd(&s30, x, k0); V.madd(&s31, x, k1)
                    kp += tp
                }
                let sc = V(repeating: a.scale)
                (s00 * sc).store(scores + j); (s10 * sc).store(scores + tp + j)
                (s20 * sc).store(scores + 2 * tp + j); (s30 * sc).store(scores + 3 * tp + j)
                if two {
                    (s01 * sc).store(scores + j + w); (s11 * sc).store(scores + tp + j + w)
                    (s21 * sc).store(scores + 2 * tp + j + w); (s31 * sc).store(scores + 3 * tp + j + w)
                }
                j += two ? 2 * w : w
            }
            // Softmax of each row over the T real keys; padded keys get 0.
            var inv = SIMD4<Float>(repeating: 0)
            for r in 0..<nr {
                let s = scores + r * tp
                let tv = T - T % w
                var mv = V(repeating: -.infinity)
                var jj = 0
                while jj < tv { mv = vmax(mv, V.load(s + jj)); jj += w }
                var mx = mv.max()
                while jj < T { mx = max(mx, s[jj]); jj += 1 }
                let m = V(repeating: mx)
                var sv = V(repeating: 0)
                jj = 0
                while jj < tv { let e = vexp(V.load(s + jj) - m); e.store(s + jj); sv += e; jj += w }
                var sum = sv.sum()
                while jj < T { let e = sexp(s[jj] - mx); s[jj] = e; sum += e; jj += 1 }
                while jj < tp { s[jj] = 0; jj += 1 }
                inv[r] = 1 / sum
            }
            // Out = P · V, 4 rows × 2 vectors of the head dimension at a time.
            var d0 = 0
            while d0 < dh {
                let n0 = min(w, dh - d0), n1 = min(w, dh - d0 - w)
                var o00 = V(repeating: 0), o01 = V(repeating: 0)
                var o10 = V(repeating: 0), o11 = V(repeating: 0)
                var o20 = V(repeating: 0), o21 = V(repeating: 0)
                var o30 = V(repeating: 0), o31 = V(repeating: 0)
                var vp = vBase + d0
                for jj in 0..<T {
                    let v0: V = loadPartial(vp, n0)
                    let v1: V = n1 > 0 ? loadPartial(vp + w, n1) : V(repeating: 0)
                    var x = V(repeating: scores[jj]); V.madd(&o00, x, v0); V.madd(&o01, x, v1)
                    x = V(repeating: scores[tp + jj]); V.madd(&o10, x, v0); V.madd(&o11, x, v1)
                    x = V(repeating: scores[2 * tp + jj]); V.madd(&o20, x, v0); V.madd(&o21, x, v1)
                    x = V(repeating: scores[3 * tp + jj]); V.madd(&o30, x, v0); V.madd(&o31, x, v1)
                    vp += a.ldqkv
                }
                let outRow = a.out + (b * T + i0) * a.ldo + h * dh + d0
                storePartial(o00 * inv[0], outRow, n0)
                if n1 > 0 { storePartial(o01 * inv[0], outRow + w, n1) }
                if nr > 1 {
                    storePartial(o10 * inv[1], outRow + a.ldo, n0)
                    if n1 > 0 { storePartial(o11 * inv[1], outRow + a.ldo + w, n1) }
                }
                if nr > 2 {
                    storePartial(o20 * inv[2], outRow + 2 * a.ldo, n0)
                    if n1 > 0 { storePartial(o21 * inv[2], outRow + 2 * a.ldo + w, n1) }
                }
                if nr > 3 {
                    storePartial(o30 * inv[3], outRow + 3 * a.ldo, n0)
                    if n1 > 0 { storePartial(o31 * inv[3], outRow + 3 * a.ldo + w, n1) }
                }
                d0 += 2 * w
            }
            i0 += R
        }
    }
}
