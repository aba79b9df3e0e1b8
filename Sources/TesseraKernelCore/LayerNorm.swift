/// Layer normalization over the last dimension of row-major rows.
public struct LayerNormArgs {
    public var x: UnsafePointer<Float>
    public var y: UnsafeMutablePointer<Float>
    public var rows: Int
    public var n: Int
    public var ldx: Int
    public var ldy: Int
    public var weight: UnsafePointer<Float>
    public var bias: UnsafePointer<Float>
    public var eps: Float

    public init(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int, n: Int,
                ldx: Int, ldy: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                eps: Float) {
        self.x = x; self.y = y; self.rows = rows; self.n = n; self.ldx = ldx; self.ldy = ldy
        self.weight = weight; self.bias = bias; self.eps = eps
    }
}

/// Rows are split statically between threads; each row is computed the same
/// way whatever the split (two passes: mean, then centered variance).
@inlinable
public func layerNormPart<V: VectorFloat>(_: V.Type, _ a: LayerNormArgs, thread t: Int, of nt: Int) {
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
