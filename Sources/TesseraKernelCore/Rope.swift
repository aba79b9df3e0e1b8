#if canImport(Glibc)
import Glibc
#endif

/// 2-D rotary position embedding (DINOv3) applied in place to the q and k
/// parts of a row-major [images × tokens, 3 × hidden] QKV buffer, for the
/// patch tokens only (the first `prefix` tokens of each image are left as
/// they are). Each head's vector x of `headDim` floats becomes
/// x·cos + rotate_half(x)·sin, rotate_half(x) = [−x₂, x₁] for its halves.
public struct RopeArgs {
    public var qkv: UnsafeMutablePointer<Float>
    /// Floats between rows of `qkv` (3 × hidden).
    public var ld: Int
    public var images: Int
    public var tokens: Int
    public var prefix: Int
    public var heads: Int
    public var headDim: Int
    /// Where k starts in a row (hidden).
    public var kOffset: Int
    /// [patches, headDim] each, patches = tokens − prefix.
    public var cos: UnsafePointer<Float>
    public var sin: UnsafePointer<Float>

    public init(qkv: UnsafeMutablePointer<Float>, ld: Int, images: Int, tokens: Int, prefix: Int, heads: Int,
                headDim: Int, kOffset: Int, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>) {
        self.qkv = qkv; self.ld = ld; self.images = images; self.tokens = tokens; self.prefix = prefix
        self.heads = heads; self.headDim = headDim; self.kOffset = kOffset; self.cos = cos; self.sin = sin
    }
}

/// The cos and sin tables of DINOv3's RoPE for one patch grid, as the
/// references build them (transformers' DINOv3ViTRopePositionEmbedding,
/// timm's RotaryEmbeddingDinoV3, inference mode):
/// - patch centre coordinates per axis, (i + 0.5) / n · 2 − 1;
/// - periods θ^(4k / headDim) for k < headDim / 4;
/// - angle 2π · coord / period; per head [y angles, x angles] twice.
public enum RopeTable {
    public static func floats(gridH: Int, gridW: Int, headDim: Int) -> Int { gridH * gridW * headDim }

    /// Fills `cos` and `sin`, each [gridH · gridW, headDim], row-major patches.
    /// Angles are computed in fp32 as the references do, cos and sin in
    /// double and rounded.
    public static func build(gridH: Int, gridW: Int, headDim: Int, theta: Float,
                             cosTable: UnsafeMutablePointer<Float>, sinTable: UnsafeMutablePointer<Float>) {
        let quarter = headDim / 4
        var inverse = [Float](repeating: 0, count: quarter)
        for k in 0..<quarter {
            // 1 / θ^(k · 4/headDim) in fp32, the exponent as torch.arange(0, 1, 4/headDim) gives it.
            let exponent = Float(k) * (Float(4) / Float(headDim))
            inverse[k] = 1 / Float(pow(Double(theta), Double(exponent)))
        }
        let twoPi = Float(2 * Double.pi)
        for y in 0..<gridH {
            for x in 0..<gridW {
                let cy = 2 * ((Float(y) + 0.5) / Float(gridH)) - 1
                let cx = 2 * ((Float(x) + 0.5) / Float(gridW)) - 1
                let row = (y * gridW + x) * headDim
                for half in 0..<2 {
                    for k in 0..<quarter {
                        let ay = twoPi * cy * inverse[k], ax = twoPi * cx * inverse[k]
                        let j = row + half * 2 * quarter
                        cosTable[j + k] = Float(cos(Double(ay))); sinTable[j + k] = Float(sin(Double(ay)))
                        cosTable[j + quarter + k] = Float(cos(Double(ax))); sinTable[j + quarter + k] = Float(sin(Double(ax)))
                    }
                }
            }
        }
    }
}

/// y = silu(gate) ⊙ up over rows whose first `n` floats are the gate and the
/// next `n` the up projection (one GEMM of both): SwiGLU's middle.
public struct SwiGLUArgs {
    public var x: UnsafePointer<Float>
    public var ldx: Int
    public var y: UnsafeMutablePointer<Float>
    public var ldy: Int
    public var rows: Int
    public var n: Int

    public init(x: UnsafePointer<Float>, ldx: Int, y: UnsafeMutablePointer<Float>, ldy: Int, rows: Int, n: Int) {
        self.x = x; self.ldx = ldx; self.y = y; self.ldy = ldy; self.rows = rows; self.n = n
    }
}
