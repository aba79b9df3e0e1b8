import TesseraKernelCore

/// The kernels built for AVX-512 F/BW/VL (`-target-cpu skylake-avx512`): 16-float
/// vectors, a 12 × 32 GEMM tile in 27 of the 32 zmm registers.
public enum AVX512Kernels {
    public static let table = KernelTable(
        isa: .avx512, gemmMR: Kernel12x2<SIMD16<Float>>.mr, gemmNR: Kernel12x2<SIMD16<Float>>.nr,
        gemm: { gemm($0, $1, $2) }, layerNorm: { layerNorm($0, $1, $2) },
        attention: { attention($0, $1, $2) })

    @inline(never)
    public static func gemm(_ g: GemmArgs, _ t: Int, _ n: Int) {
        gemmPart(Kernel12x2<SIMD16<Float>>.self, g, thread: t, of: n)
    }

    @inline(never)
    public static func layerNorm(_ a: LayerNormArgs, _ t: Int, _ n: Int) {
        layerNormPart(SIMD16<Float>.self, a, thread: t, of: n)
    }

    @inline(never)
    public static func attention(_ a: AttentionArgs, _ t: Int, _ n: Int) {
        attentionPart(SIMD16<Float>.self, a, thread: t, of: n)
    }

    /// Exposed for the accuracy tests of the vector math on this ISA.
    @inline(never)
    public static func gelu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i + 16 <= n { vgelu(SIMD16<Float>(UnsafeBufferPointer(start: x + i, count: 16))).store(y + i); i += 16 }
        while i < n { y[i] = sgelu(x[i]); i += 1 }
    }

    @inline(never)
    public static func exp(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i + 16 <= n { vexp(SIMD16<Float>(UnsafeBufferPointer(start: x + i, count: 16))).store(y + i); i += 16 }
        while i < n { y[i] = sexp(x[i]); i += 1 }
    }

    /// FMA throughput of one core with this variant's vectors, in GFLOP/s.
    @inline(never)
    public static func fmaPeak(iterations: Int, clock: () -> Double) -> Double {
        fmaPeakProbe(SIMD16<Float>.self, iterations: iterations, clock: clock)
    }
}
