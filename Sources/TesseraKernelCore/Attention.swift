/// Multi-head self-attention over a packed QKV buffer, fused: for a block of
/// queries at a time the transposed scores are a GEMM (K read in place),
/// softmaxed down their columns, and multiplied by V (read in place) with a
/// second GEMM; memory grows linearly with the number of tokens (the T × T
/// matrix is never stored).
public struct AttentionArgs {
    /// [batch * tokens, 3 * heads * headDim]: Q, then K, then V, head-major.
    public var qkv: UnsafePointer<Float>
    public var ldqkv: Int
    /// [batch * queries, heads * headDim].
    public var out: UnsafeMutablePointer<Float>
    public var ldo: Int
    public var batch: Int
    public var tokens: Int
    /// The first `queries` tokens of each image attend (all of them
    /// by default); a session that needs only the prefix tokens after the
    /// last block (CLS, registers) asks for those alone.
    public var queries: Int
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
                counter: UnsafeMutablePointer<Int>? = nil, queries: Int? = nil) {
        self.qkv = qkv; self.ldqkv = ldqkv; self.out = out; self.ldo = ldo; self.batch = batch
        self.tokens = tokens; self.queries = min(queries ?? tokens, tokens); self.heads = heads; self.headDim = headDim; self.scale = scale
        self.blocking = blocking; self.scratch = scratch; self.scratchStride = scratchStride
        self.counter = counter
    }

    /// Queries handled together by a kernel of `mr` × `nr`: a multiple of
    /// both, so that the block's scores are whole column tiles of the first
    /// GEMM and whole row tiles of the second.
    @inlinable public static func queryBlock(mr: Int, nr: Int) -> Int {
        var a = mr, b = nr
        while b != 0 { (a, b) = (b, a % b) }
        return mr / a * nr
    }

    /// Where each part of one thread's scratch starts, and its total size,
    /// for a kernel of `mr` × `nr`: a block of queries transposed and scaled
    /// ([headDim][block]), their scores transposed ([keys][block], keys
    /// rounded up to `mr`), the head's K gathered into contiguous rows
    /// ([keys][headDim], zero rows past the tokens) and its V ([tokens][headDim
    /// rounded up to `nr`], zero-padded); the softmax sums. Linear in the
    /// number of tokens.
    public struct ScratchLayout {
        public let queries: Int, scores: Int, keys: Int, values: Int, inverse: Int, total: Int

        public init(tokens: Int, headDim: Int, mr: Int, nr: Int) {
            func round(_ n: Int) -> Int { (n + 15) / 16 * 16 }
            let block = AttentionArgs.queryBlock(mr: mr, nr: nr)
            let keyRows = (tokens + mr - 1) / mr * mr
            queries = 0
            scores = queries + round(headDim * block)
            keys = scores + round(keyRows * block)
            values = keys + round(keyRows * headDim)
            inverse = values + round(tokens * AttentionArgs.valueStride(headDim: headDim, nr: nr))
            total = inverse + round(block)
        }
    }

    /// Floats per token of the gathered V: headDim rounded up to `nr`.
    @inlinable public static func valueStride(headDim: Int, nr: Int) -> Int { (headDim + nr - 1) / nr * nr }

    /// Floats of scratch one thread needs (see `ScratchLayout`).
    @inlinable public static func scratchFloats(tokens: Int, headDim: Int, mr: Int, nr: Int) -> Int {
        ScratchLayout(tokens: tokens, headDim: headDim, mr: mr, nr: nr).total
    }
}
