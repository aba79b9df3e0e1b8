/* Thread rules, proven: one model shared by 4 threads, each with its own
 * session, 100 runs each, every output bit-identical to a single-threaded
 * run; and two threads running one session at once get TESSERA_ERR_BUSY
 * instead of corrupting it.
 * Usage: test_threads MODEL_DIR [RUNS] */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tessera.h"

static tessera_model *model;
static tessera_model_info info;
static float *input, *expected;
static size_t out_floats;
static int runs = 100;

static size_t pixel_floats(void) { return (size_t)3 * info.image_height * info.image_width; }

static tessera_session *make_session(int threads) {
    tessera_session_options o = tessera_session_default_options();
    o.num_threads = threads;
    tessera_session *s = NULL;
    if (tessera_session_create(model, &o, &s) != TESSERA_OK) {
        fprintf(stderr, "session_create: %s\n", tessera_last_error());
        exit(1);
    }
    return s;
}

static void *worker(void *arg) {
    long *mismatches = arg;
    tessera_session *s = make_session(1);
    float *out = malloc(out_floats * sizeof *out);
    for (int i = 0; i < runs; i++) {
        if (tessera_run_f32(s, input, 1) != TESSERA_OK ||
            tessera_output_copy(s, TESSERA_OUTPUT_PATCH_TOKENS, out, out_floats) != TESSERA_OK ||
            memcmp(out, expected, out_floats * sizeof *out) != 0)
            (*mismatches)++;
    }
    free(out);
    tessera_session_free(s);
    return NULL;
}

/* First sessions of a fresh model, fp32 and int8 at once: the first packs
 * the blocks' weights, the second quantizes them, each once, under the
 * model's locks. */
struct first { tessera_model *m; int32_t precision; float *out; int status; };

static void *first_session(void *arg) {
    struct first *f = arg;
    tessera_session_options o = tessera_session_default_options();
    o.num_threads = 1;
    o.precision = f->precision;
    tessera_session *s = NULL;
    f->status = tessera_session_create(f->m, &o, &s);
    if (f->status == TESSERA_OK) {
        f->out = malloc(out_floats * sizeof *f->out);
        f->status = tessera_run_f32(s, input, 1);
        if (f->status == TESSERA_OK) f->status = tessera_output_copy(s, TESSERA_OUTPUT_PATCH_TOKENS, f->out, out_floats);
        tessera_session_free(s);
    }
    return NULL;
}

struct shared { tessera_session *s; long ok, busy, other; };

static void *hammer(void *arg) {
    struct shared *sh = arg;
    for (int i = 0; i < runs; i++) {
        tessera_status st = tessera_run_f32(sh->s, input, 1);
        if (st == TESSERA_OK) __atomic_add_fetch(&sh->ok, 1, __ATOMIC_RELAXED);
        else if (st == TESSERA_ERR_BUSY) __atomic_add_fetch(&sh->busy, 1, __ATOMIC_RELAXED);
        else __atomic_add_fetch(&sh->other, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s MODEL_DIR [RUNS]\n", argv[0]); return 2; }
    if (argc > 2) runs = atoi(argv[2]);
    if (tessera_model_load(argv[1], &model) != TESSERA_OK) { fprintf(stderr, "%s\n", tessera_last_error()); return 1; }
    memset(&info, 0, sizeof info); info.struct_size = sizeof info;
    tessera_model_get_info(model, &info);
    input = malloc(pixel_floats() * sizeof *input);
    for (size_t i = 0; i < pixel_floats(); i++) input[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;

    int passed = 0, failed = 0;
    tessera_session *ref = make_session(1);
    tessera_run_f32(ref, input, 1);
    int64_t shape[4]; int32_t rank;
    tessera_output_shape(ref, TESSERA_OUTPUT_PATCH_TOKENS, shape, &rank);
    out_floats = (size_t)(shape[0] * shape[1] * shape[2]);
    expected = malloc(out_floats * sizeof *expected);
    tessera_output_copy(ref, TESSERA_OUTPUT_PATCH_TOKENS, expected, out_floats);
    tessera_session_free(ref);

    pthread_t t[4]; long mism[4] = {0};
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, worker, &mism[i]);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    long total = mism[0] + mism[1] + mism[2] + mism[3];
    if (total == 0) { printf("ok   4 threads x %d runs on one shared model: all outputs bit-identical to a single-threaded run\n", runs); passed++; }
    else { printf("FAIL %ld of %d runs differed from the single-threaded run\n", total, 4 * runs); failed++; }

    /* A fresh model's first fp32 and int8 sessions, created at once. */
    const char *dir = argv[1];
    int race_ok = 1;
    for (int round = 0; round < 4 && race_ok; round++) {
        tessera_model *fresh = NULL;
        if (tessera_model_load(dir, &fresh) != TESSERA_OK) { race_ok = 0; break; }
        struct first f[4];
        pthread_t ft[4];
        for (int i = 0; i < 4; i++) {
            f[i] = (struct first){ fresh, (i + round) % 2 ? TESSERA_PRECISION_INT8 : TESSERA_PRECISION_FP32, NULL, -1 };
            pthread_create(&ft[i], NULL, first_session, &f[i]);
        }
        for (int i = 0; i < 4; i++) pthread_join(ft[i], NULL);
        float *int8_out = NULL;
        for (int i = 0; i < 4; i++) {
            if (f[i].status != TESSERA_OK) { race_ok = 0; continue; }
            if (f[i].precision == TESSERA_PRECISION_FP32) {
                if (memcmp(f[i].out, expected, out_floats * sizeof *expected) != 0) race_ok = 0;
            } else if (int8_out == NULL) {
                int8_out = f[i].out;
            } else if (memcmp(f[i].out, int8_out, out_floats * sizeof *int8_out) != 0) {
                race_ok = 0;
            }
        }
        for (int i = 0; i < 4; i++) free(f[i].out);
        tessera_model_free(fresh);
    }
    if (race_ok) { printf("ok   a fresh model's first fp32 and int8 sessions made at once on 4 threads (4 rounds): fp32 equals the reference, int8 agrees across threads\n"); passed++; }
    else { printf("FAIL first fp32 and int8 sessions made at once: a session failed or outputs differ\n"); failed++; }

    /* Two threads on one session (each run itself using 2 threads). */
    struct shared sh = { make_session(2), 0, 0, 0 };
    pthread_t h[2];
    for (int i = 0; i < 2; i++) pthread_create(&h[i], NULL, hammer, &sh);
    for (int i = 0; i < 2; i++) pthread_join(h[i], NULL);
    float *out = malloc(out_floats * sizeof *out);
    int after = tessera_run_f32(sh.s, input, 1) == TESSERA_OK &&
                tessera_output_copy(sh.s, TESSERA_OUTPUT_PATCH_TOKENS, out, out_floats) == TESSERA_OK &&
                memcmp(out, expected, out_floats * sizeof *out) == 0;
    if (sh.other == 0 && sh.ok + sh.busy == 2 * runs && sh.ok > 0 && after) {
        printf("ok   concurrent runs on one session: %ld ran, %ld got TESSERA_ERR_BUSY, none failed otherwise; the session still gives the reference output\n", sh.ok, sh.busy);
        passed++;
    } else {
        printf("FAIL concurrent runs on one session: ok %ld, busy %ld, other errors %ld, output afterwards %s\n",
               sh.ok, sh.busy, sh.other, after ? "right" : "WRONG");
        failed++;
    }
    free(out);

    /* An idle session's workers sleep: after a run, a second of idleness
     * costs (almost) no CPU time. */
    tessera_run_f32(sh.s, input, 1);
    struct timespec c0, c1, pause = {1, 0};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    nanosleep(&pause, NULL);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    double idle_ms = (c1.tv_sec - c0.tv_sec) * 1e3 + (c1.tv_nsec - c0.tv_nsec) / 1e6;
    if (idle_ms < 50) { printf("ok   idle 2-thread session: %.1f ms of CPU time in 1 s\n", idle_ms); passed++; }
    else { printf("FAIL idle 2-thread session used %.1f ms of CPU time in 1 s (workers spinning?)\n", idle_ms); failed++; }
    tessera_session_free(sh.s);
    tessera_model_free(model);
    free(input); free(expected);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
