import CTesseraCPU
import CTesseraInt8
import TesseraKernelCore

// Baseline x86-64 (SSE2), for CPUs without AVX2: 4-float vectors; a 6 × 8
// GEMM tile in the 16 xmm registers; multiply and add are not fused.
typealias VariantVector = SIMD4<Float>
typealias VariantTile = Kernel6x2<VariantVector>
let variantName: String? = nil
let variantISA = KernelTable.ISA.portable

// int8: a 4 × 8 tile in plain C.
let variantInt8Tiles: [Int8Tile] = [Int8Tile.portable]
let variantQuantizeRows: tessera_i8_quantize_fn = tessera_i8_quantize_rows_sse2
