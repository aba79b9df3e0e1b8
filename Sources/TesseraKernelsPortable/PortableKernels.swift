import TesseraKernelCore

/// The kernels built for baseline x86-64 (SSE2), for CPUs without AVX2: 4-float
/// vectors, a 6 × 8 GEMM tile in 15 of the 16 xmm registers.
public enum PortableKernels {
    public static let table = KernelTable(
        isa: .portable, gemmMR: Kernel6x2<SIMD4<Float>>.mr, gemmNR: Kernel6x2<SIMD4<Float>>.nr,
        gemm: { gemm($0, $1, $2) }, layerNorm: { layerNorm($0, $1, $2) },
        attention: { attention($0, $1, $2) })

    @inline(never)
    public static func gemm(_ g: GemmArgs, _ t: Int, _ n: Int) {
        gemmPart(Kernel6x2<SIMD4<Float>>.self, g, thread: t, of: n)
    }

    @inline(never)
    public static func layerNorm(_ a: LayerNormArgs, _ t: Int, _ n: Int) {
        layerNormPart(SIMD4<Float>.self, a, thread: t, of: n)
    }

    @inline(never)
    public static func attention(_ a: AttentionArgs, _ t: Int, _ n: Int) {
        attentionPart(SIMD4<Float>.self, a, thread: t, of: n)
    }

    /// Exposed for the accuracy tests of the vector math on this ISA.
    @inline(never)
    public static func gelu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i + 4 <= n { vgelu(SIMD4<Float>(UnsafeBufferPointer(start: x + i, count: 4))).store(y + i); i += 4 }
        while i < n { y[i] = sgelu(x[i]); i += 1 }
    }

    @inline(never)
    public static func exp(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i + 4 <= n { vexp(SIMD4<Float>(UnsafeBufferPointer(start: x + i, count: 4))).store(y + i); i += 4 }
        while i < n { y[i] = sexp(x[i]); i += 1 }
    }

    /// FMA throughput of one core with this variant's vectors, in GFLOP/s.
    @inline(never)
    public static func fmaPeak(iterations: Int, clock: () -> Double) -> Double {
        fmaPeakProbe(SIMD4<Float>.self, iterations: iterations, clock: clock)
    }
}
