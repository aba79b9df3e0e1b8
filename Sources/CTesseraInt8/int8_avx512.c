/* The 12 x 32 tiles for AVX-512: with VNNI, and with BW only. */
#include <immintrin.h>
#include "tessera_int8.h"

#define VEC __m512i
#define W 16
#define MR 12
#define VZERO() _mm512_setzero_si512()
#define VLOADB(p) _mm512_loadu_si512((const void *)(p))
#define VBCAST(p) _mm512_set1_epi32(*(const int32_t *)(const void *)(p))
#define VSTORE(p, v) _mm512_storeu_si512((void *)(p), (v))

#define TILE_FN tessera_i8_tile_avx512vnni_12x32
#define TILE_ATTR __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define VDOT(acc, x, y) _mm512_dpbusd_epi32((acc), (x), (y))
#include "int8_tile_body.h"
#define PROBE_FN tessera_i8_probe_avx512vnni
#include "int8_probe_body.h"
#undef PROBE_FN
#undef TILE_FN
#undef TILE_ATTR
#undef VDOT

/* vpmaddubsw adds two u8*s8 products into int16: 7-bit a keeps that exact
 * (2 * 127 * 128 < 2^15); vpmaddwd by ones then adds the pairs into int32. */
#define TILE_FN tessera_i8_tile_avx512bw_7bit_12x32
#define TILE_ATTR __attribute__((target("avx512f,avx512bw,avx512vl")))
#define VDOT(acc, x, y) _mm512_add_epi32((acc), _mm512_madd_epi16(_mm512_maddubs_epi16((x), (y)), _mm512_set1_epi16(1)))
#include "int8_tile_body.h"
#define PROBE_FN tessera_i8_probe_avx512bw
#include "int8_probe_body.h"
