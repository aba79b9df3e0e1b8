/// Multi-head self-attention over a packed QKV buffer, fused: per head, K
/// and Vᵀ are packed as GEMM panels once, then for a block of queries at a
/// time the transposed scores are a GEMM, softmaxed down their columns, and
/// multiplied by V with a second GEMM; memory grows linearly with the number
/// of tokens (the T × T matrix is never stored).
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
    /// The session's GEMM blocking (its kc bounds the depth of one kernel
    /// call over keys).
    public var blocking: GemmBlocking
    /// Per-thread scratch: thread t uses `scratch + t * scratchStride`.
    public var scratch: UnsafeMutablePointer<Float>
    public var scratchStride: Int
    /// When set (zero at the start), threads take (image, head) pairs from
    /// it as they finish (see `GemmArgs.counter`).
    public var counter: UnsafeMutablePointer<Int>?

    public init(qkv: UnsafePointer<Float>, ldqkv: Int, out: UnsafeMutablePointer<Float>, ldo: Int,
                batch: Int, tokens: Int, heads: Int, headDim: Int, scale: Float, blocking: GemmBlocking,
                scratch: UnsafeMutablePointer<Float>, scratchStride: Int,
                counter: UnsafeMutablePointer<Int>? = nil) {
        self.qkv = qkv; self.ldqkv = ldqkv; self.out = out; self.ldo = ldo; self.batch = batch
        self.tokens = tokens; self.heads = heads; self.headDim = headDim; self.scale = scale
        self.blocking = blocking; self.scratch = scratch; self.scratchStride = scratchStride
        self.counter = counter
    }

    /// Where each part of one thread's scratch starts, and its total size,
    /// for a kernel of `mr` rows and `nr` columns: K as row panels of `mr`
    /// keys ([headDim][mr] each), Vᵀ as row panels of `mr` head dimensions
    /// ([tokens][mr] each), a block of `nr` queries transposed ([headDim][nr]),
    /// their scores transposed ([keys][nr]: the layout the second GEMM reads as
    /// its B operand), the block's output transposed ([headDim][nr]) and the
    /// block's softmax denominators. Linear in the number of tokens.
    public struct ScratchLayout {
        public let packedK: Int, packedV: Int, queries: Int, scores: Int, output: Int, inverse: Int, total: Int

        public init(tokens: Int, headDim: Int, mr: Int, nr: Int) {
            func round(_ n: Int) -> Int { (n + 15) / 16 * 16 }
            let keys = (tokens + mr - 1) / mr * mr, dims = (headDim + mr - 1) / mr * mr
            packedK = 0
            packedV = packedK + round(keys * headDim)
            queries = packedV + round(dims * tokens)
            scores = queries + round(headDim * nr)
            output = scores + round(keys * nr)
            inverse = output + round(dims * nr)
            total = inverse + round(nr)
        }
    }

    /// Floats of scratch one thread needs (see `ScratchLayout`).
    @inlinable public static func scratchFloats(tokens: Int, headDim: Int, mr: Int, nr: Int) -> Int {
        ScratchLayout(tokens: tokens, headDim: headDim, mr: mr, nr: nr).total
    }
}
