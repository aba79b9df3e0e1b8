import CTesseraCPU
import CTesseraInt8
import TesseraKernelCore

// AVX-512 F/BW/VL (`-target-cpu skylake-avx512`): 16-float vectors; a
// 12 × 32 GEMM tile keeps 24 accumulators, 2 B vectors and a broadcast in
// the 32 zmm registers.
typealias VariantVector = SIMD16<Float>
typealias VariantTile = Kernel12x2<VariantVector>
let variantName: String? = nil
let variantISA = KernelTable.ISA.avx512

// int8: 12 × 32 tiles (two zmm of int32 per row), with VNNI where the CPU has it.
// (Array literals only: a concatenation would specialize the standard
// library's append here, code the linker may share with other variants.)
let variantInt8Tiles: [Int8Tile] = tessera_cpu_has_avx512vnni() != 0 ? [.avx512VNNI, .avx512BW] : [.avx512BW]
let variantQuantizeRows: tessera_i8_quantize_fn = tessera_i8_quantize_rows_avx512
