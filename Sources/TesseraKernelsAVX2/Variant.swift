import TesseraKernelCore

// AVX2 + FMA (`-target-cpu haswell`): 8-float vectors; a 6 × 16 GEMM tile
// keeps 12 accumulators, 2 B vectors and a broadcast in the 16 ymm registers.
typealias VariantVector = SIMD8<Float>
typealias VariantTile = Kernel6x2<VariantVector>
let variantName: String? = nil
let variantISA = KernelTable.ISA.avx2
