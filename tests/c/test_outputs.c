/* Outputs on demand through the C API: options.outputs, session info, the
 * borrowed view, options structs of older sizes, and tessera_preprocess_rgb8.
 * Usage: test_outputs FIXTURES_DIR */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tessera.h"

static int g_passed, g_failed;

static int check(int ok, const char *what, const char *detail) {
    if (ok) g_passed++;
    else { g_failed++; printf("FAIL %s%s%s\n", what, detail ? ": " : "", detail ? detail : ""); }
    return ok;
}

/* All outputs codes a fixture could have. */
static int output_codes(const tessera_model_info *info, tessera_output *codes) {
    int n = 0;
    for (tessera_output w = TESSERA_OUTPUT_LOGITS; w <= TESSERA_OUTPUT_REGISTER_TOKENS; w++) codes[n++] = w;
    for (int k = 0; k < info->num_layers; k++) codes[n++] = TESSERA_OUTPUT_LAYER(k);
    return n;
}

static tessera_session *create(const tessera_model *m, uint32_t outputs, uint64_t mask, tessera_status *st) {
    tessera_session_options o = tessera_session_default_options();
    o.batch = 2; o.num_threads = 2; o.outputs = outputs; o.layers_mask = mask;
    tessera_session *s = NULL;
    *st = tessera_session_create(m, &o, &s);
    return s;
}

/* Copies an output densely (NULL if unavailable). */
static float *copy_out(const tessera_session *s, tessera_output w, size_t *n, tessera_status *st) {
    int64_t shape[4]; int32_t rank = 0;
    *st = tessera_output_shape(s, w, shape, &rank);
    if (*st != TESSERA_OK) return NULL;
    *n = (size_t)(shape[0] * shape[1] * shape[2] * shape[3]);
    float *dst = malloc(*n * sizeof *dst);
    if (tessera_output_copy(s, w, dst, *n) != TESSERA_OK) { free(dst); return NULL; }
    return dst;
}

/* The borrowed view agrees with the copy, element for element. */
static void check_view(const tessera_session *s, tessera_output w, const float *dense, size_t n, const char *ctx) {
    const float *p = NULL; int64_t shape[4], strides[4]; int32_t rank = 0;
    tessera_status st = tessera_output_view(s, w, &p, shape, strides, &rank);
    char msg[256];
    snprintf(msg, sizeof msg, "%s: output_view(%d) -> %s", ctx, (int)w, tessera_status_string(st));
    if (!check(st == TESSERA_OK && p != NULL && (rank == 2 || rank == 3), msg, tessera_last_error())) return;
    check(shape[3] == 1 && strides[3] == 0 && (rank == 3 || (shape[2] == 1 && strides[2] == 0)),
          "unused view dims have shape 1, stride 0", ctx);
    size_t k = 0, bad = 0;
    for (int64_t i = 0; i < shape[0]; i++)
        for (int64_t j = 0; j < shape[1]; j++)
            for (int64_t l = 0; l < shape[2]; l++, k++)
                if (k >= n || memcmp(&p[i * strides[0] + j * strides[1] + l * strides[2]], &dense[k], 4) != 0) bad++;
    snprintf(msg, sizeof msg, "%s: view of output %d equals its copy (%zu of %zu differ)", ctx, (int)w, bad, n);
    check(bad == 0 && k == n, msg, NULL);
}

static void test_fixture(const char *dir, const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    tessera_model *m = NULL;
    if (!check(tessera_model_load(path, &m) == TESSERA_OK, path, tessera_last_error())) return;
    tessera_model_info info; memset(&info, 0, sizeof info); info.struct_size = sizeof info;
    tessera_model_get_info(m, &info);
    size_t px = (size_t)2 * info.image_height * info.image_width * 3;
    uint8_t *pixels = malloc(px);
    for (size_t i = 0; i < px; i++) pixels[i] = (uint8_t)((i * 2654435761u) >> 13);
    uint64_t all_layers = info.num_layers >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << info.num_layers) - 1;

    tessera_status st;
    tessera_session *full = create(m, 0, all_layers, &st);
    if (!check(st == TESSERA_OK, "full session", tessera_last_error())) { free(pixels); tessera_model_free(m); return; }
    tessera_run_rgb8(full, pixels, 2);
    tessera_session_info finfo; memset(&finfo, 0, sizeof finfo); finfo.struct_size = sizeof finfo;
    check(tessera_session_get_info(full, &finfo) == TESSERA_OK && finfo.blocks_run == info.num_layers &&
              finfo.num_layers == info.num_layers && finfo.layers_mask == all_layers,
          "full session info", name);
    tessera_output codes[80];
    int ncodes = output_codes(&info, codes);
    float *want[80]; size_t want_n[80];
    for (int c = 0; c < ncodes; c++) want[c] = copy_out(full, codes[c], &want_n[c], &st);

    /* Requests: outputs bits, layers mask. */
    uint32_t X = TESSERA_OUTPUTS_EXPLICIT;
    struct { uint32_t outputs; uint64_t mask; } req[] = {
        {X, 1}, {X, (uint64_t)1 << (info.num_layers - 1)},
        {X | TESSERA_OUTPUT_BIT(TESSERA_OUTPUT_EMBEDDING), 0},
        {X | TESSERA_OUTPUT_BIT(TESSERA_OUTPUT_PATCH_TOKENS), 1},
        {X | TESSERA_OUTPUT_BIT(TESSERA_OUTPUT_LOGITS), 0},
        {X | TESSERA_OUTPUT_BIT(TESSERA_OUTPUT_REGISTER_TOKENS), 0},
    };
    for (size_t r = 0; r < sizeof req / sizeof req[0]; r++) {
        char ctx[200];
        snprintf(ctx, sizeof ctx, "%s outputs 0x%x mask 0x%llx", name, req[r].outputs, (unsigned long long)req[r].mask);
        int lacks = ((req[r].outputs & TESSERA_OUTPUT_BIT(TESSERA_OUTPUT_LOGITS)) && info.num_classes == 0) ||
                    ((req[r].outputs & TESSERA_OUTPUT_BIT(TESSERA_OUTPUT_REGISTER_TOKENS)) && info.num_register_tokens == 0);
        tessera_session *s = create(m, req[r].outputs, req[r].mask, &st);
        if (lacks) {
            check(st == TESSERA_ERR_UNAVAILABLE && s == NULL && strstr(tessera_last_error(), "the model") != NULL,
                  "asking for an output the model lacks is refused at creation", ctx);
            continue;
        }
        if (!check(st == TESSERA_OK && s != NULL, ctx, tessera_last_error())) continue;
        tessera_session_info si; memset(&si, 0, sizeof si); si.struct_size = sizeof si;
        tessera_session_get_info(s, &si);
        int finals = (req[r].outputs & 0xF) != 0;
        int last = 0;
        for (int k = 0; k < 64; k++) if (req[r].mask >> k & 1) last = k;
        check(si.blocks_run == (finals ? info.num_layers : last + 1), "blocks_run is the last block needed", ctx);
        check(si.outputs == (req[r].outputs & 0xF) && si.layers_mask == req[r].mask, "info reports the request", ctx);
        /* Without patch tokens the last block runs on the prefix rows, which
         * one more step takes from the stream. */
        int prefix_only = finals && !(req[r].outputs & TESSERA_OUTPUT_BIT(TESSERA_OUTPUT_PATCH_TOKENS)) &&
                          !(req[r].mask >> (info.num_layers - 1) & 1);
        check((finals ? si.num_ops <= finfo.num_ops + prefix_only : si.num_ops < finfo.num_ops) && si.arena_bytes <= finfo.arena_bytes,
              "no more ops (fewer without a final output; one more to take the prefix rows), no larger arena", ctx);
        check(tessera_run_rgb8(s, pixels, 2) == TESSERA_OK, "run", ctx);
        for (int c = 0; c < ncodes; c++) {
            tessera_output w = codes[c];
            int asked = w >= TESSERA_OUTPUT_LAYER_BASE ? (int)(req[r].mask >> (w - TESSERA_OUTPUT_LAYER_BASE) & 1)
                                                       : (int)(req[r].outputs >> w & 1);
            size_t n = 0;
            float *got = copy_out(s, w, &n, &st);
            char what[260];
            snprintf(what, sizeof what, "%s: output %d %s", ctx, (int)w, asked ? "asked for" : "not asked for");
            if (asked) {
                check(got != NULL && want[c] != NULL && n == want_n[c] && memcmp(got, want[c], n * 4) == 0,
                      what, "differs from the full session's (must be the same bits)");
                if (got) check_view(s, w, got, n, ctx);
            } else if (want[c] != NULL) {
                const char *hint = w >= TESSERA_OUTPUT_LAYER_BASE ? "layers_mask" : "TESSERA_OUTPUT_BIT";
                check(got == NULL && st == TESSERA_ERR_UNAVAILABLE && strstr(tessera_last_error(), hint) != NULL,
                      what, tessera_last_error());
                const float *p = (const float *)1; int64_t shape[4], strides[4]; int32_t rank;
                check(tessera_output_view(s, w, &p, shape, strides, &rank) == TESSERA_ERR_UNAVAILABLE && p == NULL,
                      "a view of an output not asked for is unavailable and clears the pointer", what);
            }
            free(got);
        }
        tessera_session_free(s);
    }
    for (int c = 0; c < ncodes; c++) free(want[c]);
    tessera_session_free(full);
    free(pixels);
    tessera_model_free(m);
}

/* Bad values, info and view arguments, older struct sizes. */
static void test_arguments(const char *dir) {
    char path[512];
    snprintf(path, sizeof path, "%s/vit_hf", dir);
    tessera_model *m = NULL;
    if (!check(tessera_model_load(path, &m) == TESSERA_OK, path, tessera_last_error())) return;
    tessera_status st;
    uint32_t X = TESSERA_OUTPUTS_EXPLICIT;
    uint32_t bad[] = {1, TESSERA_OUTPUT_BIT(TESSERA_OUTPUT_EMBEDDING), X | 16, X | (1u << 30), 0xFFFFFFFFu};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tessera_session *s = create(m, bad[i], 0, &st);
        check(st == TESSERA_ERR_INVALID_ARGUMENT && s == NULL && strstr(tessera_last_error(), "outputs") != NULL,
              "bad options.outputs refused", tessera_last_error());
    }
    tessera_session *s = create(m, X, 0, &st);
    check(st == TESSERA_ERR_INVALID_ARGUMENT && s == NULL && strstr(tessera_last_error(), "nothing") != NULL,
          "no output and no layer refused", tessera_last_error());

    /* An older caller's struct that ends before `outputs` gets every output,
     * whatever lies past its size. */
    tessera_session_options o = tessera_session_default_options();
    o.struct_size = offsetof(tessera_session_options, outputs);
    o.outputs = X;
    s = NULL;
    st = tessera_session_create(m, &o, &s);
    tessera_session_info si; memset(&si, 0, sizeof si); si.struct_size = sizeof si;
    check(st == TESSERA_OK && tessera_session_get_info(s, &si) == TESSERA_OK && si.outputs != 0 &&
              (si.outputs & TESSERA_OUTPUT_BIT(TESSERA_OUTPUT_EMBEDDING)),
          "options ending before `outputs`: every output", tessera_last_error());

    /* View before any run, NULL arguments, unknown outputs. */
    const float *p = NULL; int64_t shape[4], strides[4]; int32_t rank;
    check(tessera_output_view(s, TESSERA_OUTPUT_EMBEDDING, &p, shape, strides, &rank) == TESSERA_ERR_STATE,
          "view before any run -> state error", tessera_last_error());
    tessera_model_info info; memset(&info, 0, sizeof info); info.struct_size = sizeof info;
    tessera_model_get_info(m, &info);
    size_t px = (size_t)info.image_height * info.image_width * 3;
    uint8_t *pixels = calloc(px, 1);
    tessera_run_rgb8(s, pixels, 1);
    check(tessera_output_view(NULL, TESSERA_OUTPUT_EMBEDDING, &p, shape, strides, &rank) == TESSERA_ERR_INVALID_ARGUMENT,
          "view of a NULL session", NULL);
    check(tessera_output_view((tessera_session *)m, TESSERA_OUTPUT_EMBEDDING, &p, shape, strides, &rank) ==
              TESSERA_ERR_INVALID_ARGUMENT, "view of a model handle passed as a session", NULL);
    check(tessera_output_view(s, TESSERA_OUTPUT_EMBEDDING, NULL, shape, strides, &rank) == TESSERA_ERR_INVALID_ARGUMENT,
          "view with NULL out_data", NULL);
    check(tessera_output_view(s, TESSERA_OUTPUT_EMBEDDING, &p, NULL, strides, &rank) == TESSERA_ERR_INVALID_ARGUMENT,
          "view with NULL shape", NULL);
    check(tessera_output_view(s, TESSERA_OUTPUT_EMBEDDING, &p, shape, NULL, &rank) == TESSERA_ERR_INVALID_ARGUMENT,
          "view with NULL strides", NULL);
    check(tessera_output_view(s, TESSERA_OUTPUT_EMBEDDING, &p, shape, strides, NULL) == TESSERA_ERR_INVALID_ARGUMENT,
          "view with NULL rank", NULL);
    tessera_output unknown[] = {4, -1, 255, TESSERA_OUTPUT_LAYER(99), (tessera_output)0x7FFFFFFF, (tessera_output)0x80000000};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        st = tessera_output_view(s, unknown[i], &p, shape, strides, &rank);
        check((st == TESSERA_ERR_INVALID_ARGUMENT || st == TESSERA_ERR_UNAVAILABLE) && p == NULL &&
                  tessera_last_error()[0] != '\0', "view of an unknown output", tessera_last_error());
    }
    check(tessera_output_view(s, TESSERA_OUTPUT_EMBEDDING, &p, shape, strides, &rank) == TESSERA_OK && p != NULL &&
              rank == 2 && shape[0] == 1 && shape[1] == info.hidden_size && strides[1] == 1,
          "view of the embedding", tessera_last_error());

    /* Session info: arguments and struct sizes. */
    check(tessera_session_get_info(NULL, &si) == TESSERA_ERR_INVALID_ARGUMENT, "get_info(NULL session)", NULL);
    check(tessera_session_get_info(s, NULL) == TESSERA_ERR_INVALID_ARGUMENT, "get_info(NULL info)", NULL);
    si.struct_size = 0;
    check(tessera_session_get_info(s, &si) == TESSERA_ERR_INVALID_ARGUMENT &&
              strstr(tessera_last_error(), "sizeof(tessera_session_info)") != NULL,
          "get_info with struct_size 0", tessera_last_error());
    /* A shorter struct (an older header): filled up to its size, no further. */
    unsigned char buf[sizeof(tessera_session_info) + 64];
    memset(buf, 0xA5, sizeof buf);
    size_t shortsize = offsetof(tessera_session_info, isa_name);
    memcpy(buf, &shortsize, sizeof shortsize);
    st = tessera_session_get_info(s, (tessera_session_info *)buf);
    int untouched = 1;
    for (size_t k = shortsize; k < sizeof buf; k++) untouched &= buf[k] == 0xA5;
    tessera_session_info *bi = (tessera_session_info *)buf;
    check(st == TESSERA_OK && bi->struct_size == shortsize && untouched && bi->batch == 1 && bi->num_threads >= 1,
          "get_info with a shorter struct fills only it", tessera_last_error());
    /* A longer struct (a newer header): this library's part, struct_size says how much. */
    memset(buf, 0xA5, sizeof buf);
    size_t longsize = sizeof buf;
    memcpy(buf, &longsize, sizeof longsize);
    st = tessera_session_get_info(s, (tessera_session_info *)buf);
    untouched = 1;
    for (size_t k = sizeof(tessera_session_info); k < sizeof buf; k++) untouched &= buf[k] == 0xA5;
    check(st == TESSERA_OK && bi->struct_size == sizeof(tessera_session_info) && untouched,
          "get_info with a longer struct", tessera_last_error());
    tessera_session_free(s);

    /* Info reports what runs: forced variant and thread count. */
    o = tessera_session_default_options();
    o.isa = TESSERA_ISA_PORTABLE; o.num_threads = 3;
    s = NULL;
    tessera_session_create(m, &o, &s);
    memset(&si, 0, sizeof si); si.struct_size = sizeof si;
    check(s != NULL && tessera_session_get_info(s, &si) == TESSERA_OK && si.isa == TESSERA_ISA_PORTABLE &&
              strcmp(si.isa_name, "portable") == 0 && si.num_threads == 3 && si.batch == 1 &&
              si.height == info.image_height && si.arena_bytes == tessera_session_arena_bytes(s) &&
              si.gemm_kc > 0 && si.gemm_mc > 0 && si.blocking_source[0] != '\0',
          "info of a portable 3-thread session", si.isa_name);
    tessera_session_free(s);
    free(pixels);
    tessera_model_free(m);
}

/* tessera_preprocess_rgb8: every argument checked; a padded stride reads the
 * same pixels; every mode gives the session's size. */
static void test_preprocess(const char *dir) {
    char path[512];
    snprintf(path, sizeof path, "%s/dinov2_hf", dir);
    tessera_model *m = NULL;
    if (!check(tessera_model_load(path, &m) == TESSERA_OK, path, tessera_last_error())) return;
    tessera_session_options o = tessera_session_default_options();
    o.height = 56; o.width = 70;
    tessera_session *s = NULL;
    tessera_session_create(m, &o, &s);
    enum { H = 37, W = 53, PAD = 7 };
    uint8_t img[H * (W * 3 + PAD)], packed[H * W * 3];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W * 3 + PAD; x++) {
            uint8_t v = (uint8_t)((y * 31 + x * 17) ^ (x * y));
            img[y * (W * 3 + PAD) + x] = v;
            if (x < W * 3) packed[y * W * 3 + x] = v;
        }
    size_t need = 56 * 70 * 3;
    uint8_t *a = malloc(need), *b = malloc(need);
    check(tessera_preprocess_rgb8(s, packed, H, W, 0, TESSERA_RESIZE_STRETCH, TESSERA_RESAMPLE_DEFAULT, a, need) == TESSERA_OK,
          "preprocess a 37x53 image", tessera_last_error());
    check(tessera_preprocess_rgb8(s, img, H, W, W * 3 + PAD, TESSERA_RESIZE_STRETCH, TESSERA_RESAMPLE_DEFAULT, b, need) == TESSERA_OK &&
              memcmp(a, b, need) == 0, "a padded stride reads the same pixels", tessera_last_error());
    check(tessera_run_rgb8(s, a, 1) == TESSERA_OK, "its output runs", tessera_last_error());
    tessera_resize modes[] = {TESSERA_RESIZE_COVER_CROP, TESSERA_RESIZE_MODEL};
    for (int i = 0; i < 2; i++)
        for (tessera_resample r = TESSERA_RESAMPLE_DEFAULT; r <= TESSERA_RESAMPLE_BILINEAR; r++) {
            tessera_status st = tessera_preprocess_rgb8(s, packed, H, W, 0, modes[i], r, b, need);
            /* The fixture's own pipeline (shortest edge, crop) ends elsewhere than 56x70: refused, with why. */
            check(st == TESSERA_OK || (modes[i] == TESSERA_RESIZE_MODEL && st == TESSERA_ERR_INVALID_ARGUMENT &&
                                       strstr(tessera_last_error(), "the session is 56x70") != NULL),
                  "cover and model modes", tessera_last_error());
        }
    struct { const tessera_session *s; const uint8_t *rgb; size_t h, w, stride; tessera_resize mode; tessera_resample r;
             uint8_t *out; size_t n; tessera_status want; const char *what; } bad[] = {
        {NULL, packed, H, W, 0, 1, 0, b, need, TESSERA_ERR_INVALID_ARGUMENT, "NULL session"},
        {(const tessera_session *)m, packed, H, W, 0, 1, 0, b, need, TESSERA_ERR_INVALID_ARGUMENT, "a model as the session"},
        {s, NULL, H, W, 0, 1, 0, b, need, TESSERA_ERR_INVALID_ARGUMENT, "NULL rgb"},
        {s, packed, H, W, 0, 1, 0, NULL, need, TESSERA_ERR_INVALID_ARGUMENT, "NULL out"},
        {s, packed, 0, W, 0, 1, 0, b, need, TESSERA_ERR_INVALID_ARGUMENT, "height 0"},
        {s, packed, H, 0, 0, 1, 0, b, need, TESSERA_ERR_INVALID_ARGUMENT, "width 0"},
        {s, packed, (size_t)1 << 40, W, 0, 1, 0, b, need, TESSERA_ERR_INVALID_ARGUMENT, "height 2^40"},
        {s, packed, SIZE_MAX, SIZE_MAX, 0, 1, 0, b, need, TESSERA_ERR_INVALID_ARGUMENT, "SIZE_MAX sides"},
        {s, packed, 60000, 60000, 0, 1, 0, b, need, TESSERA_ERR_INVALID_ARGUMENT, "3.6e9 pixels"},
        {s, packed, H, W, W * 3 - 1, 1, 0, b, need, TESSERA_ERR_INVALID_ARGUMENT, "stride below width*3"},
        {s, packed, H, W, SIZE_MAX, 1, 0, b, need, TESSERA_ERR_INVALID_ARGUMENT, "stride SIZE_MAX"},
        {s, packed, H, W, 0, 1, 0, b, need - 1, TESSERA_ERR_INVALID_ARGUMENT, "out one byte short"},
        {s, packed, H, W, 0, 0, 0, b, need, TESSERA_ERR_INVALID_ARGUMENT, "mode 0"},
        {s, packed, H, W, 0, 4, 0, b, need, TESSERA_ERR_INVALID_ARGUMENT, "mode 4"},
        {s, packed, H, W, 0, 1, 3, b, need, TESSERA_ERR_INVALID_ARGUMENT, "resample 3"},
        {s, packed, H, W, 0, 1, -1, b, need, TESSERA_ERR_INVALID_ARGUMENT, "resample -1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tessera_status st = tessera_preprocess_rgb8(bad[i].s, bad[i].rgb, bad[i].h, bad[i].w, bad[i].stride, bad[i].mode,
                                                    bad[i].r, bad[i].out, bad[i].n);
        char what[160];
        snprintf(what, sizeof what, "preprocess with %s -> %s", bad[i].what, tessera_status_string(st));
        check(st == bad[i].want && tessera_last_error()[0] != '\0', what, tessera_last_error());
    }
    free(a); free(b);
    tessera_session_free(s);
    tessera_model_free(m);
}

/* tessera_session_options_init, the 48-byte struct older programs get from
 * tessera_session_default_options, and the precision field. */
static void test_options_and_precision(const char *dir) {
    char path[1024], msg[256];
    snprintf(path, sizeof path, "%s/vit_hf", dir);
    tessera_model *m = NULL;
    if (!check(tessera_model_load(path, &m) == TESSERA_OK, "load vit_hf", tessera_last_error())) return;

    check(tessera_session_options_init(NULL, sizeof(tessera_session_options)) == TESSERA_ERR_INVALID_ARGUMENT,
          "options_init(NULL) is an invalid argument", tessera_last_error());
    unsigned char raw[256];
    tessera_session_options *o = (tessera_session_options *)(void *)raw;
    check(tessera_session_options_init(o, 4) == TESSERA_ERR_INVALID_ARGUMENT, "options_init(size 4) is refused", tessera_last_error());
    check(tessera_session_options_init(o, (size_t)1 << 20) == TESSERA_ERR_INVALID_ARGUMENT, "options_init(1 MiB) is refused", tessera_last_error());
    memset(raw, 0xab, sizeof raw);
    check(tessera_session_options_init(o, sizeof *o) == TESSERA_OK, "options_init(sizeof)", tessera_last_error());
    check(o->struct_size == sizeof *o && o->batch == 1 && o->height == 0 && o->width == 0 && o->num_threads == 0 &&
          o->layers_mask == 0 && o->max_arena_bytes == 0 && o->isa == TESSERA_ISA_AUTO && o->outputs == 0 &&
          o->precision == TESSERA_PRECISION_FP32 && o->reserved == 0, "options_init gives the defaults", NULL);
    check(raw[sizeof *o] == 0xab, "options_init writes nothing past struct_size", NULL);
    /* An older, shorter struct: only its bytes are written. */
    memset(raw, 0xab, sizeof raw);
    check(tessera_session_options_init(o, 48) == TESSERA_OK && o->struct_size == 48 && o->batch == 1 && raw[48] == 0xab,
          "options_init(48) fills the 0.2 struct only", NULL);
    /* A newer, longer struct: zeros past this library's fields, accepted. */
    memset(raw, 0xab, sizeof raw);
    check(tessera_session_options_init(o, 100) == TESSERA_OK && o->struct_size == 100 && raw[99] == 0 && raw[100] == 0xab,
          "options_init(100) zeroes the fields it does not know", NULL);
    tessera_session *s = NULL;
    check(tessera_session_create(m, o, &s) == TESSERA_OK, "a longer struct from options_init creates a session", tessera_last_error());
    tessera_session_free(s); s = NULL;

    /* What a 0.1/0.2 program gets from the library's symbol: 48 bytes. */
    tessera_session_options_48 old = (tessera_session_default_options)();
    check(old.struct_size == 48 && sizeof old == 48 && old.batch == 1 && old.outputs == 0,
          "tessera_session_default_options (the symbol) returns the 48-byte struct", NULL);
    check(tessera_session_create(m, (const tessera_session_options *)(const void *)&old, &s) == TESSERA_OK,
          "the 48-byte struct creates a session", tessera_last_error());
    tessera_session_info info; memset(&info, 0, sizeof info); info.struct_size = sizeof info;
    check(tessera_session_get_info(s, &info) == TESSERA_OK && info.precision == TESSERA_PRECISION_FP32 && info.int8_kernel[0] == 0,
          "... in fp32, with no int8 kernel", NULL);
    tessera_session_free(s); s = NULL;

    tessera_session_options p = tessera_session_default_options();
    check(p.struct_size == sizeof p && p.precision == TESSERA_PRECISION_FP32, "the header's default_options() is the current struct", NULL);
    int32_t bad[] = {2, -1, 1000};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p.precision = bad[i];
        tessera_status st = tessera_session_create(m, &p, &s);
        snprintf(msg, sizeof msg, "precision %d is an invalid argument (got %s)", bad[i], tessera_status_string(st));
        check(st == TESSERA_ERR_INVALID_ARGUMENT && s == NULL && strstr(tessera_last_error(), "precision") != NULL, msg, tessera_last_error());
    }
    p.precision = TESSERA_PRECISION_FP32; p.reserved = 7;
    check(tessera_session_create(m, &p, &s) == TESSERA_ERR_INVALID_ARGUMENT && s == NULL, "reserved must be 0", tessera_last_error());

    /* int8 against fp32 on the same input. */
    p.reserved = 0; p.batch = 2;
    tessera_session *f = NULL, *q = NULL;
    check(tessera_session_create(m, &p, &f) == TESSERA_OK, "fp32 session", tessera_last_error());
    p.precision = TESSERA_PRECISION_INT8;
    check(tessera_session_create(m, &p, &q) == TESSERA_OK, "int8 session", tessera_last_error());
    if (f && q) {
        memset(&info, 0, sizeof info); info.struct_size = sizeof info;
        tessera_session_get_info(q, &info);
        snprintf(msg, sizeof msg, "int8 session info: precision %d, kernel \"%s\", %zu weight bytes",
                 info.precision, info.int8_kernel, info.int8_weight_bytes);
        check(info.precision == TESSERA_PRECISION_INT8 && info.int8_kernel[0] != 0 && info.int8_weight_bytes > 0, msg, NULL);
        size_t px = (size_t)2 * 3 * info.height * info.width;
        uint8_t *u = malloc(px);
        for (size_t i = 0; i < px; i++) u[i] = (uint8_t)(i * 13 + (i >> 7));
        check(tessera_run_rgb8(f, u, 2) == TESSERA_OK && tessera_run_rgb8(q, u, 2) == TESSERA_OK, "both run", tessera_last_error());
        size_t n1 = 0, n2 = 0; tessera_status st;
        float *a = copy_out(f, TESSERA_OUTPUT_EMBEDDING, &n1, &st), *b = copy_out(q, TESSERA_OUTPUT_EMBEDDING, &n2, &st);
        if (check(a && b && n1 == n2, "embeddings of both", NULL)) {
            double ab = 0, aa = 0, bb = 0;
            for (size_t i = 0; i < n1; i++) { ab += (double)a[i] * b[i]; aa += (double)a[i] * a[i]; bb += (double)b[i] * b[i]; }
            snprintf(msg, sizeof msg, "int8 embedding close to fp32 (cosine %.6f)", ab / (sqrt(aa * bb) + 1e-30));
            check(ab / (sqrt(aa * bb) + 1e-30) > 0.99, msg, NULL);
        }
        free(a); free(b); free(u);
    }
    tessera_session_free(f); tessera_session_free(q);
    tessera_model_free(m);
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s FIXTURES_DIR\n", argv[0]); return 2; }
    const char *fixtures[] = {"vit_hf", "dinov2_reg_hf", "deit_distilled_hf", "vit_timm", "dinov2_hf"};
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) test_fixture(argv[1], fixtures[i]);
    test_arguments(argv[1]);
    test_preprocess(argv[1]);
    test_options_and_precision(argv[1]);
    printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed != 0;
}
