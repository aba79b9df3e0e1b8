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
