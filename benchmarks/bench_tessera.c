/*
 * bench_tessera.c — times Tessera through its C API, nothing else in the way.
 *
 *   bench_tessera MODEL_DIR THREADS BATCH HEIGHT WIDTH RUNS [WARMUP]
 *                 [--isa auto|portable|avx2|avx512] [--precision fp32|int8]
 *                 [--outputs model|all] [--input FILE] [--dump FILE]
 *   bench_tessera --info MODEL_DIR
 *
 * Loads the model, creates one session (batch x height x width, THREADS
 * threads), runs WARMUP untimed runs (default 3), then RUNS timed runs of
 * tessera_run_f32 on the same normalized float NCHW input, and prints one
 * JSON line: {"runtime": "tessera-c", ..., "ms": [per-run milliseconds]}.
 * Each timed interval is exactly one tessera_run_f32 call (clock_gettime,
 * CLOCK_MONOTONIC); reading outputs is not timed.
 *
 * The input is pseudo-random N(0, 1) (a fixed seed) unless --input names a
 * file of BATCH*3*HEIGHT*WIDTH raw float32 values. --dump writes the
 * embedding output (CLS after the final norm, [BATCH, D] float32) of the
 * last run to FILE, for the correctness check.
 *
 * --isa forces a kernel variant through the session options; the
 * environment variable TESSERA_ISA does the same for the whole library.
 * --precision int8 sets the session option precision to
 * TESSERA_PRECISION_INT8; against a tessera.h without it the program
 * still compiles, and asking for int8 exits 2 with "int8 is not available
 * in this build". fp32 (the default) leaves the options' default alone.
 * --outputs model (the default) asks the session for what the peers'
 * model(x) returns, the logits when the model has a classifier and the
 * embedding otherwise, plus the embedding for --dump; with no patch tokens
 * asked for, the last block runs past attention on the prefix tokens alone
 * (tessera.h, TESSERA_OUTPUT_BIT). --outputs all asks for every output.
 * --info prints the model info (kernel variant, cache sizes) as JSON.
 */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tessera.h"

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static void die(const char *what, tessera_status st) {
    fprintf(stderr, "bench_tessera: %s failed: %s (%s)\n", what,
            tessera_status_string(st), tessera_last_error());
    exit(2);
}

static void json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') putchar('\\');
        if ((unsigned char)*s >= 0x20) putchar(*s);
    }
    putchar('"');
}

static void print_info(const tessera_model_info *i) {
    printf("\"isa\": %d, \"isa_name\": ", (int)i->isa);
    json_string(i->isa_name);
    printf(", \"l1d_bytes\": %zu, \"l2_bytes\": %zu, \"architecture\": ", i->l1d_bytes, i->l2_bytes);
    json_string(i->architecture);
    printf(", \"hidden_size\": %d, \"num_layers\": %d, \"num_heads\": %d, \"mlp_size\": %d, "
           "\"patch_size\": %d, \"image_height\": %d, \"image_width\": %d, "
           "\"num_classes\": %d, \"num_prefix_tokens\": %d, \"num_parameters\": %lld, "
           "\"weight_bytes\": %zu, \"version\": ",
           i->hidden_size, i->num_layers, i->num_heads, i->mlp_size, i->patch_size,
           i->image_height, i->image_width, i->num_classes, i->num_prefix_tokens,
           (long long)i->num_parameters, i->weight_bytes);
    json_string(tessera_version());
}

static int parse_isa(const char *s) {
    if (!strcmp(s, "auto")) return TESSERA_ISA_AUTO;
    if (!strcmp(s, "portable")) return TESSERA_ISA_PORTABLE;
    if (!strcmp(s, "avx2")) return TESSERA_ISA_AVX2;
    if (!strcmp(s, "avx512")) return TESSERA_ISA_AVX512;
    fprintf(stderr, "bench_tessera: unknown --isa %s\n", s);
    exit(1);
}

/* 1 for int8, 0 for fp32. */
static int parse_precision(const char *s) {
    if (!strcmp(s, "fp32")) return 0;
    if (!strcmp(s, "int8")) return 1;
    fprintf(stderr, "bench_tessera: unknown --precision %s (fp32 or int8)\n", s);
    exit(1);
}

static int usage(void) {
    fprintf(stderr,
            "usage: bench_tessera MODEL_DIR THREADS BATCH HEIGHT WIDTH RUNS [WARMUP]\n"
            "                     [--isa auto|portable|avx2|avx512] [--precision fp32|int8]\n"
            "                     [--outputs model|all] [--input FILE] [--dump FILE]\n"
            "       bench_tessera --info MODEL_DIR\n");
    return 1;
}

int main(int argc, char **argv) {
    const char *pos[8];
    int npos = 0;
    const char *input_path = NULL, *dump_path = NULL;
    int isa = TESSERA_ISA_AUTO, info_only = 0, int8 = 0, all_outputs = 0;
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--info")) info_only = 1;
        else if (!strcmp(argv[a], "--isa") && a + 1 < argc) isa = parse_isa(argv[++a]);
        else if (!strcmp(argv[a], "--precision") && a + 1 < argc) int8 = parse_precision(argv[++a]);
        else if (!strcmp(argv[a], "--outputs") && a + 1 < argc) {
            const char *v = argv[++a];
            if (strcmp(v, "model") && strcmp(v, "all")) {
                fprintf(stderr, "bench_tessera: unknown --outputs %s (model or all)\n", v);
                return 1;
            }
            all_outputs = !strcmp(v, "all");
        }
        else if (!strcmp(argv[a], "--input") && a + 1 < argc) input_path = argv[++a];
        else if (!strcmp(argv[a], "--dump") && a + 1 < argc) dump_path = argv[++a];
        else if (npos < 8) pos[npos++] = argv[a];
        else return usage();
    }
    if (info_only ? npos != 1 : (npos < 6 || npos > 7)) return usage();
#ifndef TESSERA_PRECISION_INT8
    if (int8) {
        fprintf(stderr, "bench_tessera: --precision int8: int8 is not available in this build "
                        "(tessera.h has no TESSERA_PRECISION_INT8)\n");
        return 2;
    }
#endif

    tessera_model *model = NULL;
    double t0 = now_ms();
    tessera_status st = tessera_model_load(pos[0], &model);
    if (st != TESSERA_OK) die("tessera_model_load", st);
    double load_ms = now_ms() - t0;
    tessera_model_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    st = tessera_model_get_info(model, &info);
    if (st != TESSERA_OK) die("tessera_model_get_info", st);
    if (info_only) {
        printf("{");
        print_info(&info);
        printf("}\n");
        tessera_model_free(model);
        return 0;
    }

    int threads = atoi(pos[1]), batch = atoi(pos[2]), height = atoi(pos[3]), width = atoi(pos[4]);
    int runs = atoi(pos[5]), warmup = npos > 6 ? atoi(pos[6]) : 3;
    if (batch < 1 || runs < 1 || warmup < 0 || threads < 0) return usage();

    tessera_session_options opts = tessera_session_default_options();
    opts.struct_size = sizeof opts;
    opts.batch = batch;
    opts.height = height;
    opts.width = width;
    opts.num_threads = threads;
    opts.isa = isa;
    if (!all_outputs)
        opts.outputs = TESSERA_OUTPUTS_EXPLICIT | TESSERA_OUTPUT_BIT(TESSERA_OUTPUT_EMBEDDING) |
                       (info.num_classes > 0 ? TESSERA_OUTPUT_BIT(TESSERA_OUTPUT_LOGITS) : 0);
#ifdef TESSERA_PRECISION_INT8
    if (int8) opts.precision = TESSERA_PRECISION_INT8;
#endif
    tessera_session *session = NULL;
    t0 = now_ms();
    st = tessera_session_create(model, &opts, &session);
    if (st != TESSERA_OK) die("tessera_session_create", st);
    double session_ms = now_ms() - t0;

    size_t n = (size_t)batch * 3 * (size_t)(height ? height : info.image_height) *
               (size_t)(width ? width : info.image_width);
    float *x = malloc(n * sizeof *x);
    if (!x) { fprintf(stderr, "bench_tessera: out of memory\n"); return 2; }
    if (input_path) {
        FILE *f = fopen(input_path, "rb");
        if (!f || fread(x, sizeof *x, n, f) != n) {
            fprintf(stderr, "bench_tessera: cannot read %zu floats from %s\n", n, input_path);
            return 2;
        }
        fclose(f);
    } else { /* N(0, 1) by Box-Muller on a fixed-seed 64-bit LCG */
        uint64_t s = 0x9E3779B97F4A7C15ull;
        for (size_t i = 0; i < n; i += 2) {
            double u[2];
            for (int k = 0; k < 2; k++) {
                s = s * 6364136223846793005ull + 1442695040888963407ull;
                u[k] = ((double)(s >> 11) + 0.5) / 9007199254740992.0;
            }
            double r = sqrt(-2.0 * log(u[0]));
            x[i] = (float)(r * cos(6.283185307179586 * u[1]));
            if (i + 1 < n) x[i + 1] = (float)(r * sin(6.283185307179586 * u[1]));
        }
    }

    double first_ms = 0;
    for (int w = 0; w < warmup; w++) {
        double a = now_ms();
        st = tessera_run_f32(session, x, (size_t)batch);
        if (st != TESSERA_OK) die("tessera_run_f32", st);
        if (w == 0) first_ms = now_ms() - a;
    }
    double *ms = malloc((size_t)runs * sizeof *ms);
    for (int r = 0; r < runs; r++) {
        double a = now_ms();
        st = tessera_run_f32(session, x, (size_t)batch);
        double b = now_ms();
        if (st != TESSERA_OK) die("tessera_run_f32", st);
        ms[r] = b - a;
    }

    if (dump_path) {
        int64_t shape[4];
        int32_t rank = 0;
        st = tessera_output_shape(session, TESSERA_OUTPUT_EMBEDDING, shape, &rank);
        if (st != TESSERA_OK) die("tessera_output_shape", st);
        size_t m = 1;
        for (int i = 0; i < rank; i++) m *= (size_t)shape[i];
        float *e = malloc(m * sizeof *e);
        st = tessera_output_copy(session, TESSERA_OUTPUT_EMBEDDING, e, m);
        if (st != TESSERA_OK) die("tessera_output_copy", st);
        FILE *f = fopen(dump_path, "wb");
        if (!f || fwrite(e, sizeof *e, m, f) != m) {
            fprintf(stderr, "bench_tessera: cannot write %s\n", dump_path);
            return 2;
        }
        fclose(f);
        free(e);
    }

    printf("{\"runtime\": \"tessera-c\", \"threads\": %d, \"batch\": %d, \"height\": %d, \"width\": %d, "
           "\"precision\": \"%s\", \"outputs\": \"%s\", \"warmup\": %d, \"load_ms\": %.3f, \"session_ms\": %.3f, "
           "\"first_run_ms\": %.3f, \"arena_bytes\": %zu, ",
           threads, batch, height, width, int8 ? "int8" : "fp32", all_outputs ? "all" : "model", warmup, load_ms, session_ms, first_ms,
           tessera_session_arena_bytes(session));
    print_info(&info);
    printf(", \"ms\": [");
    for (int r = 0; r < runs; r++) printf("%s%.4f", r ? ", " : "", ms[r]);
    printf("]}\n");

    free(ms);
    free(x);
    tessera_session_free(session);
    tessera_model_free(model);
    return 0;
}
