/* A program written against tessera.h 0.1.0 (tests/c/abi/tessera-0.1.0.h, a
 * frozen copy) runs unchanged against this library, whose structs have grown
 * since: its options (which know nothing of `outputs`) give every output,
 * its info structs are filled as far as they reach.
 * Usage: test_abi_0_1 MODEL_DIR */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tessera-0.1.0.h"

static int passed, failed;
static void check(int ok, const char *what) {
    if (ok) passed++; else { failed++; printf("FAIL %s: %s\n", what, tessera_last_error()); }
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s MODEL_DIR\n", argv[0]); return 2; }
    printf("header %s, library %s\n", TESSERA_VERSION_STRING, tessera_version());
    check(strcmp(tessera_version(), TESSERA_VERSION_STRING) != 0, "the library is newer than this header");
    tessera_model *m = NULL;
    check(tessera_model_load(argv[1], &m) == TESSERA_OK, "load");
    if (!m) return 1;
    tessera_model_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    check(tessera_model_get_info(m, &info) == TESSERA_OK && info.struct_size == sizeof info && info.hidden_size > 0,
          "model info of the 0.1.0 size");
    /* Every struct_size a 0.1.0 caller could pass, from the end of batch on. */
    for (size_t size = offsetof(tessera_session_options, batch) + 4; size <= sizeof(tessera_session_options); size += 4) {
        tessera_session_options o = tessera_session_default_options();
        o.struct_size = size;
        o.layers_mask = 1;
        tessera_session *s = NULL;
        char what[96];
        snprintf(what, sizeof what, "0.1.0 options with struct_size %zu", size);
        check(tessera_session_create(m, &o, &s) == TESSERA_OK && s != NULL, what);
        if (!s) continue;
        size_t px = (size_t)info.image_height * info.image_width * 3;
        uint8_t *pixels = calloc(px, 1);
        check(tessera_run_rgb8(s, pixels, 1) == TESSERA_OK, "run");
        /* Every final output is there, and block 0 when the mask was within the size. */
        tessera_output want[] = {TESSERA_OUTPUT_EMBEDDING, TESSERA_OUTPUT_PATCH_TOKENS, TESSERA_OUTPUT_LAYER(0)};
        for (int k = 0; k < 3; k++) {
            int64_t shape[4]; int32_t rank = 0;
            tessera_status st = tessera_output_shape(s, want[k], shape, &rank);
            int mask_seen = size >= offsetof(tessera_session_options, layers_mask) + 8;
            if (want[k] == TESSERA_OUTPUT_LAYER(0) && !mask_seen)
                check(st == TESSERA_ERR_UNAVAILABLE, "block 0 not asked for when the mask is past struct_size");
            else
                check(st == TESSERA_OK && shape[0] == 1, what);
        }
        if (info.num_classes > 0) {
            int64_t shape[4]; int32_t rank = 0;
            check(tessera_output_shape(s, TESSERA_OUTPUT_LOGITS, shape, &rank) == TESSERA_OK, "logits");
        }
        free(pixels);
        tessera_session_free(s);
    }
    tessera_model_free(m);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
