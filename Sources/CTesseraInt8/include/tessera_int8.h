/* int8 GEMM tiles: the integer dot products Swift's SIMD types cannot spell
 * (vpdpbusd, vpmaddubsw), one function per CPU feature. Everything else of
 * the int8 GEMM (the loops, dequantization, epilogue) is Swift.
 *
 * A tile computes out[r][c] = sum over k < kp of a[r][k] * b[c][k] in int32
 * for MR rows and NR columns:
 * - a: unsigned bytes in panels of 12 rows: for each group of 4 k, 12 rows x
 *   4 bytes (48 bytes), so that each row's broadcast is at a constant offset;
 *   `a` points at the tile's first row in its panel (MR rows from there lie
 *   within the panel); kp (a multiple of 4) deep;
 * - b: packed weights (signed bytes), 16-column panels, each kp * 16 bytes:
 *   for each group of 4 k, 16 columns x 4 bytes. `b` points at the tile's
 *   first column in its panel; the tile's second half of columns starts at
 *   b + bnext (the next panel for a 32-wide tile, +32 bytes for 16 wide,
 *   +16 for 8 wide);
 * - out: MR rows of NR int32, ldo apart.
 * Sums are exact: |a·b| <= 255 * 128 * kp stays below 2^31 for kp < 65536.
 * Tiles whose name says "7bit" need a[r][k] <= 127 (vpmaddubsw saturates
 * its int16 pair sums otherwise). Internal: hidden from the library's exports. */
#ifndef TESSERA_INT8_H
#define TESSERA_INT8_H
#include <stddef.h>
#include <stdint.h>
#define TESSERA_INT8_HIDDEN __attribute__((visibility("hidden")))

#define TESSERA_I8_PANEL_ROWS 12

typedef void (*tessera_i8_tile_fn)(ptrdiff_t kp, const uint8_t *a, const int8_t *b,
                                   ptrdiff_t bnext, int32_t *out, ptrdiff_t ldo);

/* 12 x 32: AVX-512 VNNI (vpdpbusd zmm). */
TESSERA_INT8_HIDDEN void tessera_i8_tile_avx512vnni_12x32(ptrdiff_t, const uint8_t *, const int8_t *, ptrdiff_t, int32_t *, ptrdiff_t);
/* 12 x 32: AVX-512 BW without VNNI (vpmaddubsw + vpmaddwd), 7-bit a. */
TESSERA_INT8_HIDDEN void tessera_i8_tile_avx512bw_7bit_12x32(ptrdiff_t, const uint8_t *, const int8_t *, ptrdiff_t, int32_t *, ptrdiff_t);
/* 6 x 16: AVX-VNNI (vpdpbusd ymm). */
TESSERA_INT8_HIDDEN void tessera_i8_tile_avxvnni_6x16(ptrdiff_t, const uint8_t *, const int8_t *, ptrdiff_t, int32_t *, ptrdiff_t);
/* 6 x 16: AVX2 without VNNI (vpmaddubsw + vpmaddwd), 7-bit a. */
TESSERA_INT8_HIDDEN void tessera_i8_tile_avx2_7bit_6x16(ptrdiff_t, const uint8_t *, const int8_t *, ptrdiff_t, int32_t *, ptrdiff_t);
/* 12 x 32 with AVX2 only: the AVX-512 VNNI tile's loops, with vpdpbusd
 * computed exactly from 16-bit products on pairs of ymm. Never chosen for
 * speed; it lets machines without AVX-512 run the 12 x 32 tile's logic. */
TESSERA_INT8_HIDDEN void tessera_i8_tile_check_12x32(ptrdiff_t, const uint8_t *, const int8_t *, ptrdiff_t, int32_t *, ptrdiff_t);
/* 4 x 8: plain C at the baseline (SSE2). */
TESSERA_INT8_HIDDEN void tessera_i8_tile_portable_4x8(ptrdiff_t, const uint8_t *, const int8_t *, ptrdiff_t, int32_t *, ptrdiff_t);

/* Quantizes `rows` (1...4) rows of k floats, ldx apart, to unsigned bytes,
 * each on its own: scale = (max - min) / levels over the row with 0
 * included (1 for a row of zeros), zero = round(-min / scale), q =
 * clamp(round(x / scale) + zero, 0, levels), rounded to nearest even.
 * With `rotation` (0, or a power of two from 16 that divides k), each row
 * is first rotated in place: each `rotation` floats times the rotation
 * signs, then their unnormalized Walsh-Hadamard transform, which spreads a
 * few large channels over all of them (the weights that read the row are
 * rotated to match).
 * Bytes go to four consecutive rows of a 12-row panel (the first a multiple
 * of 4): `q` points at the first row's first 4 bytes, each next 4 k 48 bytes
 * on; bytes k..<kpad (kpad a multiple of 4), and every byte of the rows
 * past `rows`, are set to 0. scale and zero get `rows` entries. Four rows
 * at a time so that each group's 16 bytes are one store. The three
 * versions write the same floats and bytes. */
typedef void (*tessera_i8_quantize_fn)(float *x, ptrdiff_t ldx, ptrdiff_t rows, ptrdiff_t k, ptrdiff_t kpad,
                                       ptrdiff_t rotation, float levels, uint8_t *q, float *scale, int32_t *zero);
TESSERA_INT8_HIDDEN void tessera_i8_quantize_rows_avx512(float *, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t, float, uint8_t *, float *, int32_t *);
TESSERA_INT8_HIDDEN void tessera_i8_quantize_rows_avx2(float *, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t, float, uint8_t *, float *, int32_t *);
TESSERA_INT8_HIDDEN void tessera_i8_quantize_rows_sse2(float *, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t, float, uint8_t *, float *, int32_t *);

/* The rotation's 128 signs (+1 or -1). */
TESSERA_INT8_HIDDEN const float *tessera_i8_rotation_signs(void);
/* Rotates `rows` rows of k floats (contiguous) in place as the quantizers
 * do (`rotation` = block), with the same floats: for the weights' side. */
TESSERA_INT8_HIDDEN void tessera_i8_rotate_rows(float *x, ptrdiff_t rows, ptrdiff_t k, ptrdiff_t block);

/* Peak probes: `iterations` rounds of 12 independent dot-product
 * instructions (VDOT of the tile of the same feature), for the benchmark's
 * int8 peak. Each round is 12 * 4 * lanes multiply-adds. */
TESSERA_INT8_HIDDEN int32_t tessera_i8_probe_avx512vnni(ptrdiff_t iterations);
TESSERA_INT8_HIDDEN int32_t tessera_i8_probe_avx512bw(ptrdiff_t iterations);
TESSERA_INT8_HIDDEN int32_t tessera_i8_probe_avxvnni(ptrdiff_t iterations);
TESSERA_INT8_HIDDEN int32_t tessera_i8_probe_avx2(ptrdiff_t iterations);

#endif
