/// Layout of GEMM operands.
///
/// C[M, N] = A[M, K] · Bᵀ where B is a PyTorch `Linear` weight [N, K].
/// B is packed once at load into panels of `panelWidth` (16) columns of C:
/// panel p holds, for every k, the 16 floats W[16p ..< 16p+16, k]
/// contiguously (zero past N). An AVX2 kernel streams one panel (one cache
/// line per k); an AVX-512 kernel streams two neighbouring panels; the SSE
/// kernel half a panel. Every variant reads this one layout, so a session may
/// pick any variant for the same loaded model. The packed size is rounded up
/// to an even number of panels so that a two-panel kernel never reads past it.
public enum GemmLayout {
    public static let panelWidth = 16

    /// Floats needed for packed B of an [N, K] weight.
    @inlinable
    public static func packedCount(n: Int, k: Int) -> Int {
        ((n + 2 * panelWidth - 1) / (2 * panelWidth)) * 2 * panelWidth * k
    }

    /// Packs W [N, K] (row-major, leading dimension ldw) into `dst`,
    /// multiplied by `scale`.
    public static func packWeights(_ w: UnsafePointer<Float>, n: Int, k: Int, ldw: Int,
                                   into dst: UnsafeMutablePointer<Float>, scale: Float = 1) {
        let panels = packedCount(n: n, k: k) / (panelWidth * max(k, 1))
        for p in 0..<(k == 0 ? 0 : panels) {
            let base = dst + p * k * panelWidth
            let cols = max(0, min(panelWidth, n - p * panelWidth))
            for kk in 0..<k {
                let row = base + kk * panelWidth
                if scale == 1 {
                    for c in 0..<cols { row[c] = w[(p * panelWidth + c) * ldw + kk] }
                } else {
                    for c in 0..<cols { row[c] = w[(p * panelWidth + c) * ldw + kk] * scale }
                }
                for c in cols..<panelWidth { row[c] = 0 }
            }
        }
    }

    /// Packs Wᵀ given as S [K, N] (row-major, leading dimension lds), i.e.
    /// W[n][k] = S[k][n]: each panel row is a contiguous copy from S.
    public static func packTransposed(_ src: UnsafePointer<Float>, n: Int, k: Int, lds: Int,
                                      into dst: UnsafeMutablePointer<Float>) {
        let panels = k == 0 ? 0 : packedCount(n: n, k: k) / (panelWidth * k)
        for p in 0..<panels {
            let base = dst + p * k * panelWidth
            let cols = max(0, min(panelWidth, n - p * panelWidth))
            for kk in 0..<k {
                let row = base + kk * panelWidth
                let s = src + kk * lds + p * panelWidth
                for c in 0..<cols { row[c] = s[c] }
                for c in cols..<panelWidth { row[c] = 0 }
            }
        }
    }

    /// Offset of column `col`'s data for row k = 0 in packed B of depth k.
    @inlinable
    public static func columnOffset(_ col: Int, depth k: Int) -> Int {
        (col / panelWidth) * k * panelWidth + col % panelWidth
    }
}

/// What happens to each accumulated value before it is stored:
/// `C = residual + scale ⊙ act(A·Bᵀ + bias)`; each part optional.
/// `residual` must not alias C (partial sums are stored in C between K blocks).
public struct GemmEpilogue {
    /// The activation applied after the bias.
    public enum Activation: Sendable { case none, gelu }

    public var bias: UnsafePointer<Float>?
    public var activation: Activation
    /// Per-column factor (layer scale), after the activation.
    public var scale: UnsafePointer<Float>?
    /// Added last, row by row (ldAddend floats apart): the residual stream, the
    /// position table of the patch embedding, the other head's logits.
    public var addend: UnsafePointer<Float>?
    public var ldAddend: Int

    public init(bias: UnsafePointer<Float>? = nil, activation: Activation = .none,
                scale: UnsafePointer<Float>? = nil,
                addend: UnsafePointer<Float>? = nil, ldAddend: Int = 0) {
        self.bias = bias; self.activation = activation; self.scale = scale
        self.addend = addend; self.ldAddend = ldAddend
    }
}

/// Cache blocking, computed per session from the machine's cache sizes.
public struct GemmBlocking: Equatable {
    /// Depth of a K block: one kernel call accumulates kc products per element.
    public var kc: Int
    /// Rows of A per block: the kernels sweep these rows for one B sliver
    /// before moving to the next columns of C.
    public var mc: Int
    /// Columns of C finished before moving on: the mc × nc block of C and the
    /// kc × nc block of B stay in L2 across K blocks, so that partial sums
    /// are not re-read from memory.
    public var nc: Int
    /// Bytes of L2 per core (0: unknown), for `blockRows`.
    public var l2: Int

    public init(kc: Int, mc: Int, nc: Int = 256, l2: Int = 0) { self.kc = kc; self.mc = mc; self.nc = nc; self.l2 = l2 }

    /// Rows per unit of work when threads should split the rows rather than
    /// the columns (0 when not): with at least four blocks of mc rows (a
    /// batch of images), splitting the columns would make every thread, and
    /// every chunk of columns, read all of A from memory again (Zen 3, ViT-S
    /// batch 8 on two threads: 595–600 ms instead of 645).
    /// With several threads, rows are also split when mc is larger (it is
    /// timed on one image, where mc hardly matters) but there are at least
    /// eight blocks of eight tiles per thread: in blocks of eight tiles, so
    /// that each thread's block of A is its own and small, and threads
    /// still take many units, which keeps them even when the host slows one
    /// core (Xeon, two threads, batch 8, the library before and after
    /// alternating in one process: DINOv2-S 11.9 %, DINOv3-S 8.4 % and
    /// ViT-B/16 3.2 % faster; one thread keeps the columns, which measured
    /// level or faster there). The eight tiles were measured on that Xeon
    /// only (blocks of 72–120 rows about equal, 240 and more no gain). Either way
    /// each element of C is summed in the same order, so the split changes
    /// no bits.
    @inlinable public func rowModeRows(m: Int, mr: Int, threads: Int) -> Int {
        let rows = max(mr, mc / mr * mr)
        if m >= 4 * rows { return rows }
        let small = 8 * mr
        return threads > 1 && m >= 8 * threads * small ? small : 0
    }

    /// Blocking for a kernel of `mr` × `nr` from the L1d and L2 sizes.
    /// K blocks are long: the kernel's B sliver (kc × nr floats) may fill half
    /// of L2 (up to 4096 deep), so that ViT GEMMs (K ≤ 3072) accumulate in
    /// registers from start to end and never round-trip partial sums through
    /// C. A is read in place, so a sliver that leaves L1 costs little (two
    /// vector loads per 2·mr FMAs, from L2); measured on Zen 3, whole-K
    /// blocks beat kc = 384 by 2–3 % end to end. mc: as many rows as fill
    /// three quarters of L2 with 384 floats each, so that each B sliver serves
    /// many row tiles while A mostly stays in L2 (Zen 3, one thread: 252 rows
    /// gave 91–97 % of peak on the ViT shapes; 24 rows fell to 70 % at K = 3072,
    /// 1020 rows lost 1–3 %). Column blocking stays wide.
    public static func forCaches(l1: Int, l2: Int, mr: Int, nr: Int) -> GemmBlocking {
        var kc = (l2 / 2) / (nr * 4)
        kc = max(256, min(4096, kc & ~7))
        var mc = (l2 * 3 / 4) / (384 * 4)
        mc = max(mr, min(1020, (mc / mr) * mr))
        return GemmBlocking(kc: kc, mc: mc, nc: 4096, l2: l2)
    }

    /// Rows of A per block for K blocks `depth` deep: mc, or, where mc rows
    /// of that depth would not fit in L2 but at least 16 tiles' rows fit in
    /// half of it, those. mc is timed on one image, where it hardly
    /// matters; for a batch on one thread, mc = 1020 at depth 768 (3 MiB of
    /// A against a 2 MiB L2) had every B sliver read A from L3 again (Xeon,
    /// `tessera-gemm-bench --compare`, weights from memory: 1576 × 768 ×
    /// 2304 and × 3072 4–5 % faster at 336 rows; depth 384, 1536 and 3072
    /// are unchanged by the rule, where 336 rows measured 4 % faster, level
    /// and 2.5 % slower). Rows per block change no bits.
    @inlinable public func blockRows(depth: Int, mr: Int) -> Int {
        let rows = max(mr, mc / mr * mr)
        let bytesPerRow = max(1, depth) * MemoryLayout<Float>.size
        guard l2 > 0, rows * bytesPerRow > l2 else { return rows }
        let fit = l2 / 2 / bytesPerRow / mr * mr
        return fit >= 16 * mr ? fit : rows
    }

    /// Rows an A block may hold: `blockRows`, stretched by up to half so
    /// that M splits into equal blocks.
    @inlinable public func maxRows(depth: Int, mr: Int) -> Int {
        let rows = blockRows(depth: depth, mr: mr)
        return (rows + rows / 2 + mr) / mr * mr
    }

    /// Floats of per-thread scratch: the rows of a partial tile of A, one K
    /// block deep (for any kernel of up to 12 rows).
    public var scratchFloats: Int { kc * 12 }
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
    /// When set (and zero at the start of the region), threads take chunks
    /// of columns from this counter as they finish, instead of a fixed share:
    /// a thread slowed by another process no longer holds the others up.
    /// Every column is computed the same way whichever thread takes it, so
    /// results stay bit-identical.
    public var counter: UnsafeMutablePointer<Int>?

    public init(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int,
                epilogue: GemmEpilogue, blocking: GemmBlocking,
                scratch: UnsafeMutablePointer<Float>, scratchStride: Int,
                counter: UnsafeMutablePointer<Int>? = nil) {
        self.m = m; self.n = n; self.k = k; self.a = a; self.lda = lda; self.b = b
        self.c = c; self.ldc = ldc; self.epilogue = epilogue; self.blocking = blocking
        self.scratch = scratch; self.scratchStride = scratchStride; self.counter = counter
    }
}
