import TesseraKernelCore

/// The int8 copies of every block's Linear weights (qkv, proj, fc1, fc2), as
/// `Int8Layout` packs them: per output channel, symmetric. Made once from
/// the fp32 weights (the file's, or the packed ones), at a model's first
/// int8 session; no calibration data. The patch embedding and the heads
/// stay fp32. Each weight's rows are rotated first (`Int8Rotation`), as the
/// activations they read are when quantized.
final class QuantizedWeights {
    struct Block {
        let qkv: Int8Weights, proj: Int8Weights, fc1: Int8Weights, fc2: Int8Weights
    }

    let blocks: [Block]
    private let storage: AlignedBuffer
    var bytes: Int { storage.count * 4 }

    /// The [N, K] shapes of a block's four Linear weights.
    static func shapes(_ s: ModelSpec) -> [(n: Int, k: Int)] {
        [(3 * s.hidden, s.hidden), (s.hidden, s.hidden), ((s.gatedMLP ? 2 : 1) * s.mlp, s.hidden), (s.hidden, s.mlp)]
    }

    /// `rowMajor(key, n, k, body)` hands `body` the weight W [n, k] row-major,
    /// in a scratch copy that `body` may overwrite.
    init(spec s: ModelSpec, rowMajor: (WeightKey, Int, Int, (UnsafeMutablePointer<Float>) -> Void) throws -> Void) throws {
        // Per weight: packed bytes, then scales and sums (one per padded
        // column), each part starting on a cache line.
        func floats(_ n: Int, _ k: Int) -> Int {
            let np = Int8Layout.paddedColumns(n)
            return (Int8Layout.packedBytes(n: n, k: k) / 4 + 15) / 16 * 16 + 2 * ((np + 15) / 16 * 16)
        }
        let shapes = QuantizedWeights.shapes(s)
        let perBlock = shapes.reduce(0) { $0 + floats($1.n, $1.k) }
        storage = try AlignedBuffer(floats: perBlock * s.layers)
        var at = storage.pointer
        /// Quantizes W with its rows rotated, W·D·H / block, in the scratch
        /// copy. Each column's scale is max|w| / 127, so dividing the n
        /// scales by the block (a power of two: exact) gives the bytes and
        /// scales of dividing the n·k weights.
        func quantize(_ key: WeightKey, _ n: Int, _ k: Int) throws -> Int8Weights {
            let np = Int8Layout.paddedColumns(n)
            let packed = UnsafeMutableRawPointer(at).bindMemory(to: Int8.self, capacity: Int8Layout.packedBytes(n: n, k: k))
            let scales = at + (Int8Layout.packedBytes(n: n, k: k) / 4 + 15) / 16 * 16
            let sums = UnsafeMutableRawPointer(scales + (np + 15) / 16 * 16).bindMemory(to: Int32.self, capacity: np)
            let block = Int8Rotation.block(k: k)
            try rowMajor(key, n, k) { w in
                Int8Rotation.rotate(w, rows: n, k: k, block: block)
                Int8Layout.quantizeWeights(n: n, k: k, weight: { w[$0 * k + $1] }, packed: packed, scales: scales, sums: sums)
                if block > 0 { for c in 0..<n { scales[c] /= Float(block) } }
            }
            at += floats(n, k)
            return Int8Weights(packed: packed, scales: scales, sums: sums)
        }
        blocks = try (0..<s.layers).map { i in
            Block(qkv: try quantize(.block(i, .qkvWeight), shapes[0].n, shapes[0].k),
                  proj: try quantize(.block(i, .projWeight), shapes[1].n, shapes[1].k),
                  fc1: try quantize(.block(i, .fc1Weight), shapes[2].n, shapes[2].k),
                  fc2: try quantize(.block(i, .fc2Weight), shapes[3].n, shapes[3].k))
        }
    }
}
