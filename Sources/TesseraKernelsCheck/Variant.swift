import CTesseraCPU
import CTesseraInt8
import TesseraKernelCore

// The AVX-512 variant's shapes (16-float vectors, 12 × 32 tile) compiled for
// AVX2, so that their logic (and their zero-allocation property) is tested
// on machines without AVX-512. It needs AVX2 only; a session runs it when
// TESSERA_ISA=avx512-on-avx2, never by default.
typealias VariantVector = SIMD16<Float>
typealias VariantTile = Kernel12x2<VariantVector>
let variantName: String? = "avx512-on-avx2"
let variantISA = KernelTable.ISA.avx2

// int8: the AVX-512 VNNI tile's 12 × 32 shape, vpdpbusd emulated exactly.
let variantInt8Tiles: [Int8Tile] = [Int8Tile.check]
let variantQuantizeRows: tessera_i8_quantize_fn = tessera_i8_quantize_rows_avx2
