/* The body of a vector int8 tile, included once per CPU feature after
 * defining: TILE_FN (name), TILE_ATTR (its target attribute), VEC (vector
 * type), W (int32 lanes per VEC), MR (rows), VZERO(), VLOADB(p) (W*4 bytes of
 * B), VBCAST(p) (4 bytes of A to every lane), VDOT(acc, a, b) (acc + the
 * 4-byte dot products of unsigned a and signed b per lane), VSTORE(p, v)
 * (W int32). The tile is MR x 2W: two vectors of columns per row. */
TILE_ATTR void TILE_FN(ptrdiff_t kp, const uint8_t *a, const int8_t *b,
                       ptrdiff_t bnext, int32_t *out, ptrdiff_t ldo) {
    VEC acc0[MR], acc1[MR];
    for (int r = 0; r < MR; r++) { acc0[r] = VZERO(); acc1[r] = VZERO(); }
    const uint8_t *pa = a;
    const int8_t *pb = b;
    for (ptrdiff_t k = 0; k < kp; k += 4) {
        /* Weights 8 groups (512 bytes of each panel) ahead: they stream from L2. */
        __builtin_prefetch(pb + 512, 0, 3);
        __builtin_prefetch(pb + bnext + 512, 0, 3);
        VEC b0 = VLOADB(pb), b1 = VLOADB(pb + bnext);
#pragma clang loop unroll(full)
        for (int r = 0; r < MR; r++) {
            VEC x = VBCAST(pa + 4 * r);
            acc0[r] = VDOT(acc0[r], x, b0);
            acc1[r] = VDOT(acc1[r], x, b1);
        }
        pa += 4 * TESSERA_I8_PANEL_ROWS;
        pb += 64;
    }
    for (int r = 0; r < MR; r++) {
        VSTORE(out + r * ldo, acc0[r]);
        VSTORE(out + r * ldo + W, acc1[r]);
    }
}
