/* Proves that tessera_run_f32/tessera_run_rgb8 allocate nothing: this program
 * interposes the C allocator (its definitions win over libc's for every
 * library in the process, libtessera.so and its static Swift runtime
 * included) and counts calls while a run is in progress.
 * Both for a session with every output and for one that asks for block 0
 * alone (a plan that ends early), and for an int8 session (quantization of
 * activations, the int8 tile the CPU and TESSERA_INT8_TILE pick); reading an
 * output through tessera_output_view is checked too.
 * Usage: test_no_alloc MODEL_DIR [THREADS] */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <errno.h>
#include "tessera.h"

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static volatile int counting = 0;
static volatile long allocations = 0;

void *malloc(size_t n) { if (counting) __atomic_add_fetch(&allocations, 1, __ATOMIC_RELAXED); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { if (counting) __atomic_add_fetch(&allocations, 1, __ATOMIC_RELAXED); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { if (counting) __atomic_add_fetch(&allocations, 1, __ATOMIC_RELAXED); return __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }
void *memalign(size_t a, size_t n) { if (counting) __atomic_add_fetch(&allocations, 1, __ATOMIC_RELAXED); return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { return memalign(a, n); }
int posix_memalign(void **out, size_t a, size_t n) {
    void *p = memalign(a, n);
    if (!p) return ENOMEM;
    *out = p; return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s MODEL_DIR [THREADS]\n", argv[0]); return 2; }
    int threads = argc > 2 ? atoi(argv[2]) : 2;
    tessera_model *m = NULL;
    if (tessera_model_load(argv[1], &m) != TESSERA_OK) { fprintf(stderr, "%s\n", tessera_last_error()); return 1; }
    tessera_model_info info; memset(&info, 0, sizeof info); info.struct_size = sizeof info;
    tessera_model_get_info(m, &info);
    size_t px = (size_t)2 * 3 * info.image_height * info.image_width;
    float *f = malloc(px * sizeof *f);
    uint8_t *u = malloc(px);
    for (size_t i = 0; i < px; i++) { f[i] = (float)(i % 251) / 251.0f - 0.5f; u[i] = (uint8_t)(i * 7); }
    int failed = 0, passed = 0;
    static const char *configs[] = {"every output", "block 0 alone", "int8, every output",
                                     "embedding and block 0 (the last block on the prefix tokens)",
                                     "int8, embedding and block 0 (the last block on the prefix tokens)"};
    for (int config = 0; config < 5; config++) {
        const char *what = configs[config];
        tessera_session_options o = tessera_session_default_options();
        o.batch = 2; o.num_threads = threads; o.layers_mask = 1;
        if (config == 1) o.outputs = TESSERA_OUTPUTS_EXPLICIT;
        if (config >= 3) o.outputs = TESSERA_OUTPUTS_EXPLICIT | TESSERA_OUTPUT_BIT(TESSERA_OUTPUT_EMBEDDING);
        if (config == 2 || config == 4) o.precision = TESSERA_PRECISION_INT8;
        tessera_session *s = NULL;
        if (tessera_session_create(m, &o, &s) != TESSERA_OK) { fprintf(stderr, "%s\n", tessera_last_error()); return 1; }
        char kernels[64];
        tessera_session_info si; memset(&si, 0, sizeof si); si.struct_size = sizeof si;
        tessera_session_get_info(s, &si);
        snprintf(kernels, sizeof kernels, "%s%s%s", si.isa_name, si.int8_kernel[0] ? ", int8 " : "", si.int8_kernel);
        /* Warm up: the first run may initialize lazily created runtime state. */
        tessera_run_f32(s, f, 2); tessera_run_rgb8(s, u, 2);
        const float *view = NULL; int64_t shape[4], strides[4]; int32_t rank = 0;
        tessera_output_view(s, TESSERA_OUTPUT_LAYER(0), &view, shape, strides, &rank);
        for (int round = 0; round < 3; round++) {
            allocations = 0; counting = 1;
            tessera_status a = tessera_run_f32(s, f, 2);
            tessera_status b = tessera_run_rgb8(s, u, 1);
            tessera_status c = tessera_output_view(s, TESSERA_OUTPUT_LAYER(0), &view, shape, strides, &rank);
            counting = 0;
            if (a != TESSERA_OK || b != TESSERA_OK || c != TESSERA_OK) { printf("FAIL run/view returned %d/%d/%d: %s\n", a, b, c, tessera_last_error()); failed++; continue; }
            if (allocations != 0) { printf("FAIL round %d: %ld heap allocations during run (%s, threads %d, %s)\n", round, allocations, kernels, threads, what); failed++; }
            else { printf("ok   round %d: 0 heap allocations in run_f32 + run_rgb8 + output_view (%s, threads %d, %s)\n", round, kernels, threads, what); passed++; }
        }
        tessera_session_free(s);
    }
    tessera_model_free(m); free(f); free(u);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
