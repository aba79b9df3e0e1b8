/* Per-row activation quantization (see tessera_int8.h), for AVX-512, AVX2
 * and SSE2: Swift's SIMD min, max and comparisons go lane by lane. */
#pragma STDC FP_CONTRACT OFF
#include <immintrin.h>
#include "tessera_int8.h"

/* Round to nearest even for 0 <= |v| < 2^22 without libm: adding and
 * subtracting 1.5 * 2^23 leaves the rounded value (volatile-free: the
 * contract pragma and -O keep the two operations). */
static inline float rint_even(float v) {
    float m = v < 0 ? -12582912.0f : 12582912.0f;
    float r = v + m;
    __asm__("" : "+x"(r));
    return r - m;
}

/* Signs for the rotation's 128 channels (a fixed pseudo-random pattern):
 * channel j of a block is multiplied by sign j before the Walsh-Hadamard
 * transform, so that no input pattern lines up with one of its rows. */
static const float rotation_signs[128] = {
     1, -1, -1,  1,  1, -1, -1,  1,  1,  1,  1, -1,  1,  1,  1, -1,
     1, -1,  1,  1,  1, -1,  1,  1, -1, -1,  1,  1, -1,  1, -1, -1,
     1,  1,  1, -1, -1, -1,  1,  1,  1,  1, -1, -1,  1, -1, -1, -1,
    -1,  1,  1, -1, -1,  1,  1,  1, -1, -1, -1,  1, -1,  1, -1,  1,
     1, -1,  1, -1, -1,  1,  1,  1, -1,  1,  1,  1, -1, -1, -1,  1,
    -1,  1, -1, -1, -1, -1,  1,  1, -1, -1, -1,  1,  1, -1, -1,  1,
    -1, -1, -1,  1,  1,  1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1,  1,  1,  1,  1,  1, -1, -1, -1,  1, -1, -1, -1,
};

const float *tessera_i8_rotation_signs(void) { return rotation_signs; }

/* Four rows' bytes to their panel: row r's 4 bytes of a group at 4 * r of
 * the group's 16 (a 4 x 4 transpose of 32-bit lanes), groups 48 bytes apart. */
#define GROUP (4 * TESSERA_I8_PANEL_ROWS)
/* 16 k of four rows: four groups. */
__attribute__((target("avx512f,avx512bw,avx512vl"))) static inline void store4x16(uint8_t *p, __m128i b0, __m128i b1,
                                                                                   __m128i b2, __m128i b3) {
    __m128i t0 = _mm_unpacklo_epi32(b0, b1), t1 = _mm_unpacklo_epi32(b2, b3);
    __m128i t2 = _mm_unpackhi_epi32(b0, b1), t3 = _mm_unpackhi_epi32(b2, b3);
    _mm_storeu_si128((__m128i *)(void *)p, _mm_unpacklo_epi64(t0, t1));
    _mm_storeu_si128((__m128i *)(void *)(p + GROUP), _mm_unpackhi_epi64(t0, t1));
    _mm_storeu_si128((__m128i *)(void *)(p + 2 * GROUP), _mm_unpacklo_epi64(t2, t3));
    _mm_storeu_si128((__m128i *)(void *)(p + 3 * GROUP), _mm_unpackhi_epi64(t2, t3));
}

/* The rotation's in-vector butterflies (see QUANT_ROTATE), h = W/2 ... 1:
 * lane i gets lane i ^ h; +1 in the lanes whose bit h is clear, -1 in the others. */
#define P 1.0f
#define M -1.0f
__attribute__((target("avx512f"))) static inline __m512 signs16(int h) {
    switch (h) {
    case 8: return _mm512_setr_ps(P, P, P, P, P, P, P, P, M, M, M, M, M, M, M, M);
    case 4: return _mm512_setr_ps(P, P, P, P, M, M, M, M, P, P, P, P, M, M, M, M);
    case 2: return _mm512_setr_ps(P, P, M, M, P, P, M, M, P, P, M, M, P, P, M, M);
    default: return _mm512_setr_ps(P, M, P, M, P, M, P, M, P, M, P, M, P, M, P, M);
    }
}
__attribute__((target("avx512f"))) static inline __m512 swap16(__m512 v, int h) {
    switch (h) {
    case 8: return _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(1, 0, 3, 2));
    case 4: return _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(2, 3, 0, 1));
    case 2: return _mm512_permute_ps(v, _MM_SHUFFLE(1, 0, 3, 2));
    default: return _mm512_permute_ps(v, _MM_SHUFFLE(2, 3, 0, 1));
    }
}

#define QUANT_FN tessera_i8_quantize_rows_avx512
#define QUANT_PARAMS row_params_avx512
#define QUANT_ROTATE rotate_avx512
#define QUANT_LANES lanes_avx512
#define QUANT_ATTR __attribute__((target("avx512f,avx512bw,avx512vl")))
#define W 16
#define VF __m512
#define VB __m128i
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTOREF(p, v) _mm512_storeu_ps((p), (v))
#define VSUB(a, b) _mm512_sub_ps((a), (b))
#define VSETSIGNS(h) signs16(h)
#define VSWAP(v, h) swap16((v), (h))
#define VSIGNADD(v, s, u) _mm512_fmadd_ps((v), (s), (u))
#define VSET1(x) _mm512_set1_ps(x)
#define VMIN(a, b) _mm512_min_ps((a), (b))
#define VMAX(a, b) _mm512_max_ps((a), (b))
#define VMUL(a, b) _mm512_mul_ps((a), (b))
#define VADD(a, b) _mm512_add_ps((a), (b))
#define VHMIN(v) _mm512_reduce_min_ps(v)
#define VHMAX(v) _mm512_reduce_max_ps(v)
#define VBYTES(v) _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(v))
#define VSTORE4(p, b0, b1, b2, b3) store4x16((p), (b0), (b1), (b2), (b3))
#include "int8_quantize_body.h"

__attribute__((target("avx2"))) static inline float hmin8(__m256 v) {
    __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_min_ps(m, _mm_movehl_ps(m, m));
    m = _mm_min_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}
__attribute__((target("avx2"))) static inline float hmax8(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}
/* 8 int32 (0...255) to 8 bytes (the low 8 of the result): pack to 16 bits,
 * then to 8, per 128-bit half. */
__attribute__((target("avx2"))) static inline __m128i bytes8(__m256 v) {
    __m256i i = _mm256_cvtps_epi32(v);
    __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(i), _mm256_extracti128_si256(i, 1));
    return _mm_packus_epi16(w, w);
}
/* 8 k of four rows: two groups. */
__attribute__((target("avx2"))) static inline void store4x8(uint8_t *p, __m128i b0, __m128i b1, __m128i b2, __m128i b3) {
    __m128i t0 = _mm_unpacklo_epi32(b0, b1), t1 = _mm_unpacklo_epi32(b2, b3);
    _mm_storeu_si128((__m128i *)(void *)p, _mm_unpacklo_epi64(t0, t1));
    _mm_storeu_si128((__m128i *)(void *)(p + GROUP), _mm_unpackhi_epi64(t0, t1));
}

__attribute__((target("avx2"))) static inline __m256 signs8(int h) {
    switch (h) {
    case 4: return _mm256_setr_ps(P, P, P, P, M, M, M, M);
    case 2: return _mm256_setr_ps(P, P, M, M, P, P, M, M);
    default: return _mm256_setr_ps(P, M, P, M, P, M, P, M);
    }
}
__attribute__((target("avx2"))) static inline __m256 swap8(__m256 v, int h) {
    switch (h) {
    case 4: return _mm256_permute2f128_ps(v, v, 1);
    case 2: return _mm256_permute_ps(v, _MM_SHUFFLE(1, 0, 3, 2));
    default: return _mm256_permute_ps(v, _MM_SHUFFLE(2, 3, 0, 1));
    }
}

#define QUANT_FN tessera_i8_quantize_rows_avx2
#define QUANT_ROTATE rotate_avx2
#define QUANT_LANES lanes_avx2
#define QUANT_PARAMS row_params_avx2
#define QUANT_ATTR __attribute__((target("avx2,fma")))
#define W 8
#define VF __m256
#define VB __m128i
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTOREF(p, v) _mm256_storeu_ps((p), (v))
#define VSUB(a, b) _mm256_sub_ps((a), (b))
#define VSETSIGNS(h) signs8(h)
#define VSWAP(v, h) swap8((v), (h))
#define VSIGNADD(v, s, u) _mm256_fmadd_ps((v), (s), (u))
#define VSET1(x) _mm256_set1_ps(x)
#define VMIN(a, b) _mm256_min_ps((a), (b))
#define VMAX(a, b) _mm256_max_ps((a), (b))
#define VMUL(a, b) _mm256_mul_ps((a), (b))
#define VADD(a, b) _mm256_add_ps((a), (b))
#define VHMIN(v) hmin8(v)
#define VHMAX(v) hmax8(v)
#define VBYTES(v) bytes8(v)
#define VSTORE4(p, b0, b1, b2, b3) store4x8((p), (b0), (b1), (b2), (b3))
#include "int8_quantize_body.h"

static inline float hmin4(__m128 m) {
    m = _mm_min_ps(m, _mm_movehl_ps(m, m));
    m = _mm_min_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}
static inline float hmax4(__m128 m) {
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}
/* 4 int32 (0...255) to 4 bytes (the low 4 of the result). */
static inline __m128i bytes4(__m128 v) {
    __m128i i = _mm_cvtps_epi32(v);
    __m128i w = _mm_packs_epi32(i, i);
    return _mm_packus_epi16(w, w);
}
/* 4 k of four rows: one group. */
static inline void store4x4(uint8_t *p, __m128i b0, __m128i b1, __m128i b2, __m128i b3) {
    __m128i t = _mm_unpacklo_epi64(_mm_unpacklo_epi32(b0, b1), _mm_unpacklo_epi32(b2, b3));
    _mm_storeu_si128((__m128i *)(void *)p, t);
}

static inline __m128 signs4(int h) {
    return h == 2 ? _mm_setr_ps(P, P, M, M) : _mm_setr_ps(P, M, P, M);
}
static inline __m128 swap4(__m128 v, int h) {
    return h == 2 ? _mm_shuffle_ps(v, v, _MM_SHUFFLE(1, 0, 3, 2)) : _mm_shuffle_ps(v, v, _MM_SHUFFLE(2, 3, 0, 1));
}
#undef P
#undef M

#define QUANT_FN tessera_i8_quantize_rows_sse2
#define QUANT_ROTATE rotate_sse2
#define QUANT_LANES lanes_sse2
#define QUANT_PARAMS row_params_sse2
#define QUANT_ATTR
#define W 4
#define VF __m128
#define VB __m128i
#define VLOAD(p) _mm_loadu_ps(p)
#define VSTOREF(p, v) _mm_storeu_ps((p), (v))
#define VSUB(a, b) _mm_sub_ps((a), (b))
#define VSETSIGNS(h) signs4(h)
#define VSWAP(v, h) swap4((v), (h))
#define VSIGNADD(v, s, u) _mm_add_ps(_mm_mul_ps((v), (s)), (u))
#define VSET1(x) _mm_set1_ps(x)
#define VMIN(a, b) _mm_min_ps((a), (b))
#define VMAX(a, b) _mm_max_ps((a), (b))
#define VMUL(a, b) _mm_mul_ps((a), (b))
#define VADD(a, b) _mm_add_ps((a), (b))
#define VHMIN(v) hmin4(v)
#define VHMAX(v) hmax4(v)
#define VBYTES(v) bytes4(v)
#define VSTORE4(p, b0, b1, b2, b3) store4x4((p), (b0), (b1), (b2), (b3))
#include "int8_quantize_body.h"

/* The rotation of QUANT_ROTATE for any rows, at the baseline (SSE2): for
 * the weights, once per model; every version's floats are the same. */
void tessera_i8_rotate_rows(float *x, ptrdiff_t rows, ptrdiff_t k, ptrdiff_t block) {
    for (ptrdiff_t r = 0; r < rows; r++) rotate_sse2(x + r * k, k, block);
}
