import CTesseraCPU
import CTesseraInt8
import TesseraKernelCore

// AVX2 + FMA (`-target-cpu haswell`): 8-float vectors; a 6 × 16 GEMM tile
// keeps 12 accumulators, 2 B vectors and a broadcast in the 16 ymm registers.
typealias VariantVector = SIMD8<Float>
typealias VariantTile = Kernel6x2<VariantVector>
let variantName: String? = nil
let variantISA = KernelTable.ISA.avx2

// int8: 16-column tiles (two ymm per row): AVX-VNNI where the CPU has it
// (Intel since Alder Lake, with or without AVX-512), else vpmaddubsw.
let variantInt8Tiles: [Int8Tile] = tessera_cpu_has_avxvnni() != 0 ? [.avxVNNI, .avx2] : [.avx2]
let variantQuantizeRows: tessera_i8_quantize_fn = tessera_i8_quantize_rows_avx2
