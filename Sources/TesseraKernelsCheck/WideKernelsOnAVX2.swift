import TesseraKernelCore

/// The AVX-512 variant's kernel shapes (12 × 32 tile, 16-float vectors)
/// compiled for AVX2, so that their logic is tested on machines without
/// AVX-512. Only the tests link this.
public enum WideKernelsOnAVX2 {
    public static let table = KernelTable(
        isa: .avx512, gemmMR: Kernel12x2<SIMD16<Float>>.mr, gemmNR: Kernel12x2<SIMD16<Float>>.nr,
        gemm: { gemmPart(Kernel12x2<SIMD16<Float>>.self, $0, thread: $1, of: $2) },
        layerNorm: { layerNormPart(SIMD16<Float>.self, $0, thread: $1, of: $2) },
        attention: { attentionPart(SIMD16<Float>.self, $0, thread: $1, of: $2) })
}
