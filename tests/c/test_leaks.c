/* Leak check driver, meant to run under valgrind (scripts/leakcheck.sh): each
 * phase repeats one kind of call N times, so that a leak shows up as N times
 * its size at one allocation site and can be told apart from one-time
 * allocations (the Swift runtime's metadata caches, the handle table).
 *
 *   1. load + session + run (f32 and rgb8) + read outputs + free, N times
 *   2. failing calls, N times: a missing path, a malformed file, session
 *      creation refused (arena cap, bad size, bad layer), a bad run
 *   3. a failing call on N short-lived threads (thread-local last error)
 *
 * Usage: test_leaks MODEL_DIR [N]   (N default 100)
 * Exits non-zero if a call that should succeed fails. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tessera.h"

static const char *dir;
static int failures = 0;

static void expect(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "test_leaks: %s: %s\n", what, tessera_last_error());
        failures++;
    }
}

static void cycle(void) {
    tessera_model *m = NULL;
    tessera_session *s = NULL;
    tessera_model_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    expect(tessera_model_load(dir, &m) == TESSERA_OK, "load");
    expect(tessera_model_get_info(m, &info) == TESSERA_OK, "get_info");
    tessera_session_options o = tessera_session_default_options();
    o.batch = 2;
    o.num_threads = 2;
    o.layers_mask = 1;
    expect(tessera_session_create(m, &o, &s) == TESSERA_OK, "session_create");
    size_t px = (size_t)3 * info.image_height * info.image_width;
    float *f = calloc(2 * px, sizeof *f);
    unsigned char *u = calloc(2 * px, 1);
    for (size_t i = 0; i < 2 * px; i++) { f[i] = (float)(i % 13) / 13.0f - 0.5f; u[i] = (unsigned char)(i * 7); }
    expect(tessera_run_f32(s, f, 2) == TESSERA_OK, "run_f32");
    expect(tessera_run_rgb8(s, u, 1) == TESSERA_OK, "run_rgb8");
    int64_t shape[4];
    int32_t rank;
    tessera_output outs[] = {TESSERA_OUTPUT_EMBEDDING, TESSERA_OUTPUT_PATCH_TOKENS, TESSERA_OUTPUT_LAYER(0)};
    for (size_t k = 0; k < sizeof outs / sizeof outs[0]; k++) {
        expect(tessera_output_shape(s, outs[k], shape, &rank) == TESSERA_OK, "output_shape");
        size_t n = (size_t)(shape[0] * shape[1] * shape[2] * shape[3]);
        float *dst = malloc(n * sizeof *dst);
        expect(tessera_output_copy(s, outs[k], dst, n) == TESSERA_OK, "output_copy");
        free(dst);
    }
    for (int32_t i = -1; i < 3; i++) (void)tessera_model_label(m, i);
    free(f);
    free(u);
    tessera_model_free(m); /* before the session: the session keeps it alive */
    tessera_session_free(s);
}

static void failing_calls(void) {
    tessera_model *m = NULL, *bad = NULL;
    tessera_session *s = NULL;
    expect(tessera_model_load("/nonexistent/tessera-model", &bad) == TESSERA_ERR_IO, "load of a missing path");
    expect(tessera_model_load("/proc/self/status", &bad) != TESSERA_OK, "load of a non-model file");
    expect(tessera_model_load(dir, &m) == TESSERA_OK, "load");
    tessera_session_options o = tessera_session_default_options();
    o.max_arena_bytes = 1;
    expect(tessera_session_create(m, &o, &s) == TESSERA_ERR_OUT_OF_MEMORY, "session over the arena cap");
    o = tessera_session_default_options();
    o.height = 7;
    expect(tessera_session_create(m, &o, &s) == TESSERA_ERR_INVALID_ARGUMENT, "session of a bad size");
    o = tessera_session_default_options();
    o.layers_mask = 1ull << 63;
    expect(tessera_session_create(m, &o, &s) == TESSERA_ERR_INVALID_ARGUMENT, "session with a bad layer");
    o = tessera_session_default_options();
    expect(tessera_session_create(m, &o, &s) == TESSERA_OK, "session");
    float one = 0;
    expect(tessera_run_f32(s, &one, 5) == TESSERA_ERR_INVALID_ARGUMENT, "run of too many images");
    float dst[4];
    expect(tessera_output_copy(s, TESSERA_OUTPUT_EMBEDDING, dst, 4) == TESSERA_ERR_STATE, "output before a run");
    tessera_session_free(s);
    tessera_model_free(m);
}

static void *thread_main(void *arg) {
    (void)arg;
    tessera_model *m = NULL;
    expect(tessera_model_load("/nonexistent/tessera-model", &m) == TESSERA_ERR_IO, "load on a thread");
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_leaks MODEL_DIR [N]\n");
        return 2;
    }
    dir = argv[1];
    int n = argc > 2 ? atoi(argv[2]) : 100;
    for (int i = 0; i < n; i++) cycle();
    for (int i = 0; i < n; i++) failing_calls();
    for (int i = 0; i < n; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, thread_main, NULL) == 0) pthread_join(t, NULL);
    }
    printf("test_leaks: %d x (load/session/run/free), %d x failing calls, %d threads: %d unexpected results\n",
           n, n, n, failures);
    return failures ? 1 : 0;
}
