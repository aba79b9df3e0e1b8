import TesseraKernelCore

/// Rows (image × patch token) are split statically between threads; each
/// head's q and k are rotated in place, vectors over each half of the head.
func ropePart<V: VectorFloat>(_: V.Type, _ a: RopeArgs, thread t: Int, of nt: Int) {
    let patches = a.tokens - a.prefix
    let rows = a.images * patches
    let r0 = t * rows / nt, r1 = (t + 1) * rows / nt
    let w = V.scalarCount
    let half = a.headDim / 2
    let hv = half - half % w
    for r in r0..<r1 {
        let image = r / patches, p = r % patches
        let row = a.qkv + (image * a.tokens + a.prefix + p) * a.ld
        let c = a.cos + p * a.headDim, s = a.sin + p * a.headDim
        for part in 0..<2 {
            for h in 0..<a.heads {
                let x = row + part * a.kOffset + h * a.headDim
                var i = 0
                while i < hv {
                    let x1 = V.load(x + i), x2 = V.load(x + half + i)
                    (x1 * V.load(c + i) - x2 * V.load(s + i)).store(x + i)
                    (x2 * V.load(c + half + i) + x1 * V.load(s + half + i)).store(x + half + i)
                    i += w
                }
                while i < half {
                    let x1 = x[i], x2 = x[half + i]
                    x[i] = x1 * c[i] - x2 * s[i]
                    x[half + i] = x2 * c[half + i] + x1 * s[half + i]
                    i += 1
                }
            }
        }
    }
}

/// silu(gate) ⊙ up, rows split statically between threads.
func swigluPart<V: VectorFloat>(_: V.Type, _ a: SwiGLUArgs, thread t: Int, of nt: Int) {
    let r0 = t * a.rows / nt, r1 = (t + 1) * a.rows / nt
    let w = V.scalarCount
    let nv = a.n - a.n % w
    for r in r0..<r1 {
        let g = a.x + r * a.ldx, u = g + a.n, y = a.y + r * a.ldy
        var i = 0
        while i < nv { (vsilu(V.load(g + i)) * V.load(u + i)).store(y + i); i += w }
        while i < a.n { y[i] = ssilu(g[i]) * u[i]; i += 1 }
    }
}
