/// Resizing a position-embedding grid the way each reference does it. Runs
/// once per session at creation; written for exactness, not speed.
public enum PositionResize {
    public enum Mode: Int32, Sendable {
        /// `interpolate(size=, mode="bicubic", align_corners=False)`: a = −0.75.
        case bicubic = 1
        /// The same with `antialias=True`: PIL-like, a = −0.5, normalized taps.
        case bicubicAntialias = 2
        /// `interpolate(scale_factor=(n + 0.1) / M, mode="bicubic")`.
        case bicubicOffset = 3
    }

    /// Resizes `src`, a grid rows × cols × dim (token-major, as a
    /// position table is stored) to `outRows` × `outCols` × dim.
    /// `scratch` holds rows × outCols × dim floats (see `scratchFloats`).
    public static func resize(_ src: UnsafePointer<Float>, rows: Int, cols: Int, dim: Int,
                              outRows: Int, outCols: Int, mode: Mode,
                              into dst: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let wy = weights(inSize: rows, outSize: outRows, mode: mode)
        let wx = weights(inSize: cols, outSize: outCols, mode: mode)
        // Separable: width first into the scratch, then height.
        scratch.initialize(repeating: 0, count: rows * outCols * dim)
        let t = UnsafeMutableBufferPointer(start: scratch, count: rows * outCols * dim)
        do {
            for r in 0..<rows {
                for oc in 0..<outCols {
                    let (start, taps) = wx[oc]
                    let o = t.baseAddress! + (r * outCols + oc) * dim
                    for (i, wgt) in taps.enumerated() {
                        let s = src + (r * cols + start + i) * dim
                        for d in 0..<dim { o[d] += wgt * s[d] }
                    }
                }
            }
            for orow in 0..<outRows {
                let (start, taps) = wy[orow]
                for oc in 0..<outCols {
                    let o = dst + (orow * outCols + oc) * dim
                    for d in 0..<dim { o[d] = 0 }
                    for (i, wgt) in taps.enumerated() {
                        let s = t.baseAddress! + ((start + i) * outCols + oc) * dim
                        for d in 0..<dim { o[d] += wgt * s[d] }
                    }
                }
            }
        }
    }

    public static func scratchFloats(rows: Int, outCols: Int, dim: Int) -> Int { rows * outCols * dim }

    /// For each output index: the first input index and its tap weights
    /// (indices already clamped into range and merged).
    static func weights(inSize: Int, outSize: Int, mode: Mode) -> [(Int, [Float])] {
        switch mode {
        case .bicubic, .bicubicOffset:
            // PyTorch: src = (dst + 0.5) * scale − 0.5, scale = in/out for
            // size=, 1/scale_factor for scale_factor=; taps at floor(src)−1 …
            // floor(src)+2 clamped to the edges; cubic with a = −0.75.
            let scale: Float
            if mode == .bicubic {
                scale = Float(inSize) / Float(outSize)
            } else {
                let factor = (Double(outSize) + 0.1) / Double(inSize)
                scale = Float(1.0 / factor)
            }
            return (0..<outSize).map { o in
                let srcPos = (Float(o) + 0.5) * scale - 0.5
                let fl = srcPos.rounded(.down)
                let t = srcPos - fl
                let i0 = Int(fl)
                let a: Float = -0.75
                let c = [cubic2(t + 1, a), cubic1(t, a), cubic1(1 - t, a), cubic2(2 - t, a)]
                var w = [Float](repeating: 0, count: inSize)
                for k in 0..<4 {
                    let idx = min(max(i0 - 1 + k, 0), inSize - 1)
                    w[idx] += c[k]
                }
                return compact(w)
            }
        case .bicubicAntialias:
            // PyTorch's separable antialiased resampler: support 2 (×scale
            // when shrinking), taps normalized to sum 1, a = −0.5.
            let scale = Float(inSize) / Float(outSize)
            let support: Float = scale >= 1 ? 2 * scale : 2
            let invscale: Float = scale >= 1 ? 1 / scale : 1
            return (0..<outSize).map { o in
                let center = scale * (Float(o) + 0.5)
                let xmin = max(Int(center - support + 0.5), 0)
                let xsize = min(Int(center + support + 0.5), inSize) - xmin
                var taps = [Float](repeating: 0, count: max(0, xsize))
                var total: Float = 0
                for j in 0..<max(0, xsize) {
                    let x = abs((Float(j + xmin) - center + 0.5) * invscale)
                    let wgt: Float = x < 1 ? cubic1(x, -0.5) : (x < 2 ? cubic2(x, -0.5) : 0)
                    taps[j] = wgt
                    total += wgt
                }
                if total != 0 { for j in taps.indices { taps[j] /= total } }
                return (xmin, taps)
            }
        }
    }

    static func compact(_ w: [Float]) -> (Int, [Float]) {
        guard let first = w.firstIndex(where: { $0 != 0 }),
              let last = w.lastIndex(where: { $0 != 0 }) else { return (0, []) }
        return (first, Array(w[first...last]))
    }

    /// Keys' cubic convolution for |x| ≤ 1 and 1 < |x| < 2.
    @inline(__always) static func cubic1(_ x: Float, _ a: Float) -> Float {
        ((a + 2) * x - (a + 3)) * x * x + 1
    }
    @inline(__always) static func cubic2(_ x: Float, _ a: Float) -> Float {
        ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    }
}
