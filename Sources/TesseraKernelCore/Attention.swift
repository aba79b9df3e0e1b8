/// Multi-head self-attention over a packed QKV buffer, fused: per head, K
/// and V are packed as GEMM panels once, then for a block of query rows at a
/// time the scores are a GEMM, softmaxed in place, and multiplied by V with a
/// second GEMM; memory grows linearly with the number of tokens (the T × T
/// matrix is never stored).
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
    /// The session's GEMM blocking (its kc is used for the two GEMMs).
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

    /// Query rows handled together (a multiple of every kernel's row count).
    public static let rowBlock = 48

    /// Tokens rounded up to a whole number of 32-float chunks.
    @inlinable public static func paddedTokens(_ t: Int) -> Int { (t + 31) / 32 * 32 }

    /// Where each part of one thread's scratch starts, and its total size.
    public struct ScratchLayout {
        public let packedK: Int, packedV: Int, scores: Int, gemm: Int, total: Int

        public init(tokens: Int, headDim: Int, kc: Int) {
            let tp = AttentionArgs.paddedTokens(tokens)
            func round(_ n: Int) -> Int { (n + 15) / 16 * 16 }
            packedK = 0
            packedV = packedK + round(GemmLayout.packedCount(n: tokens, k: headDim))
            scores = packedV + round(GemmLayout.packedCount(n: headDim, k: tokens))
            gemm = scores + AttentionArgs.rowBlock * tp
            total = gemm + round(max(1, kc) * AttentionArgs.rowBlock)
        }
    }

    /// Floats of scratch one thread needs: packed K and V of one head, the
    /// scores of one block of query rows, and the GEMMs' packing space.
    @inlinable public static func scratchFloats(tokens: Int, headDim: Int, kc: Int) -> Int {
        ScratchLayout(tokens: tokens, headDim: headDim, kc: kc).total
    }
}
