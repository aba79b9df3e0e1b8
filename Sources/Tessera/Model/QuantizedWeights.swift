import TesseraKernelCore

/// The int8 copies of every block's Linear weights (qkv, proj, fc1, fc2), as
/// `Int8Layout` packs them: per output channel, symmetric. Made once from
/// the fp32 weights (the file's, or the packed ones), at a model's first
/// int8 session; no calibration data. The patch embedding and the heads
/// stay fp32. qkv and fc1 read a LayerNorm's output: their columns are
/// smoothed (`InputSmoothing`), and the block's int8 norms are the fp32
/// ones divided by the same factors.
final class QuantizedWeights {
    struct Block {
        let qkv: Int8Weights, proj: Int8Weights, fc1: Int8Weights, fc2: Int8Weights
        /// norm1 and norm2 for int8 sessions: γ / s and β / s of the
        /// smoothing factors of qkv's and fc1's columns.
        let norm1: NormWeights, norm2: NormWeights
    }

    let blocks: [Block]
    private let storage: AlignedBuffer
    var bytes: Int { storage.count * 4 }

    /// The [N, K] shapes of a block's four Linear weights.
    static func shapes(_ s: ModelSpec) -> [(n: Int, k: Int)] {
        [(3 * s.hidden, s.hidden), (s.hidden, s.hidden), ((s.gatedMLP ? 2 : 1) * s.mlp, s.hidden), (s.hidden, s.mlp)]
    }

    /// `rowMajor(key, n, k, body)` hands `body` the weight W [n, k] row-major;
    /// `norms` are the blocks' fp32 norms.
    init(spec s: ModelSpec, norms: [(NormWeights, NormWeights)],
         rowMajor: (WeightKey, Int, Int, (UnsafePointer<Float>) -> Void) throws -> Void) throws {
        // Per weight: packed bytes, then scales and sums (one per padded
        // column), each part starting on a cache line.
        func floats(_ n: Int, _ k: Int) -> Int {
            let np = Int8Layout.paddedColumns(n)
            return (Int8Layout.packedBytes(n: n, k: k) / 4 + 15) / 16 * 16 + 2 * ((np + 15) / 16 * 16)
        }
        let shapes = QuantizedWeights.shapes(s)
        let normFloats = (s.hidden + 15) / 16 * 16
        let perBlock = shapes.reduce(0) { $0 + floats($1.n, $1.k) } + 4 * normFloats
        storage = try AlignedBuffer(floats: perBlock * s.layers)
        var at = storage.pointer
        /// Quantizes W, its columns multiplied by the smoothing factors of
        /// `norm` when given; returns the int8 weight and the norm divided by them.
        func quantize(_ key: WeightKey, _ n: Int, _ k: Int, smoothing norm: NormWeights? = nil) throws -> (Int8Weights, NormWeights?) {
            let np = Int8Layout.paddedColumns(n)
            let packed = UnsafeMutableRawPointer(at).bindMemory(to: Int8.self, capacity: Int8Layout.packedBytes(n: n, k: k))
            let scales = at + (Int8Layout.packedBytes(n: n, k: k) / 4 + 15) / 16 * 16
            let sums = UnsafeMutableRawPointer(scales + (np + 15) / 16 * 16).bindMemory(to: Int32.self, capacity: np)
            var factors = [Float](repeating: 1, count: k)
            try rowMajor(key, n, k) { w in
                if let norm {
                    factors = InputSmoothing.factors(gamma: norm.weight, beta: norm.bias, weight: w, n: n, k: k)
                }
                factors.withUnsafeBufferPointer { f in
                    Int8Layout.quantizeWeights(n: n, k: k, weight: { w[$0 * k + $1] * f[$1] }, packed: packed, scales: scales, sums: sums)
                }
            }
            at += floats(n, k)
            let weights = Int8Weights(packed: packed, scales: scales, sums: sums)
            guard let norm else { return (weights, nil) }
            let gamma = at, beta = at + normFloats
            for j in 0..<k {
                gamma[j] = norm.weight[j] / factors[j]
                beta[j] = norm.bias[j] / factors[j]
            }
            at += 2 * normFloats
            return (weights, NormWeights(weight: gamma, bias: beta))
        }
        blocks = try (0..<s.layers).map { i in
            let (qkv, norm1) = try quantize(.block(i, .qkvWeight), shapes[0].n, shapes[0].k, smoothing: norms[i].0)
            let (fc1, norm2) = try quantize(.block(i, .fc1Weight), shapes[2].n, shapes[2].k, smoothing: norms[i].1)
            return Block(qkv: qkv, proj: try quantize(.block(i, .projWeight), shapes[1].n, shapes[1].k).0,
                         fc1: fc1, fc2: try quantize(.block(i, .fc2Weight), shapes[3].n, shapes[3].k).0,
                         norm1: norm1!, norm2: norm2!)
        }
    }
}
