/// Multi-head self-attention over a packed QKV buffer, fused: per head, scores
/// are computed for a block of query rows at a time, softmaxed and applied to
/// V, so memory grows linearly with the number of tokens (no T × T matrix).
public struct AttentionArgs {
    /// [batch * tokens, 3 * heads * headDim]: Q, then K, then V, head-major.
    public var qkv: UnsafePointer<Float>
    public var ldqkv: Int
    /// [batch * tokens, heads * headDim].
    public var out: UnsafeMutablePointer<Float>
    public var ldo: Int
    public var batch: Int
    public var tokens: Int
    public var heads: Int
    public var headDim: Int
    public var scale: Float
    /// Per-thread scratch: thread t uses `scratch + t * scratchStride`.
    public var scratch: UnsafeMutablePointer<Float>
    public var scratchStride: Int

    public init(qkv: UnsafePointer<Float>, ldqkv: Int, out: UnsafeMutablePointer<Float>, ldo: Int,
                batch: Int, tokens: Int, heads: Int, headDim: Int, scale: Float,
                scratch: UnsafeMutablePointer<Float>, scratchStride: Int) {
        self.qkv = qkv; self.ldqkv = ldqkv; self.out = out; self.ldo = ldo; self.batch = batch
        self.tokens = tokens; self.heads = heads; self.headDim = headDim; self.scale = scale
        self.scratch = scratch; self.scratchStride = scratchStride
    }

    /// Query rows handled together.
    public static let rowBlock = 4

    /// Tokens rounded up to a whole number of 32-float chunks.
    @inlinable public static func paddedTokens(_ t: Int) -> Int { (t + 31) / 32 * 32 }

    /// Floats of scratch one thread needs: Kᵀ of one head plus the scores of
    /// one block of query rows.
    @inlinable public static func scratchFloats(tokens: Int, headDim: Int) -> Int {
        let tp = paddedTokens(tokens)
        return tp * headDim + rowBlock * tp
    }
}
