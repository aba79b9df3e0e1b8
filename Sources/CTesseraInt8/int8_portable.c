/* The 4 x 8 tile in plain C: the baseline, and the twin the vector tiles'
 * layout arithmetic is read against. */
#include "tessera_int8.h"

void tessera_i8_tile_portable_4x8(ptrdiff_t kp, const uint8_t *a, const int8_t *b,
                                  ptrdiff_t bnext, int32_t *out, ptrdiff_t ldo) {
    int32_t acc[4][8] = {{0}};
    for (ptrdiff_t k = 0; k < kp; k += 4) {
        const int8_t *g = b + k * 16;
        for (int r = 0; r < 4; r++) {
            const uint8_t *x = a + (k / 4) * 4 * TESSERA_I8_PANEL_ROWS + 4 * r;
            for (int c = 0; c < 8; c++) {
                const int8_t *y = c < 4 ? g + 4 * c : g + bnext + 4 * (c - 4);
                acc[r][c] += (int32_t)x[0] * y[0] + (int32_t)x[1] * y[1] + (int32_t)x[2] * y[2] + (int32_t)x[3] * y[3];
            }
        }
    }
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 8; c++) out[r * ldo + c] = acc[r][c];
}
