/// Layout of GEMM operands.
///
/// C[M, N] = A[M, K] · Bᵀ where B is a PyTorch `Linear` weight [N, K].
/// B is packed once at load into panels of `panelWidth` columns of C: panel p
/// holds, for every k, the 32 floats W[32p ..< 32p+32, k] (zero past N).
/// Every kernel variant reads this one layout (a narrower kernel walks a
/// 32-wide panel in 16- or 8-column halves), so that a session may pick any
/// variant for the same loaded model.
public enum GemmLayout {
    public static let panelWidth = 32

    /// Floats needed for packed B of an [N, K] weight.
    @inlinable
    public static func packedCount(n: Int, k: Int) -> Int {
        ((n + panelWidth - 1) / panelWidth) * panelWidth * k
    }

    /// Packs W [N, K] (row-major, leading dimension ldw) into `dst`.
    public static func packWeights(_ w: UnsafePointer<Float>, n: Int, k: Int, ldw: Int,
                                   into dst: UnsafeMutablePointer<Float>) {
        let panels = (n + panelWidth - 1) / panelWidth
        for p in 0..<panels {
            let base = dst + p * k * panelWidth
            let cols = min(panelWidth, n - p * panelWidth)
            for kk in 0..<k {
                let row = base + kk * panelWidth
                for c in 0..<cols { row[c] = w[(p * panelWidth + c) * ldw + kk] }
                for c in cols..<panelWidth { row[c] = 0 }
            }
        }
    }
}

/// What happens to each accumulated value before it is stored:
/// `C = residual + scale ⊙ act(A·Bᵀ + bias)`; each part optional.
/// `residual` must not alias C (partial sums are stored in C between K blocks).
public struct GemmEpilogue {
    public var bias: UnsafePointer<Float>?
    public var gelu: Bool
    public var scale: UnsafePointer<Float>?
    public var residual: UnsafePointer<Float>?
    public var ldr: Int

    public init(bias: UnsafePointer<Float>? = nil, gelu: Bool = false,
                scale: UnsafePointer<Float>? = nil,
                residual: UnsafePointer<Float>? = nil, ldr: Int = 0) {
        self.bias = bias; self.gelu = gelu; self.scale = scale
        self.residual = residual; self.ldr = ldr
    }
}

/// Cache blocking, computed per session from the machine's cache sizes.
public struct GemmBlocking: Equatable {
    /// Depth of a K block: a kernel's B sliver (kc × nr floats) stays in L1.
    public var kc: Int
    /// Rows of A packed at once: mc × kc floats stay in L2.
    public var mc: Int

    public init(kc: Int, mc: Int) { self.kc = kc; self.mc = mc }

    /// Blocking for a kernel of `mr` × `nr` from the L1d and L2 sizes.
    public static func forCaches(l1: Int, l2: Int, mr: Int, nr: Int) -> GemmBlocking {
        // Half of L1 for the B sliver, the rest for A micro-panels and C.
        var kc = (l1 / 2) / (nr * 4)
        kc = max(64, min(512, kc & ~7))
        // Half of L2 for the packed A block.
        var mc = (l2 / 2) / (kc * 4)
        mc = max(mr, min(1024, (mc / mr) * mr))
        return GemmBlocking(kc: kc, mc: mc)
    }

    /// Floats of per-thread scratch for packing A.
    public var scratchFloats: Int { kc * mc }
}

/// One GEMM call, as the executor describes it.
public struct GemmArgs {
    public var m: Int, n: Int, k: Int
    public var a: UnsafePointer<Float>
    public var lda: Int
    /// Packed weights (see `GemmLayout`).
    public var b: UnsafePointer<Float>
    public var c: UnsafeMutablePointer<Float>
    public var ldc: Int
    public var epilogue: GemmEpilogue
    public var blocking: GemmBlocking
    /// Per-thread scratch: thread t uses `scratch + t * scratchStride`
    /// (at least `blocking.scratchFloats` floats).
    public var scratch: UnsafeMutablePointer<Float>
    public var scratchStride: Int

    public init(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int,
                epilogue: GemmEpilogue, blocking: GemmBlocking,
                scratch: UnsafeMutablePointer<Float>, scratchStride: Int) {
        self.m = m; self.n = n; self.k = k; self.a = a; self.lda = lda; self.b = b
        self.c = c; self.ldc = ldc; self.epilogue = epilogue; self.blocking = blocking
        self.scratch = scratch; self.scratchStride = scratchStride
    }
}
