/* The body of an int8 peak probe, included after the tile body's macros with
 * PROBE_FN defined: 12 independent chains of VDOT, `iterations` rounds.
 * Returns a value the caller ignores, so that the work is not removed. */
TILE_ATTR int32_t PROBE_FN(ptrdiff_t iterations) {
    VEC acc[12];
    for (int r = 0; r < 12; r++) acc[r] = VZERO();
    int32_t seed[16 * 4] = {0};
    seed[0] = 0x01020304;
    VEC x = VBCAST(seed), y = VLOADB(seed);
    for (ptrdiff_t i = 0; i < iterations; i++) {
        /* Each chain's dot product must be its own instruction: with one
         * (x, y) for all, the compiler computes a vpmaddubsw pair once and
         * the probe times the adds alone. */
#pragma clang loop unroll(full)
        for (int r = 0; r < 12; r++) {
            VEC xr = x;
            __asm__ volatile("" : "+x"(xr));
            acc[r] = VDOT(acc[r], xr, y);
        }
        __asm__ volatile("" : "+x"(x));
    }
    int32_t out[16 * 2];
    int32_t s = 0;
    for (int r = 0; r < 12; r++) { VSTORE(out, acc[r]); s += out[0]; }
    return s;
}
