/* The body of a row quantizer, included once per CPU feature after
 * defining QUANT_FN, QUANT_PARAMS, QUANT_ROTATE, QUANT_ATTR, W (floats per
 * vector), VF (float vector), VB (a vector of bytes), VLOAD(p), VSTOREF(p,
 * v), VSET1(x), VMIN, VMAX, VMUL, VADD, VSUB, VSETSIGNS(h) (+1 in the lanes
 * whose bit h is clear, -1 where it is set), VSWAP(v, h) (lane i gets lane
 * i ^ h, for h < W), VSIGNADD(v, s, u) (v * s + u, s = +-1: a fused
 * multiply-add where there is one, the same sum either way),
 * VHMIN(v), VHMAX(v) (lane reductions), VBYTES(v) (round to nearest even,
 * each lane's integer, 0...levels, as a byte: W bytes in a VB), and
 * VSTORE4(p, b0, b1, b2, b3) (the W bytes of four consecutive rows of a
 * panel: for each group of 4 k, the four rows' 4 bytes side by side, 16
 * bytes, each next group 48 bytes on); it undefines them at its end. Every
 * operation is exact or rounded the same way in each version, so all write
 * the same bytes. */

/* The butterflies of pairs less than W apart, within one vector:
 * y = swap(v) + signs * v, which is the same sum or difference as the
 * scalar x_i + x_{i+h}, x_i - x_{i+h} (a product by +-1 is exact). */
QUANT_ATTR static inline VF QUANT_LANES(VF v) {
#if W >= 16
    v = VSIGNADD(v, VSETSIGNS(8), VSWAP(v, 8));
#endif
#if W >= 8
    v = VSIGNADD(v, VSETSIGNS(4), VSWAP(v, 4));
#endif
    v = VSIGNADD(v, VSETSIGNS(2), VSWAP(v, 2));
    return VSIGNADD(v, VSETSIGNS(1), VSWAP(v, 1));
}

/* Rotates a row in place: each `block` floats (a power of two, at least W;
 * k a multiple of it) times the first `block` rotation signs, then their
 * Walsh-Hadamard transform (unnormalized): butterflies x_i, x_{i+h} ->
 * x_i + x_{i+h}, x_i - x_{i+h} for h = block/2 down to 1. Pairs 8 or more
 * vectors apart go through memory (only SSE2 and AVX2 have them in a block
 * of 128), and so do all pairs of whole vectors in a block of fewer than 8;
 * otherwise each 8 vectors are held in registers from load to store, their
 * pairs of whole vectors added and subtracted; the pairs within a vector
 * go by QUANT_LANES. Every version writes the same floats. */
QUANT_ATTR static void QUANT_ROTATE(float *x, ptrdiff_t k, ptrdiff_t block) {
    const ptrdiff_t n = block / W, held = n >= 8 ? 8 : 1;
    for (ptrdiff_t b = 0; b < k; b += block) {
        float *p = x + b;
        int signs = 1; /* still to be applied */
        for (ptrdiff_t h = n / 2; h >= held; h /= 2) {
            for (ptrdiff_t j = 0; j < n; j += 2 * h)
                for (ptrdiff_t i = j; i < j + h; i++) {
                    VF u = VLOAD(p + i * W), v = VLOAD(p + (i + h) * W);
                    if (signs) {
                        u = VMUL(u, VLOAD(rotation_signs + i * W));
                        v = VMUL(v, VLOAD(rotation_signs + (i + h) * W));
                    }
                    VSTOREF(p + i * W, VADD(u, v));
                    VSTOREF(p + (i + h) * W, VSUB(u, v));
                }
            signs = 0;
        }
        if (held == 8) {
            for (ptrdiff_t s0 = 0; s0 < n; s0 += 8) {
                float *q = p + s0 * W;
                VF v[8];
                for (int i = 0; i < 8; i++)
                    v[i] = signs ? VMUL(VLOAD(q + i * W), VLOAD(rotation_signs + (s0 + i) * W)) : VLOAD(q + i * W);
                for (int h = 4; h >= 1; h /= 2)
                    for (int j = 0; j < 8; j += 2 * h)
                        for (int i = j; i < j + h; i++) {
                            VF u = v[i], t = v[i + h];
                            v[i] = VADD(u, t);
                            v[i + h] = VSUB(u, t);
                        }
                for (int i = 0; i < 8; i++) VSTOREF(q + i * W, QUANT_LANES(v[i]));
            }
        } else {
            /* A block of fewer than 8 vectors: its pairs of vectors went
             * through memory above (signs too, unless it is one vector). */
            for (ptrdiff_t i = 0; i < n; i++) {
                VF v = VLOAD(p + i * W);
                if (signs) v = VMUL(v, VLOAD(rotation_signs + i * W));
                VSTOREF(p + i * W, QUANT_LANES(v));
            }
        }
    }
}

/* One row's scale and zero point: scale = (max - min) / levels over the row
 * with 0 included (1 for a row of zeros), zero = round(-min / scale). */
QUANT_ATTR static inline void QUANT_PARAMS(const float *x, ptrdiff_t k, float levels,
                                          float *inv, float *z, float *scale, int32_t *zero) {
    ptrdiff_t kv = k - k % W, i = 0;
    VF lo = VSET1(0.0f), hi = VSET1(0.0f);
    for (; i < kv; i += W) { VF v = VLOAD(x + i); lo = VMIN(lo, v); hi = VMAX(hi, v); }
    float mn = VHMIN(lo), mx = VHMAX(hi);
    for (; i < k; i++) { mn = x[i] < mn ? x[i] : mn; mx = x[i] > mx ? x[i] : mx; }
    float s = mx > mn ? (mx - mn) / levels : 1.0f;
    *inv = 1.0f / s;
    float zz = rint_even(-mn * *inv);
    *z = zz >= 0 ? (zz <= levels ? zz : levels) : 0; /* NaN: 0 */
    *scale = s;
    *zero = (int32_t)*z;
}

QUANT_ATTR void QUANT_FN(float *x, ptrdiff_t ldx, ptrdiff_t rows, ptrdiff_t k, ptrdiff_t kpad,
                         ptrdiff_t rotation, float levels, uint8_t *q, float *scale, int32_t *zero) {
    const float *xr[4];
    float inv[4], z[4];
    for (int r = 0; r < 4; r++) {
        if (r < rows) {
            xr[r] = x + r * ldx;
            if (rotation) QUANT_ROTATE(x + r * ldx, k, rotation);
            QUANT_PARAMS(xr[r], k, levels, &inv[r], &z[r], &scale[r], &zero[r]);
        } else {
            /* A row past the matrix: row 0's values times 0 plus 0, clamped
             * (max(NaN, 0) is 0), so its bytes are 0. */
            xr[r] = x; inv[r] = 0; z[r] = 0;
        }
    }
    ptrdiff_t kv = k - k % W, i = 0;
    VF v0 = VSET1(0.0f), vl = VSET1(levels);
    VF vi0 = VSET1(inv[0]), vi1 = VSET1(inv[1]), vi2 = VSET1(inv[2]), vi3 = VSET1(inv[3]);
    VF vz0 = VSET1(z[0]), vz1 = VSET1(z[1]), vz2 = VSET1(z[2]), vz3 = VSET1(z[3]);
#define QUANT_ONE(r) VBYTES(VMIN(VMAX(VADD(VMUL(VLOAD(xr[r] + i), vi##r), vz##r), v0), vl))
    for (; i < kv; i += W) {
        VB b0 = QUANT_ONE(0), b1 = QUANT_ONE(1), b2 = QUANT_ONE(2), b3 = QUANT_ONE(3);
        VSTORE4(q + i * TESSERA_I8_PANEL_ROWS, b0, b1, b2, b3);
    }
#undef QUANT_ONE
    for (; i < k; i++) {
        for (int r = 0; r < 4; r++) {
            float v = xr[r][i] * inv[r] + z[r];
            v = v > 0 ? v : 0;
            v = v < levels ? v : levels;
            q[(i / 4) * 4 * TESSERA_I8_PANEL_ROWS + 4 * r + i % 4] = (uint8_t)rint_even(v);
        }
    }
    for (; i < kpad; i++)
        for (int r = 0; r < 4; r++) q[(i / 4) * 4 * TESSERA_I8_PANEL_ROWS + 4 * r + i % 4] = 0;
}

/* The parameters are the includer's to define again for the next version. */
#undef QUANT_FN
#undef QUANT_PARAMS
#undef QUANT_ROTATE
#undef QUANT_LANES
#undef QUANT_ATTR
#undef W
#undef VF
#undef VB
#undef VLOAD
#undef VSTOREF
#undef VSUB
#undef VSETSIGNS
#undef VSWAP
#undef VSIGNADD
#undef VSET1
#undef VMIN
#undef VMAX
#undef VMUL
#undef VADD
#undef VHMIN
#undef VHMAX
#undef VBYTES
#undef VSTORE4
