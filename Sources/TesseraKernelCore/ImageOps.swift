/// Input conversions and patch extraction: plain loops, since they touch each
/// input byte once and are a small fraction of a run.
public enum ImageOps {
    /// uint8 RGB HWC → normalized float CHW: ((x / 255) − mean) / std, in the
    /// same order of operations as the reference preprocessors.
    public static func normalizeRGB8(_ src: UnsafePointer<UInt8>, height: Int, width: Int,
                                     mean: (Float, Float, Float), std: (Float, Float, Float),
                                     into dst: UnsafeMutablePointer<Float>) {
        let plane = height * width
        // One channel at a time; a tuple, not an array, so that this never
        // allocates (it runs inside `run`).
        func channel(_ c: Int, _ mc: Float, _ sc: Float) {
            let out = dst + c * plane
            for i in 0..<plane {
                out[i] = (Float(src[i * 3 + c]) / 255 - mc) / sc
            }
        }
        channel(0, mean.0, std.0)
        channel(1, mean.1, std.1)
        channel(2, mean.2, std.2)
    }

    /// Extracts the non-overlapping patches of one CHW image as rows of a
    /// matrix [gridH * gridW, channels * patch * patch], ordered (c, ky, kx)
    /// like a PyTorch Conv2d weight, so that patch embedding is one GEMM.
    public static func im2col(_ src: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                              patch: Int, into dst: UnsafeMutablePointer<Float>) {
        let gh = height / patch, gw = width / patch
        let k = channels * patch * patch
        for py in 0..<gh {
            for px in 0..<gw {
                var d = dst + (py * gw + px) * k
                for c in 0..<channels {
                    for ky in 0..<patch {
                        let row = src + (c * height + py * patch + ky) * width + px * patch
                        d.update(from: row, count: patch)
                        d += patch
                    }
                }
            }
        }
    }
}
