import TesseraKernelCore

/// Rows are split statically between threads; each row is computed the same
/// way whatever the split (two passes: mean, then centered variance).
func layerNormPart<V: VectorFloat>(_: V.Type, _ a: LayerNormArgs, thread t: Int, of nt: Int) {
    let r0 = t * a.rows / nt, r1 = (t + 1) * a.rows / nt
    let w = V.scalarCount
    let n = a.n
    let nv = n - n % w
    for r in r0..<r1 {
        let x = a.x + r * a.ldx
        let y = a.y + r * a.ldy
        var acc = V(repeating: 0)
        var i = 0
        while i < nv { acc += V.load(x + i); i += w }
        var s = acc.sum()
        while i < n { s += x[i]; i += 1 }
        let mean = s / Float(n)
        let m = V(repeating: mean)
        var acc2 = V(repeating: 0)
        i = 0
        while i < nv { let d = V.load(x + i) - m; V.madd(&acc2, d, d); i += w }
        var q = acc2.sum()
        while i < n { let d = x[i] - mean; q += d * d; i += 1 }
        let rstd = 1 / (q / Float(n) + a.eps).squareRoot()
        let rs = V(repeating: rstd)
        i = 0
        while i < nv {
            let v = (V.load(x + i) - m) * rs * V.load(a.weight + i) + V.load(a.bias + i)
            v.store(y + i)
            i += w
        }
        while i < n { y[i] = (x[i] - mean) * rstd * a.weight[i] + a.bias[i]; i += 1 }
    }
}
