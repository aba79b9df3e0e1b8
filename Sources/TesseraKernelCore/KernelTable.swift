/// One instruction set's kernels. The runtime holds one table per session and
/// calls through it; each entry does one thread's static share of the work.
public final class KernelTable: @unchecked Sendable {
    public enum ISA: Int32, Sendable, Comparable {
        case portable = 1, avx2 = 2, avx512 = 3
        public static func < (a: ISA, b: ISA) -> Bool { a.rawValue < b.rawValue }
        public var name: String {
            switch self { case .portable: "portable"; case .avx2: "avx2"; case .avx512: "avx512" }
        }
    }

    public let isa: ISA
    /// The variant's name: the ISA's, or a test variant's own (the AVX-512
    /// tile shapes built for AVX2 run as `avx2` under another name).
    public let name: String
    /// Micro-kernel tile, for sizing GEMM blocking.
    public let gemmMR: Int
    public let gemmNR: Int
    public let gemm: (GemmArgs, Int, Int) -> Void
    public let layerNorm: (LayerNormArgs, Int, Int) -> Void
    public let attention: (AttentionArgs, Int, Int) -> Void
    public let rope: (RopeArgs, Int, Int) -> Void
    public let swiglu: (SwiGLUArgs, Int, Int) -> Void
    /// The int8 tiles this variant's vectors can finish that the CPU runs,
    /// the fastest first: chosen by CPU feature (VNNI or not), not by the
    /// variant's level alone.
    public let int8Tiles: [Int8Tile]
    public let int8Gemm: (Int8GemmArgs, Int, Int) -> Void
    public let quantizeRows: (QuantizeArgs, Int, Int) -> Void

    public init(isa: ISA, name: String? = nil, gemmMR: Int, gemmNR: Int,
                gemm: @escaping (GemmArgs, Int, Int) -> Void,
                layerNorm: @escaping (LayerNormArgs, Int, Int) -> Void,
                attention: @escaping (AttentionArgs, Int, Int) -> Void,
                rope: @escaping (RopeArgs, Int, Int) -> Void,
                swiglu: @escaping (SwiGLUArgs, Int, Int) -> Void,
                int8Tiles: [Int8Tile],
                int8Gemm: @escaping (Int8GemmArgs, Int, Int) -> Void,
                quantizeRows: @escaping (QuantizeArgs, Int, Int) -> Void) {
        self.isa = isa; self.name = name ?? isa.name; self.gemmMR = gemmMR; self.gemmNR = gemmNR
        self.gemm = gemm; self.layerNorm = layerNorm; self.attention = attention
        self.rope = rope; self.swiglu = swiglu
        self.int8Tiles = int8Tiles; self.int8Gemm = int8Gemm; self.quantizeRows = quantizeRows
    }
}
