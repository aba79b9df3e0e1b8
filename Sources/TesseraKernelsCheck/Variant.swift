import TesseraKernelCore

// The AVX-512 variant's shapes (16-float vectors, 12 × 32 tile) compiled for
// AVX2, so that their logic is tested on machines without AVX-512. Only the
// tests link this module.
typealias VariantVector = SIMD16<Float>
typealias VariantTile = Kernel12x2<VariantVector>
let variantISA = KernelTable.ISA.avx512
