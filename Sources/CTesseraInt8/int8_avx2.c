/* The ymm tiles: AVX-VNNI 6 x 16, AVX2 (7-bit) 6 x 16, and the AVX-512
 * VNNI tile's 12 x 32 shape built for AVX2 (the check twin). */
#include <immintrin.h>
#include "tessera_int8.h"

#define VZERO() _mm256_setzero_si256()
#define VLOADB(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define VBCAST(p) _mm256_set1_epi32(*(const int32_t *)(const void *)(p))
#define VSTORE(p, v) _mm256_storeu_si256((__m256i *)(void *)(p), (v))
#define VEC __m256i
#define W 8

/* 6 rows: 12 accumulators, 2 B vectors and a broadcast in 16 registers. */
#define MR 6
#define TILE_FN tessera_i8_tile_avxvnni_6x16
#define TILE_ATTR __attribute__((target("avx2,avxvnni")))
#define VDOT(acc, x, y) _mm256_dpbusd_avx_epi32((acc), (x), (y))
#include "int8_tile_body.h"
#define PROBE_FN tessera_i8_probe_avxvnni
#include "int8_probe_body.h"
#undef PROBE_FN
#undef MR
#undef TILE_FN
#undef TILE_ATTR
#undef VDOT

/* 6 rows: 12 accumulators, 2 B, the broadcast and a product; the ones
 * of vpmaddwd come from memory (a broadcast operand), so that it fits. */
#define MR 6
#define TILE_FN tessera_i8_tile_avx2_7bit_6x16
#define TILE_ATTR __attribute__((target("avx2")))
#define VDOT(acc, x, y) _mm256_add_epi32((acc), _mm256_madd_epi16(_mm256_maddubs_epi16((x), (y)), _mm256_set1_epi16(1)))
#include "int8_tile_body.h"
#define PROBE_FN tessera_i8_probe_avx2
#include "int8_probe_body.h"
#undef PROBE_FN
#undef MR
#undef TILE_FN
#undef TILE_ATTR
#undef VDOT
#undef VEC
#undef W
#undef VZERO
#undef VLOADB
#undef VBCAST
#undef VSTORE

/* The check twin: a 16-lane vector as two ymm, vpdpbusd as exact 16-bit
 * products of the even and the odd bytes (u8 zero-extended, s8
 * sign-extended), whose pair sums vpmaddwd adds: the same int32 as VNNI. */
typedef struct { __m256i lo, hi; } tessera_i8_pair;

__attribute__((target("avx2"))) static inline __m256i dot4_exact(__m256i acc, __m256i x, __m256i y) {
    __m256i xe = _mm256_and_si256(x, _mm256_set1_epi16(0x00ff)), xo = _mm256_srli_epi16(x, 8);
    __m256i ye = _mm256_srai_epi16(_mm256_slli_epi16(y, 8), 8), yo = _mm256_srai_epi16(y, 8);
    return _mm256_add_epi32(acc, _mm256_add_epi32(_mm256_madd_epi16(xe, ye), _mm256_madd_epi16(xo, yo)));
}

__attribute__((target("avx2"))) static inline tessera_i8_pair pair_zero(void) {
    tessera_i8_pair v = { _mm256_setzero_si256(), _mm256_setzero_si256() };
    return v;
}

__attribute__((target("avx2"))) static inline tessera_i8_pair pair_load(const void *p) {
    tessera_i8_pair v = { _mm256_loadu_si256((const __m256i *)p), _mm256_loadu_si256((const __m256i *)p + 1) };
    return v;
}

__attribute__((target("avx2"))) static inline tessera_i8_pair pair_bcast(const void *p) {
    __m256i x = _mm256_set1_epi32(*(const int32_t *)p);
    tessera_i8_pair v = { x, x };
    return v;
}

__attribute__((target("avx2"))) static inline tessera_i8_pair pair_dot(tessera_i8_pair acc, tessera_i8_pair x, tessera_i8_pair y) {
    tessera_i8_pair v = { dot4_exact(acc.lo, x.lo, y.lo), dot4_exact(acc.hi, x.hi, y.hi) };
    return v;
}

__attribute__((target("avx2"))) static inline void pair_store(int32_t *p, tessera_i8_pair v) {
    _mm256_storeu_si256((__m256i *)(void *)p, v.lo);
    _mm256_storeu_si256((__m256i *)(void *)p + 1, v.hi);
}

#define VEC tessera_i8_pair
#define W 16
#define MR 12
#define VZERO() pair_zero()
#define VLOADB(p) pair_load(p)
#define VBCAST(p) pair_bcast(p)
#define VDOT(acc, x, y) pair_dot((acc), (x), (y))
#define VSTORE(p, v) pair_store((p), (v))
#define TILE_FN tessera_i8_tile_check_12x32
#define TILE_ATTR __attribute__((target("avx2")))
#include "int8_tile_body.h"
