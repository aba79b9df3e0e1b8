/*
 * fma_peak.c — the FP32 FMA peak of one core, measured.
 *
 * Independent chains of fused multiply-adds on registers, no memory
 * traffic: the loop body is ACC independent vfmadd instructions on ACC
 * accumulators, so the only limits are the FMA ports' throughput and
 * latency (ACC >= latency x ports keeps every port busy).
 *
 * Built twice by run.sh (one binary per instruction set):
 *   cc -O2 -mavx2 -mfma -DPEAK_AVX2      fma_peak.c   8-wide ymm, 12 accumulators
 *   cc -O2 -mavx512f -mfma -DPEAK_AVX512 fma_peak.c  16-wide zmm, 24 accumulators
 *
 * And, by hand, the bf16 dot product (vdpbf16ps: per lane, two bf16
 * products added to an fp32 accumulator, 4 flops), to compare with the FMA:
 *   cc -O2 -mavx512f -mavx512bf16 -DPEAK_AVX512BF16 fma_peak.c
 *
 * Each binary checks the CPU first (__builtin_cpu_supports) and, on a CPU
 * without its instruction set, prints {"supported": false} and exits 0
 * without executing one instruction of it. Otherwise it prints one JSON line:
 *   {"isa": "avx2", "supported": true, "lanes": 8, "accumulators": 12,
 *    "gflops": 78.1, "gflops_runs": [...], "seconds_per_run": 0.25}
 * gflops is the best of several runs (one core, one thread).
 *
 * Usage: fma_peak [seconds_per_run (0.25)] [runs (5)]
 */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define FLOPS_PER_LANE 2 /* one multiply and one add */
#if defined(PEAK_AVX512BF16)
#  define ISA_NAME "avx512bf16"
#  define LANES 16
#  define ACC 24
typedef __m512 vec;
#  define VSET1(x) _mm512_set1_ps(x)
/* m and c's bits read as bf16 pairs: acc + m.hi * c.hi + m.lo * c.lo. */
#  define VFMA(a, b, c) _mm512_dpbf16_ps(a, (__m512bh)_mm512_castps_si512(b), (__m512bh)_mm512_castps_si512(c))
#  define VADD(a, b) _mm512_add_ps(a, b)
#  define VSUM(v) _mm512_reduce_add_ps(v)
#  define CPU_OK() (__builtin_cpu_supports("avx512bf16"))
#  undef FLOPS_PER_LANE
#  define FLOPS_PER_LANE 4
#elif defined(PEAK_AVX512)
#  define ISA_NAME "avx512"
#  define LANES 16
#  define ACC 24
typedef __m512 vec;
#  define VSET1(x) _mm512_set1_ps(x)
#  define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#  define VADD(a, b) _mm512_add_ps(a, b)
#  define VSUM(v) _mm512_reduce_add_ps(v)
#  define CPU_OK() (__builtin_cpu_supports("avx512f"))
#elif defined(PEAK_AVX2)
#  define ISA_NAME "avx2"
#  define LANES 8
#  define ACC 12
typedef __m256 vec;
#  define VSET1(x) _mm256_set1_ps(x)
#  define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#  define VADD(a, b) _mm256_add_ps(a, b)
static float vsum256(__m256 v) {
    float t[8];
    _mm256_storeu_ps(t, v);
    return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
#  define VSUM(v) vsum256(v)
#  define CPU_OK() (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
#else
#  error "define PEAK_AVX2, PEAK_AVX512 or PEAK_AVX512BF16"
#endif

#define INNER 1024 /* unrolled FMA rounds per outer iteration */

/* ACC independent chains: acc[i] = acc[i] * m + c. |m| < 1 keeps the values
 * finite; m and c come from the caller so nothing folds at compile time. */
__attribute__((noinline)) static float kernel(long outer, float m, float c) {
    vec vm = VSET1(m), vc = VSET1(c);
    vec acc[ACC];
    for (int i = 0; i < ACC; i++) acc[i] = VSET1((float)i * 1e-3f);
    for (long o = 0; o < outer; o++) {
        for (int r = 0; r < INNER; r++) {
#pragma GCC unroll 32
            for (int i = 0; i < ACC; i++) acc[i] = VFMA(acc[i], vm, vc);
        }
        __asm__ volatile("" ::: "memory");
    }
    vec s = acc[0];
    for (int i = 1; i < ACC; i++) s = VADD(s, acc[i]);
    return VSUM(s);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* main runs no instruction of the probed set before the CPU check. */
__attribute__((target("no-avx512f,no-avx2,no-fma,no-avx")))
int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 0.25;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    if (seconds <= 0) seconds = 0.25;
    if (runs < 1) runs = 1;
    __builtin_cpu_init();
    if (!CPU_OK()) {
        printf("{\"isa\": \"%s\", \"supported\": false}\n", ISA_NAME);
        return 0;
    }
    volatile float m = 0.999f, c = 1e-3f;
    /* calibrate: how many outer iterations take `seconds` */
    long outer = 16;
    float sink = 0;
    for (;;) {
        double t0 = now();
        sink += kernel(outer, m, c);
        double dt = now() - t0;
        if (dt > 0.05) {
            outer = (long)((double)outer * seconds / dt) + 1;
            break;
        }
        outer *= 4;
    }
    double best = 0, g[64];
    if (runs > 64) runs = 64;
    for (int r = 0; r < runs; r++) {
        double t0 = now();
        sink += kernel(outer, m, c);
        double dt = now() - t0;
        double flops = (double)FLOPS_PER_LANE * LANES * ACC * (double)INNER * (double)outer;
        g[r] = flops / dt * 1e-9;
        if (g[r] > best) best = g[r];
    }
    printf("{\"isa\": \"%s\", \"supported\": true, \"lanes\": %d, \"accumulators\": %d, "
           "\"gflops\": %.2f, \"gflops_runs\": [", ISA_NAME, LANES, ACC, best);
    for (int r = 0; r < runs; r++) printf("%s%.2f", r ? ", " : "", g[r]);
    printf("], \"seconds_per_run\": %.3f, \"checksum\": %g}\n", seconds, (double)sink);
    return 0;
}
