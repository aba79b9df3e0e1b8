import CTesseraInt8

/// One int8 tile of the CPU (see `tessera_int8.h`): what it computes, how
/// wide, and how many levels the activations may use (255, or 127 where
/// vpmaddubsw's int16 pair sums would otherwise saturate).
public struct Int8Tile: Sendable {
    public let name: String
    public let mr: Int
    public let nr: Int
    public let levels: Int
    public let run: tessera_i8_tile_fn
    /// Times the tile's dot-product instruction alone (12 chains, n rounds):
    /// 12 · 2 · nr multiply-adds per round. Nil for the twins.
    public let probe: (@convention(c) (Int) -> Int32)?

    public init(name: String, mr: Int, nr: Int, levels: Int, run: tessera_i8_tile_fn,
                probe: (@convention(c) (Int) -> Int32)? = nil) {
        self.name = name; self.mr = mr; self.nr = nr; self.levels = levels; self.run = run; self.probe = probe
    }

    /// Rows of A every quantized buffer is padded to a multiple of: a
    /// multiple of every tile's mr (12, 6 and 4), so that a tile never reads
    /// past the buffer.
    public static let rowQuantum = 12

    /// Offset from a tile's first column to its second half in packed B.
    @inlinable
    public func halfOffset(col: Int, depth kp: Int) -> Int {
        Int8Layout.columnOffset(col + nr / 2, depth: kp) - Int8Layout.columnOffset(col, depth: kp)
    }
}

/// Layout of int8 GEMM operands.
///
/// Weights: per output channel, symmetric (q = round(w / s), |q| ≤ 127,
/// s = max|w| / 127), packed in panels of 16 columns; a panel holds, for each
/// group of 4 k, 16 columns × 4 bytes (what vpdpbusd multiplies per lane).
/// The depth is padded with zeros to `kp`, a multiple of 4; the panel count
/// is even, so that a 32-wide tile never reads past it.
///
/// Activations: per row, asymmetric, unsigned: x ≈ scale · (q − zero), with
/// 0 in the range exactly; in panels of 12 rows, each holding, per group of
/// 4 k, 12 rows × 4 bytes (a tile's broadcasts at constant offsets, one
/// pointer for all its rows), `rowBytes(k)` groups' bytes per row.
public enum Int8Layout {
    @inlinable public static func depth(_ k: Int) -> Int { (k + 3) / 4 * 4 }

    /// Bytes of one row in its panel: the depth, rounded to a cache line
    /// (so that every panel starts on one).
    @inlinable public static func rowBytes(_ k: Int) -> Int { (k + 63) / 64 * 64 }

    @inlinable public static func paddedColumns(_ n: Int) -> Int { (n + 31) / 32 * 32 }

    @inlinable public static func packedBytes(n: Int, k: Int) -> Int { paddedColumns(n) * depth(k) }

    @inlinable
    public static func columnOffset(_ col: Int, depth kp: Int) -> Int {
        (col / 16) * kp * 16 + (col % 16) * 4
    }

    /// Rows padded for the tiles (see `Int8Tile.rowQuantum`).
    @inlinable public static func paddedRows(_ m: Int) -> Int {
        (m + Int8Tile.rowQuantum - 1) / Int8Tile.rowQuantum * Int8Tile.rowQuantum
    }

    /// Floats of a quantized activation buffer for m rows of depth k:
    /// per row a scale (Float) and a zero point (Int32), then the bytes.
    @inlinable public static func activationFloats(m: Int, k: Int) -> Int {
        let rows = paddedRows(m)
        return (2 * rows + 15) / 16 * 16 + rows * rowBytes(k) / 4
    }

    /// Quantizes W [N, K] (W[n][k] read through `weight`) into `packed`
    /// (`packedBytes`), with each column's scale and the sum of its q
    /// (`paddedColumns` each; zero past N).
    @inlinable
    public static func quantizeWeights(n: Int, k: Int, weight: (Int, Int) -> Float,
                                       packed: UnsafeMutablePointer<Int8>,
                                       scales: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Int32>) {
        let kp = depth(k), np = paddedColumns(n)
        packed.update(repeating: 0, count: np * kp)
        scales.update(repeating: 0, count: np)
        sums.update(repeating: 0, count: np)
        for c in 0..<n {
            var amax: Float = 0
            for kk in 0..<k { amax = max(amax, abs(weight(c, kk))) }
            let s: Float = amax > 0 ? amax / 127 : 1
            var sum: Int32 = 0
            let base = packed + columnOffset(c, depth: kp)
            for kk in 0..<k {
                let q = Int8(max(-127, min(127, (weight(c, kk) / s).rounded(.toNearestOrEven))))
                base[(kk / 4) * 64 + kk % 4] = q
                sum += Int32(q)
            }
            scales[c] = s
            sums[c] = sum
        }
    }
}

/// The rotation that comes before int8 quantization: fixed signs, then the
/// Walsh-Hadamard transform, of each block of a row's k values (QuaRot's
/// randomized Hadamard rotation; no calibration data). Activations are
/// quantized per token and weights per output channel, so one large channel (DINOv2's LayerNorms and MLPs have
/// them) costs every other channel of its row its levels; rotated, the
/// large values are spread over the whole block and each row's range
/// shrinks. The product is unchanged: H·H = block·I and D·D = I, so W·x =
/// (W·D·H / block)·(H·D·x), D the signs (`tessera_i8_rotation_signs`, a
/// fixed ±1 pattern); the weights are rotated once, the activations as
/// they are quantized (`QuantizeArgs.rotation`).
public enum Int8Rotation {
    /// The block for rows of k values: the largest power of two up to 128
    /// that divides k; 0 (no rotation) below 16, the widest vector.
    @inlinable
    public static func block(k: Int) -> Int {
        guard k > 0 else { return 0 }
        let b = min(128, k & -k)
        return b >= 16 ? b : 0
    }

    /// Whether `block` can rotate rows of k values: 0 (none), or a power of
    /// two from 16 that divides k.
    @inlinable
    public static func isValid(block: Int, k: Int) -> Bool {
        block == 0 || (block >= 16 && block & (block - 1) == 0 && k % block == 0)
    }

    /// The 128 signs (±1) each block's values are multiplied by first.
    public static var signs: UnsafePointer<Float> { tessera_i8_rotation_signs()! }

    /// Rotates `rows` rows of k values (contiguous) in place, k a multiple
    /// of `block`: each block times the signs, then its Walsh-Hadamard
    /// transform (unnormalized), to the same floats as every quantizer.
    public static func rotate(_ x: UnsafeMutablePointer<Float>, rows: Int = 1, k: Int, block: Int) {
        precondition(isValid(block: block, k: k), "rotation block \(block) for k = \(k)")
        guard block > 0 else { return }
        tessera_i8_rotate_rows(x, rows, k, block)
    }
}

/// A quantized Linear weight, as the int8 GEMM takes it.
public struct Int8Weights {
    public let packed: UnsafePointer<Int8>
    public let scales: UnsafePointer<Float>
    public let sums: UnsafePointer<Int32>
    public init(packed: UnsafePointer<Int8>, scales: UnsafePointer<Float>, sums: UnsafePointer<Int32>) {
        self.packed = packed; self.scales = scales; self.sums = sums
    }
}

/// Rows of activations to quantize (see `Int8Layout`): x [rows, k] →
/// `buffer` (scales, zero points, then bytes for `paddedRows(rows)` rows;
/// padding rows are zero). With `rotation` (`Int8Rotation.block(k:)`, or 0),
/// x's rows are rotated in place first: they must be the layer's own.
public struct QuantizeArgs {
    public var x: UnsafeMutablePointer<Float>
    public var ldx: Int
    public var rows: Int
    public var k: Int
    public var levels: Int
    public var rotation: Int
    public var buffer: UnsafeMutablePointer<Float>

    public init(x: UnsafeMutablePointer<Float>, ldx: Int, rows: Int, k: Int, levels: Int, rotation: Int = 0,
                buffer: UnsafeMutablePointer<Float>) {
        precondition(Int8Rotation.isValid(block: rotation, k: k), "rotation block \(rotation) for k = \(k)")
        self.x = x; self.ldx = ldx; self.rows = rows; self.k = k; self.levels = levels; self.rotation = rotation
        self.buffer = buffer
    }
}

/// A quantized activation buffer's parts.
public struct Int8Rows {
    public let scales: UnsafeMutablePointer<Float>
    public let zeros: UnsafeMutablePointer<Int32>
    public let bytes: UnsafeMutablePointer<UInt8>
    /// Bytes of a row (its k, padded); a panel holds 12 of them.
    public let rowBytes: Int

    @inlinable
    public init(_ buffer: UnsafeMutablePointer<Float>, rows m: Int, k: Int) {
        let rows = Int8Layout.paddedRows(m)
        scales = buffer
        zeros = UnsafeMutableRawPointer(buffer + rows).assumingMemoryBound(to: Int32.self)
        // The bytes start on a cache line (the buffer is 64-byte aligned).
        bytes = UnsafeMutableRawPointer(buffer + (2 * rows + 15) / 16 * 16).assumingMemoryBound(to: UInt8.self)
        rowBytes = Int8Layout.rowBytes(k)
    }

    /// Row r's first 4 bytes in its panel (its next 4 are 48 bytes on).
    @inlinable
    public func row(_ r: Int) -> UnsafeMutablePointer<UInt8> {
        let p = Int8Tile.rowQuantum
        return bytes + (r / p) * p * rowBytes + (r % p) * 4
    }

    /// Row r's byte k.
    @inlinable
    public func byte(_ r: Int, _ k: Int) -> UInt8 { row(r)[(k / 4) * 4 * Int8Tile.rowQuantum + k % 4] }
}

/// One int8 GEMM: C = epilogue(dequantize(A_q · B_qᵀ)), A quantized by rows
/// (`QuantizeArgs`' buffer), B by columns (`Int8Weights`).
public struct Int8GemmArgs {
    public var m: Int, n: Int, k: Int
    public var a: UnsafePointer<Float>
    public var b: Int8Weights
    public var tile: Int8Tile
    public var c: UnsafeMutablePointer<Float>
    public var ldc: Int
    public var epilogue: GemmEpilogue
    /// Rows of A per block, so that the block stays in L2 while the tiles
    /// sweep the weights.
    public var rowBlock: Int
    /// Per-thread scratch for one tile of int32 sums.
    public var scratch: UnsafeMutablePointer<Float>
    public var scratchStride: Int
    public var counter: UnsafeMutablePointer<Int>?

    public init(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, b: Int8Weights, tile: Int8Tile, c: UnsafeMutablePointer<Float>, ldc: Int,
                epilogue: GemmEpilogue, rowBlock: Int, scratch: UnsafeMutablePointer<Float>, scratchStride: Int,
                counter: UnsafeMutablePointer<Int>? = nil) {
        self.m = m; self.n = n; self.k = k; self.a = a; self.b = b; self.tile = tile; self.c = c; self.ldc = ldc
        self.epilogue = epilogue; self.rowBlock = rowBlock; self.scratch = scratch
        self.scratchStride = scratchStride; self.counter = counter
    }

    /// Floats of scratch a thread needs (a 12 × 32 tile of int32).
    public static let scratchFloats = 12 * 32
}

extension Int8Tile {
    public static let avx512VNNI = Int8Tile(name: "avx512-vnni 12x32", mr: 12, nr: 32, levels: 255,
                                            run: tessera_i8_tile_avx512vnni_12x32, probe: tessera_i8_probe_avx512vnni)
    public static let avx512BW = Int8Tile(name: "avx512-bw 12x32 7-bit", mr: 12, nr: 32, levels: 127,
                                          run: tessera_i8_tile_avx512bw_7bit_12x32, probe: tessera_i8_probe_avx512bw)
    public static let avxVNNI = Int8Tile(name: "avx-vnni 6x16", mr: 6, nr: 16, levels: 255,
                                         run: tessera_i8_tile_avxvnni_6x16, probe: tessera_i8_probe_avxvnni)
    public static let avx2 = Int8Tile(name: "avx2 6x16 7-bit", mr: 6, nr: 16, levels: 127,
                                      run: tessera_i8_tile_avx2_7bit_6x16, probe: tessera_i8_probe_avx2)
    public static let check = Int8Tile(name: "vnni-on-avx2 12x32", mr: 12, nr: 32, levels: 255,
                                       run: tessera_i8_tile_check_12x32)
    public static let portable = Int8Tile(name: "portable 4x8", mr: 4, nr: 8, levels: 255,
                                          run: tessera_i8_tile_portable_4x8)
}
