/*
 * match.c — patch matching between two images with the Tessera C API alone.
 *
 *   match MODEL_DIR A.rgb B.rgb WIDTH HEIGHT [SHOW]
 *
 * Loads a model, creates one session of batch 2 at WIDTH x HEIGHT, runs both
 * images in one call, L2-normalizes their patch tokens and keeps the mutual
 * nearest neighbours by cosine similarity: patch i of A and patch j of B
 * match when j is i's most similar patch in B and i is j's most similar patch
 * in A (ties go to the lower index). Prints the number of matches and the
 * first SHOW of them (default 10), the most similar first, as
 * (row, col) -> (row, col) in the patch grid.
 *
 * A.rgb and B.rgb are raw interleaved 8-bit RGB, WIDTH * HEIGHT * 3 bytes
 * each, row-major. There is no resizing here: the session size is the image
 * size, so WIDTH and HEIGHT must be multiples of the model's patch size
 * (resize beforehand, e.g. with Pillow's bicubic as the Python example does,
 * or `convert a.jpg -resize 448x448! rgb:a.rgb`).
 *
 * Build:
 *   cc -std=c11 -Wall -Wextra -Werror -Iinclude examples/c/match.c \
 *      -L.build/release -ltessera -Wl,-rpath,$PWD/.build/release -lm -o match
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tessera.h"

static int report(const char *what, tessera_status status) {
    fprintf(stderr, "match: %s failed: %s (%d): %s\n", what,
            tessera_status_string(status), (int)status, tessera_last_error());
    return 1;
}

static int parse_int(const char *text, const char *name, long lo, long hi, long *out) {
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < lo || value > hi) {
        fprintf(stderr, "match: %s must be an integer in [%ld, %ld], got '%s'\n", name, lo, hi,
                text);
        return 0;
    }
    *out = value;
    return 1;
}

/* Reads exactly `size` bytes of a raw RGB file into dst. */
static int read_rgb(const char *path, uint8_t *dst, size_t size) {
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        fprintf(stderr, "match: cannot open %s: %s\n", path, strerror(errno));
        return 0;
    }
    size_t got = fread(dst, 1, size, file);
    int extra = fgetc(file);
    fclose(file);
    if (got != size || extra != EOF) {
        fprintf(stderr, "match: %s must hold exactly %zu bytes (width x height x 3), "
                        "it holds %s%zu\n", path, size, got == size ? "more than " : "", got);
        return 0;
    }
    return 1;
}

/* Scales each of `rows` rows of `dim` floats to unit L2 norm (zero rows stay zero). */
static void l2_normalize_rows(float *x, size_t rows, size_t dim) {
    for (size_t r = 0; r < rows; r++) {
        float *v = x + r * dim;
        double sum = 0.0;
        for (size_t k = 0; k < dim; k++) sum += (double)v[k] * (double)v[k];
        double norm = sqrt(sum);
        float inv = norm > 1e-12 ? (float)(1.0 / norm) : 0.0f;
        for (size_t k = 0; k < dim; k++) v[k] *= inv;
    }
}

typedef struct {
    size_t a, b;
    float similarity;
} match_pair;

/* Most similar first; equal similarity: lower index in A first. */
static int by_similarity(const void *p, const void *q) {
    const match_pair *x = p, *y = q;
    if (x->similarity != y->similarity) return x->similarity > y->similarity ? -1 : 1;
    return (x->a > y->a) - (x->a < y->a);
}

/* Mutual nearest neighbours of unit rows a [na, dim] and b [nb, dim].
 * Writes up to min(na, nb) pairs to out and returns how many. */
static size_t mutual_nearest_neighbors(const float *a, size_t na, const float *b, size_t nb,
                                       size_t dim, float *sim, size_t *best_ab,
                                       size_t *best_ba, match_pair *out) {
    for (size_t i = 0; i < na; i++) {
        for (size_t j = 0; j < nb; j++) {
            const float *u = a + i * dim, *v = b + j * dim;
            float dot = 0.0f;
            for (size_t k = 0; k < dim; k++) dot += u[k] * v[k];
            sim[i * nb + j] = dot;
        }
    }
    for (size_t i = 0; i < na; i++) {
        size_t best = 0;
        for (size_t j = 1; j < nb; j++)
            if (sim[i * nb + j] > sim[i * nb + best]) best = j;
        best_ab[i] = best;
    }
    for (size_t j = 0; j < nb; j++) {
        size_t best = 0;
        for (size_t i = 1; i < na; i++)
            if (sim[i * nb + j] > sim[best * nb + j]) best = i;
        best_ba[j] = best;
    }
    size_t count = 0;
    for (size_t i = 0; i < na; i++) {
        size_t j = best_ab[i];
        if (best_ba[j] == i) {
            out[count].a = i;
            out[count].b = j;
            out[count].similarity = sim[i * nb + j];
            count++;
        }
    }
    qsort(out, count, sizeof *out, by_similarity);
    return count;
}

int main(int argc, char **argv) {
    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: %s MODEL_DIR A.rgb B.rgb WIDTH HEIGHT [SHOW]\n"
                        "  A.rgb, B.rgb: raw RGB8, WIDTH*HEIGHT*3 bytes each; WIDTH and HEIGHT\n"
                        "  multiples of the model's patch size (no resizing is done)\n",
                argv[0]);
        return 2;
    }
    long width = 0, height = 0, show = 10;
    if (!parse_int(argv[4], "WIDTH", 1, 65536, &width) ||
        !parse_int(argv[5], "HEIGHT", 1, 65536, &height) ||
        (argc == 7 && !parse_int(argv[6], "SHOW", 0, 1000000, &show)))
        return 2;

    int exit_code = 1;
    tessera_model *model = NULL;
    tessera_session *session = NULL;
    uint8_t *pixels = NULL;
    float *tokens = NULL, *sim = NULL;
    size_t *best_ab = NULL, *best_ba = NULL;
    match_pair *matches = NULL;
    tessera_status status;

    status = tessera_model_load(argv[1], &model);
    if (status != TESSERA_OK) {
        report("tessera_model_load", status);
        goto done;
    }
    tessera_model_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    status = tessera_model_get_info(model, &info);
    if (status != TESSERA_OK) {
        report("tessera_model_get_info", status);
        goto done;
    }
    const long patch = info.patch_size;
    if (patch <= 0 || width % patch != 0 || height % patch != 0) {
        fprintf(stderr, "match: %ldx%ld is not a multiple of the patch size %ld; resize the "
                        "images first (the session size must equal the image size)\n",
                width, height, patch);
        goto done;
    }

    tessera_session_options options = tessera_session_default_options();
    options.batch = 2;
    options.height = (int32_t)height;
    options.width = (int32_t)width;
    /* Only the patch tokens: no classifier head runs. */
    options.outputs = TESSERA_OUTPUTS_EXPLICIT | TESSERA_OUTPUT_BIT(TESSERA_OUTPUT_PATCH_TOKENS);
    status = tessera_session_create(model, &options, &session);
    if (status != TESSERA_OK) {
        report("tessera_session_create", status);
        goto done;
    }

    const size_t image_bytes = (size_t)width * (size_t)height * 3;
    pixels = malloc(2 * image_bytes);
    if (pixels == NULL) {
        fprintf(stderr, "match: out of memory\n");
        goto done;
    }
    if (!read_rgb(argv[2], pixels, image_bytes) ||
        !read_rgb(argv[3], pixels + image_bytes, image_bytes))
        goto done;

    status = tessera_run_rgb8(session, pixels, 2);
    if (status != TESSERA_OK) {
        report("tessera_run_rgb8", status);
        goto done;
    }

    int64_t shape[4];
    int32_t rank = 0;
    status = tessera_output_shape(session, TESSERA_OUTPUT_PATCH_TOKENS, shape, &rank);
    if (status != TESSERA_OK) {
        report("tessera_output_shape", status);
        goto done;
    }
    const size_t grid_w = (size_t)(width / patch), grid_h = (size_t)(height / patch);
    if (rank != 3 || shape[0] != 2 || (size_t)shape[1] != grid_h * grid_w || shape[2] <= 0) {
        fprintf(stderr, "match: unexpected patch token shape (rank %d: %lld, %lld, %lld)\n",
                (int)rank, (long long)shape[0], (long long)shape[1], (long long)shape[2]);
        goto done;
    }
    const size_t n = (size_t)shape[1], dim = (size_t)shape[2];
    tokens = malloc(2 * n * dim * sizeof *tokens);
    sim = malloc(n * n * sizeof *sim);
    best_ab = malloc(n * sizeof *best_ab);
    best_ba = malloc(n * sizeof *best_ba);
    matches = malloc(n * sizeof *matches);
    if (tokens == NULL || sim == NULL || best_ab == NULL || best_ba == NULL || matches == NULL) {
        fprintf(stderr, "match: out of memory\n");
        goto done;
    }
    status = tessera_output_copy(session, TESSERA_OUTPUT_PATCH_TOKENS, tokens, 2 * n * dim);
    if (status != TESSERA_OK) {
        report("tessera_output_copy", status);
        goto done;
    }
    l2_normalize_rows(tokens, 2 * n, dim);
    size_t count = mutual_nearest_neighbors(tokens, n, tokens + n * dim, n, dim, sim, best_ab,
                                            best_ba, matches);

    printf("model %s (%s), patch %ld, %ldx%ld (WxH), grid %zux%zu, %zu-d tokens\n", argv[1],
           info.architecture, patch, width, height, grid_h, grid_w, dim);
    printf("%zu mutual nearest-neighbour matches of %zu patches\n", count, n);
    for (size_t k = 0; k < count && k < (size_t)show; k++) {
        const match_pair *m = &matches[k];
        printf("  (%3zu, %3zu) -> (%3zu, %3zu)  cos %.4f\n", m->a / grid_w, m->a % grid_w,
               m->b / grid_w, m->b % grid_w, (double)m->similarity);
    }
    exit_code = 0;

done:
    free(matches);
    free(best_ba);
    free(best_ab);
    free(sim);
    free(tokens);
    free(pixels);
    tessera_session_free(session);
    tessera_model_free(model);
    return exit_code;
}
