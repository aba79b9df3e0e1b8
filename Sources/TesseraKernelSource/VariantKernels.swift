import TesseraKernelCore

/// This variant's kernels: the instantiations of the generic kernel code for
/// the module's vector type and tile (see the module's Variant.swift), behind
/// the runtime's dispatch table.
public enum VariantKernels {
    public static let table = KernelTable(
        isa: variantISA, name: variantName, gemmMR: VariantTile.mr, gemmNR: VariantTile.nr,
        gemm: { gemm($0, $1, $2) }, layerNorm: { layerNorm($0, $1, $2) },
        attention: { attention($0, $1, $2) }, rope: { rope($0, $1, $2) }, swiglu: { swiglu($0, $1, $2) },
        int8Tiles: variantInt8Tiles, int8Gemm: { int8Gemm($0, $1, $2) }, quantizeRows: { quantizeRows($0, $1, $2) })

    @inline(never)
    public static func gemm(_ g: GemmArgs, _ t: Int, _ n: Int) {
        gemmPart(VariantTile.self, g, thread: t, of: n)
    }

    @inline(never)
    public static func layerNorm(_ a: LayerNormArgs, _ t: Int, _ n: Int) {
        layerNormPart(VariantVector.self, a, thread: t, of: n)
    }

    @inline(never)
    public static func attention(_ a: AttentionArgs, _ t: Int, _ n: Int) {
        attentionPart(VariantTile.self, a, thread: t, of: n)
    }

    @inline(never)
    public static func rope(_ a: RopeArgs, _ t: Int, _ n: Int) {
        ropePart(VariantVector.self, a, thread: t, of: n)
    }

    @inline(never)
    public static func swiglu(_ a: SwiGLUArgs, _ t: Int, _ n: Int) {
        swigluPart(VariantVector.self, a, thread: t, of: n)
    }

    @inline(never)
    public static func int8Gemm(_ g: Int8GemmArgs, _ t: Int, _ n: Int) {
        int8GemmPart(VariantVector.self, g, thread: t, of: n)
    }

    @inline(never)
    public static func quantizeRows(_ q: QuantizeArgs, _ t: Int, _ n: Int) {
        quantizeRowsPart(q, thread: t, of: n)
    }

    /// SiLU, GELU and exp over an array, for the accuracy tests of the vector math.
    @inline(never)
    public static func silu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        elementwise(x, y, n, vsilu, ssilu)
    }

    @inline(never)
    public static func gelu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        elementwise(x, y, n, vgelu, sgelu)
    }

    @inline(never)
    public static func exp(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        elementwise(x, y, n, vexp, sexp)
    }

    /// The softmax's exp (arguments in [−80, 0]) over an array, for its accuracy test.
    @inline(never)
    public static func expSoftmax(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        elementwise(x, y, n, vexpSoftmax, sexpSoftmax)
    }

    /// `vector` over whole vectors of x, `scalar` (its one-lane twin) over the tail.
    @inline(__always)
    static func elementwise(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int,
                            _ vector: (VariantVector) -> VariantVector, _ scalar: (Float) -> Float) {
        let w = VariantVector.scalarCount
        var i = 0
        while i + w <= n { vector(VariantVector.load(x + i)).store(y + i); i += w }
        while i < n { y[i] = scalar(x[i]); i += 1 }
    }

    /// FMA throughput of one core with this variant's vectors, in GFLOP/s.
    @inline(never)
    public static func fmaPeak(iterations: Int, clock: () -> Double) -> Double {
        fmaPeakProbe(VariantVector.self, iterations: iterations, clock: clock)
    }
}
