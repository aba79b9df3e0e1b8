/*
 * embed.c — a minimal Tessera host in C.
 *
 *   embed MODEL_DIR [IMAGE.rgb WIDTH HEIGHT]
 *
 * Loads a model, prints what it is, creates a session at the model's trained
 * size (or at WIDTH x HEIGHT when an image is given), runs one image and
 * prints the first values and the L2 norm of its embedding, and the top-5
 * classes when the model has a classifier.
 *
 * IMAGE.rgb is raw interleaved 8-bit RGB, WIDTH * HEIGHT * 3 bytes, row-major
 * (for example `convert photo.jpg -resize 224x224! rgb:photo.rgb`). Without
 * an image a deterministic synthetic gradient is used, so that two runs (or
 * two machines) can be compared.
 *
 * Build:
 *   cc -std=c11 -Wall -Wextra -Werror -Iinclude examples/c/embed.c \
 *      -L.build/release -ltessera -Wl,-rpath,$PWD/.build/release -lm -o embed
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tessera.h"

static const char *family_name(tessera_family family) {
    switch (family) {
    case TESSERA_FAMILY_VIT: return "ViT";
    case TESSERA_FAMILY_DEIT: return "DeiT";
    case TESSERA_FAMILY_DINOV2: return "DINOv2";
    default: return "unknown";
    }
}

static const char *pos_resize_name(tessera_pos_resize mode) {
    switch (mode) {
    case TESSERA_POS_RESIZE_BICUBIC: return "bicubic";
    case TESSERA_POS_RESIZE_BICUBIC_ANTIALIAS: return "bicubic-antialias";
    case TESSERA_POS_RESIZE_BICUBIC_OFFSET: return "bicubic-offset";
    default: return "unknown";
    }
}

/* Prints the failing call and the library's message. */
static int report(const char *what, tessera_status status) {
    fprintf(stderr, "embed: %s failed: %s (%d): %s\n", what,
            tessera_status_string(status), (int)status, tessera_last_error());
    return 1;
}

static int parse_dim(const char *text, const char *name, int32_t *out) {
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value <= 0 || value > 65536) {
        fprintf(stderr, "embed: %s must be a positive integer, got '%s'\n", name, text);
        return 0;
    }
    *out = (int32_t)value;
    return 1;
}

/* Reads exactly `size` bytes of a raw RGB file into a new buffer. */
static uint8_t *read_rgb(const char *path, size_t size) {
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        fprintf(stderr, "embed: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    uint8_t *pixels = malloc(size);
    if (pixels == NULL) {
        fprintf(stderr, "embed: out of memory for %zu bytes\n", size);
        fclose(file);
        return NULL;
    }
    size_t got = fread(pixels, 1, size, file);
    int extra = fgetc(file);
    fclose(file);
    if (got != size || extra != EOF) {
        fprintf(stderr, "embed: %s must hold exactly %zu bytes (width x height x 3), "
                        "it holds %s%zu\n", path, size, got == size ? "more than " : "", got);
        free(pixels);
        return NULL;
    }
    return pixels;
}

/* A deterministic test image: red grows left to right, green top to bottom,
 * blue along the diagonal, with a faint checkerboard so that patches differ. */
static uint8_t *synthetic_image(int32_t width, int32_t height) {
    uint8_t *pixels = malloc((size_t)width * (size_t)height * 3);
    if (pixels == NULL) {
        fprintf(stderr, "embed: out of memory\n");
        return NULL;
    }
    for (int32_t y = 0; y < height; y++) {
        for (int32_t x = 0; x < width; x++) {
            uint8_t *p = pixels + ((size_t)y * (size_t)width + (size_t)x) * 3;
            int check = (((x / 8) + (y / 8)) & 1) ? 16 : 0;
            p[0] = (uint8_t)((255 * x) / (width > 1 ? width - 1 : 1));
            p[1] = (uint8_t)((255 * y) / (height > 1 ? height - 1 : 1));
            p[2] = (uint8_t)((((255 - 16) * (x + y)) / (width + height > 2 ? width + height - 2 : 1)) + check);
        }
    }
    return pixels;
}

/* Copies an output of the last run into a new buffer; returns its size. */
static float *copy_output(const tessera_session *session, tessera_output which,
                          int64_t shape[4], int32_t *rank, size_t *count) {
    tessera_status status = tessera_output_shape(session, which, shape, rank);
    if (status != TESSERA_OK) {
        report("tessera_output_shape", status);
        return NULL;
    }
    size_t n = 1;
    for (int32_t i = 0; i < *rank; i++) n *= (size_t)shape[i];
    float *values = malloc(n * sizeof(float));
    if (values == NULL) {
        fprintf(stderr, "embed: out of memory for %zu floats\n", n);
        return NULL;
    }
    status = tessera_output_copy(session, which, values, n);
    if (status != TESSERA_OK) {
        report("tessera_output_copy", status);
        free(values);
        return NULL;
    }
    *count = n;
    return values;
}

int main(int argc, char **argv) {
    if (argc != 2 && argc != 5) {
        fprintf(stderr, "usage: %s MODEL_DIR [IMAGE.rgb WIDTH HEIGHT]\n", argv[0]);
        return 2;
    }
    int32_t width = 0, height = 0;
    if (argc == 5 && (!parse_dim(argv[3], "WIDTH", &width) ||
                      !parse_dim(argv[4], "HEIGHT", &height)))
        return 2;

    int exit_code = 1;
    tessera_model *model = NULL;
    tessera_session *session = NULL;
    uint8_t *pixels = NULL;
    float *embedding = NULL, *logits = NULL;
    tessera_status status;

    printf("tessera %s\n", tessera_version());

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
    printf("model       %s\n", argv[1]);
    printf("family      %s (%s)\n", family_name(info.family), info.architecture);
    printf("hidden      %d, %d layers, %d heads, mlp %d\n", (int)info.hidden_size,
           (int)info.num_layers, (int)info.num_heads, (int)info.mlp_size);
    printf("patch       %d, trained size %dx%d (HxW), %d channels\n", (int)info.patch_size,
           (int)info.image_height, (int)info.image_width, (int)info.num_channels);
    printf("tokens      %d prefix (%d registers), position resize %s\n",
           (int)info.num_prefix_tokens, (int)info.num_register_tokens,
           pos_resize_name(info.pos_resize));
    printf("classes     %d\n", (int)info.num_classes);
    printf("parameters  %lld (%zu bytes fp32)\n", (long long)info.num_parameters,
           info.weight_bytes);
    printf("kernels     %s (isa %d), L1d %zu B, L2 %zu B\n", info.isa_name, (int)info.isa,
           info.l1d_bytes, info.l2_bytes);

    if (argc == 2) {
        width = info.image_width;
        height = info.image_height;
    }

    tessera_session_options options = tessera_session_default_options();
    options.batch = 1;
    options.height = argc == 5 ? height : 0; /* 0: the trained size */
    options.width = argc == 5 ? width : 0;
    /* Only what this program prints: the embedding, and the logits if any. */
    options.outputs = TESSERA_OUTPUTS_EXPLICIT | TESSERA_OUTPUT_BIT(TESSERA_OUTPUT_EMBEDDING);
    if (info.num_classes > 0) options.outputs |= TESSERA_OUTPUT_BIT(TESSERA_OUTPUT_LOGITS);
    status = tessera_session_create(model, &options, &session);
    if (status != TESSERA_OK) {
        report("tessera_session_create", status);
        goto done;
    }
    tessera_session_info sinfo;
    memset(&sinfo, 0, sizeof sinfo);
    sinfo.struct_size = sizeof sinfo;
    status = tessera_session_get_info(session, &sinfo);
    if (status != TESSERA_OK) {
        report("tessera_session_get_info", status);
        goto done;
    }
    printf("session     %dx%d (HxW), %s kernels, %d threads, %d of %d blocks, arena %zu bytes\n",
           (int)sinfo.height, (int)sinfo.width, sinfo.isa_name, (int)sinfo.num_threads,
           (int)sinfo.blocks_run, (int)sinfo.num_layers, sinfo.arena_bytes);

    size_t image_bytes = (size_t)width * (size_t)height * 3;
    if (argc == 5) {
        pixels = read_rgb(argv[2], image_bytes);
        printf("image       %s\n", argv[2]);
    } else {
        pixels = synthetic_image(width, height);
        printf("image       synthetic gradient %dx%d\n", (int)width, (int)height);
    }
    if (pixels == NULL) goto done;

    status = tessera_run_rgb8(session, pixels, 1);
    if (status != TESSERA_OK) {
        report("tessera_run_rgb8", status);
        goto done;
    }

    int64_t shape[4];
    int32_t rank = 0;
    size_t count = 0;
    embedding = copy_output(session, TESSERA_OUTPUT_EMBEDDING, shape, &rank, &count);
    if (embedding == NULL) goto done;
    double norm = 0.0;
    for (size_t i = 0; i < count; i++) norm += (double)embedding[i] * (double)embedding[i];
    printf("embedding   [%lld, %lld]:", (long long)shape[0], (long long)shape[1]);
    for (size_t i = 0; i < count && i < 8; i++) printf(" %.6f", (double)embedding[i]);
    printf("%s\n", count > 8 ? " ..." : "");
    printf("L2 norm     %.6f\n", sqrt(norm));

    if (info.num_classes > 0) {
        logits = copy_output(session, TESSERA_OUTPUT_LOGITS, shape, &rank, &count);
        if (logits == NULL) goto done;
        int top[5];
        int ntop = 0;
        for (int k = 0; k < 5 && (size_t)k < count; k++) {
            int best = -1;
            for (size_t i = 0; i < count; i++) {
                int taken = 0;
                for (int j = 0; j < ntop; j++) taken |= top[j] == (int)i;
                if (!taken && (best < 0 || logits[i] > logits[best])) best = (int)i;
            }
            top[ntop++] = best;
        }
        printf("top-%d of %zu classes:\n", ntop, count);
        for (int k = 0; k < ntop; k++) {
            const char *label = tessera_model_label(model, top[k]);
            printf("  %2d. %10.4f  #%d %s\n", k + 1, (double)logits[top[k]], top[k],
                   label != NULL ? label : "(no label)");
        }
    } else {
        printf("no classifier head\n");
    }
    exit_code = 0;

done:
    free(logits);
    free(embedding);
    free(pixels);
    tessera_session_free(session);
    tessera_model_free(model);
    return exit_code;
}
