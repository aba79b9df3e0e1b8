/* The body of a row quantizer, included once per CPU feature after
 * defining QUANT_FN, QUANT_ATTR, W (floats per vector), VF (float vector),
 * VLOAD(p), VSET1(x), VMIN, VMAX, VMUL, VADD, VHMIN(v), VHMAX(v) (lane
 * reductions), VSTORE_BYTES(p, v) (round to nearest even, each lane's
 * integer as a byte, lanes hold 0...levels; every 4 bytes 48 apart, as the
 * 12-row panels lay them out); it undefines them at its end. Every operation is exact or
 * rounded the same way in each version, so all write the same bytes. */
QUANT_ATTR void QUANT_FN(const float *x, ptrdiff_t k, ptrdiff_t kpad, float levels,
                         uint8_t *q, float *scale, int32_t *zero) {
    ptrdiff_t kv = k - k % W, i = 0;
    VF lo = VSET1(0.0f), hi = VSET1(0.0f);
    for (; i < kv; i += W) { VF v = VLOAD(x + i); lo = VMIN(lo, v); hi = VMAX(hi, v); }
    float mn = VHMIN(lo), mx = VHMAX(hi);
    for (; i < k; i++) { mn = x[i] < mn ? x[i] : mn; mx = x[i] > mx ? x[i] : mx; }
    float s = mx > mn ? (mx - mn) / levels : 1.0f;
    float inv = 1.0f / s;
    float z = rint_even(-mn * inv);
    z = z >= 0 ? (z <= levels ? z : levels) : 0; /* NaN: 0 */
    *scale = s;
    *zero = (int32_t)z;
    VF vi = VSET1(inv), vz = VSET1(z), v0 = VSET1(0.0f), vl = VSET1(levels);
    /* Byte i of the row is at q + (i / 4) * 48 + i % 4. */
    for (i = 0; i < kv; i += W) VSTORE_BYTES(q + i * TESSERA_I8_PANEL_ROWS, VMIN(VMAX(VADD(VMUL(VLOAD(x + i), vi), vz), v0), vl));
    for (; i < k; i++) {
        float v = x[i] * inv + z;
        v = v > 0 ? v : 0;
        v = v < levels ? v : levels;
        q[(i / 4) * 4 * TESSERA_I8_PANEL_ROWS + i % 4] = (uint8_t)rint_even(v);
    }
    for (; i < kpad; i++) q[(i / 4) * 4 * TESSERA_I8_PANEL_ROWS + i % 4] = 0;
}

/* The parameters are the includer's to define again for the next version. */
#undef QUANT_FN
#undef QUANT_ATTR
#undef W
#undef VF
#undef VLOAD
#undef VSET1
#undef VMIN
#undef VMAX
#undef VMUL
#undef VADD
#undef VHMIN
#undef VHMAX
#undef VSTORE_BYTES
