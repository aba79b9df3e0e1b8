import TesseraKernelCore

/// The int8 copies of every block's Linear weights (qkv, proj, fc1, fc2), as
/// `Int8Layout` packs them: per output channel, symmetric. Made once from
/// the fp32 packed weights, at a model's first int8 session; no calibration
/// data. The patch embedding and the heads stay fp32.
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

    init(spec s: ModelSpec, weights w: ModelWeights) throws {
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
        func quantize(_ fp32: LinearWeights, _ n: Int, _ k: Int) -> Int8Weights {
            let np = Int8Layout.paddedColumns(n)
            let packed = UnsafeMutableRawPointer(at).bindMemory(to: Int8.self, capacity: Int8Layout.packedBytes(n: n, k: k))
            let scales = at + (Int8Layout.packedBytes(n: n, k: k) / 4 + 15) / 16 * 16
            let sums = UnsafeMutableRawPointer(scales + (np + 15) / 16 * 16).bindMemory(to: Int32.self, capacity: np)
            // W[c][k] from the fp32 panels (GemmLayout).
            let src = fp32.packed
            Int8Layout.quantizeWeights(n: n, k: k, weight: { c, kk in src[GemmLayout.columnOffset(c, depth: k) + kk * GemmLayout.panelWidth] },
                                       packed: packed, scales: scales, sums: sums)
            at += floats(n, k)
            return Int8Weights(packed: packed, scales: scales, sums: sums)
        }
        blocks = w.blocks.map { b in
            Block(qkv: quantize(b.qkv, shapes[0].n, shapes[0].k), proj: quantize(b.proj, shapes[1].n, shapes[1].k),
                  fc1: quantize(b.fc1, shapes[2].n, shapes[2].k), fc2: quantize(b.fc2, shapes[3].n, shapes[3].k))
        }
    }
}
