import TesseraKernelCore

/// The session's program: a list of ops over named buffers, each buffer with
/// an offset in the one arena. Built once at session creation from the model
/// spec and the input shape; `run` only walks it.
struct Plan {
    typealias BufferID = Int

    /// dst = addend + scale ⊙ act(src · Wᵀ + bias) over `tokens` rows per image.
    struct Linear {
        var src: BufferID
        let dst: BufferID
        let tokens: Int
        let n: Int, k: Int
        let weights: LinearWeights
        var activation: GemmEpilogue.Activation = .none
        var scale: UnsafePointer<Float>? = nil
        /// Added last: the residual stream.
        var addend: BufferID? = nil
    }

    struct LayerNorm {
        let src: BufferID, dst: BufferID
        /// Rows per image.
        let tokens: Int
        let weights: NormWeights
    }

    /// A classifier on the token at `token` of each image, whose rows are
    /// `tokens` apart.
    struct Head {
        let src: BufferID, token: Int, tokens: Int, dst: BufferID
        let weights: LinearWeights
        var scale: UnsafePointer<Float>? = nil
        /// Added last: the other head's logits (DeiT).
        var addend: BufferID? = nil
    }

    enum Op {
        /// uint8 NHWC → normalized float NCHW into `input` (uint8 runs only).
        case normalize(dst: BufferID)
        /// Patch embedding + prefix tokens + position embedding into `dst`.
        case embed(input: BufferID, patches: BufferID, dst: BufferID)
        case layerNorm(LayerNorm)
        case linear(Linear)
        /// Rows of src ([images * tokens, k] floats) quantized to bytes by rows into dst.
        case quantize(src: BufferID, dst: BufferID, tokens: Int, k: Int)
        /// The Linear in int8: src is the quantized buffer (`quantize`), the
        /// weights the layer's int8 copy; bias and epilogue as in fp32.
        case linearInt8(Linear, Int8Weights)
        /// dst: the first `queries` tokens' outputs of each image (of `tokens`).
        case attention(qkv: BufferID, dst: BufferID, queries: Int)
        /// dst = the first `prefix` rows of each image of src (rows `hidden` wide).
        case prefixRows(src: BufferID, dst: BufferID, prefix: Int)
        /// 2-D RoPE on the q and k of the patch tokens, in place (DINOv3).
        case rope(qkv: BufferID)
        /// dst = silu(gate) ⊙ up, src holding [gate | up] per row (SwiGLU).
        case swiglu(src: BufferID, dst: BufferID, tokens: Int)
        case head(Head)

        /// The buffers the op reads or writes.
        var buffers: [BufferID] {
            switch self {
            case .normalize(let d): return [d]
            case .embed(let i, let c, let d): return [i, c, d]
            case .layerNorm(let l): return [l.src, l.dst]
            case .linear(let l): return [l.src, l.dst] + (l.addend.map { [$0] } ?? [])
            case .quantize(let s, let d, _, _): return [s, d]
            case .linearInt8(let l, _): return [l.src, l.dst] + (l.addend.map { [$0] } ?? [])
            case .attention(let q, let d, _): return [q, d]
            case .prefixRows(let s, let d, _): return [s, d]
            case .rope(let q): return [q]
            case .swiglu(let s, let d, _): return [s, d]
            case .head(let h): return [h.src, h.dst] + (h.addend.map { [$0] } ?? [])
            }
        }
    }

    struct Buffer {
        let name: String
        /// Floats per image × batch (or a fixed size for scratch).
        let floats: Int
        var first = Int.max
        var last = -1
        var offset = 0
        /// Outputs stay live to the end of the run.
        let isOutput: Bool
    }

    var buffers: [Buffer] = []
    var ops: [Op] = []
    /// What each op is, for profiles ("qkv", "attention", "fc1", ...).
    var labels: [String] = []
    var arenaFloats = 0

    /// Where the outputs live.
    var input: BufferID = -1
    var finalTokens: BufferID = -1
    /// Rows per image of `finalTokens`: every token, or the prefix tokens
    /// alone when no patch token is asked for (`OutputRequest.prefixOnly`).
    var finalTokensPerImage = 0
    var logits: BufferID = -1
    var layerOutputs: [Int: BufferID] = [:]
    var scratch: BufferID = -1
    /// Transformer blocks a run executes (the last one anything needs, + 1).
    var blocksRun = 0

    mutating func add(_ op: Op, _ label: String) {
        ops.append(op)
        labels.append(label)
    }

    mutating func buffer(_ name: String, _ floats: Int, output: Bool = false) -> BufferID {
        buffers.append(Buffer(name: name, floats: floats, isOutput: output))
        return buffers.count - 1
    }

    /// Computes each buffer's live range from the ops and places them.
    mutating func allocate() {
        for (i, op) in ops.enumerated() {
            for b in op.buffers {
                buffers[b].first = min(buffers[b].first, i)
                buffers[b].last = max(buffers[b].last, i)
            }
        }
        let end = ops.count
        if scratch >= 0 { buffers[scratch].first = 0; buffers[scratch].last = end }
        for i in buffers.indices {
            if buffers[i].first == Int.max { buffers[i].first = 0; buffers[i].last = 0 }
            if buffers[i].isOutput { buffers[i].last = end }
        }
        let requests = buffers.map {
            ArenaPlanner.Request(name: $0.name, floats: $0.floats, first: $0.first, last: $0.last)
        }
        let (placements, total) = ArenaPlanner.place(requests)
        for i in buffers.indices { buffers[i].offset = placements[i].offset }
        arenaFloats = total
    }

    /// Sum of every buffer's size, for comparison with the arena.
    var totalBufferFloats: Int { buffers.reduce(0) { $0 + $1.floats } }

    /// The largest sum of buffers live at one op: no arena can be smaller.
    var largestStepFloats: Int {
        (0...ops.count).map { i in
            buffers.filter { $0.first <= i && i <= $0.last }.reduce(0) { $0 + $1.floats }
        }.max() ?? 0
    }

    /// Builds the op list for a model at a given batch and patch grid: the
    /// blocks up to the last one `outputs` needs (each planned by its family,
    /// `ModelFamily.block`), then the final norm and heads only if a final
    /// output is asked for. (`outputs` is validated.)
    /// With `int8`, every block's qkv, proj, fc1 and fc2 run in int8 on
    /// activations quantized by rows just before each.
    static func build(spec s: ModelSpec, weights w: ModelWeights, batch: Int, gridH: Int, gridW: Int,
                      outputs: OutputRequest, scratchFloats: Int, int8: QuantizedWeights? = nil) -> Plan {
        var p = Plan()
        let d = s.hidden
        let tokens = s.prefixTokens + gridH * gridW
        let rows = batch * tokens
        let patchK = s.channels * s.patch * s.patch
        p.scratch = p.buffer("scratch", scratchFloats)
        p.input = p.buffer("input", batch * s.channels * gridH * s.patch * gridW * s.patch)
        let patches = p.buffer("patches", gridH * gridW * patchK)
        // Every value gets its own buffer, so that live ranges are exact and
        // the arena is the largest step; a kept block output is simply left
        // live to the end of the run.
        let embedded = p.buffer("embedded", rows * d)
        // Skipped by float runs, which read the caller's array instead.
        p.add(.normalize(dst: p.input), "normalize")
        p.add(.embed(input: p.input, patches: patches, dst: embedded), "patch embed")
        p.blocksRun = (outputs.lastBlock(of: s) ?? -1) + 1
        var b = BlockBuilder(plan: p, spec: s, batch: batch, tokens: tokens, stream: embedded, int8: int8)
        for i in 0..<p.blocksRun {
            b.begin(block: i, keep: outputs.layers.contains(i))
            b.prefixOnly = i == s.layers - 1 && outputs.prefixOnly(s)
            s.family.definition.block(&b, w.blocks[i], s)
            if outputs.layers.contains(i) { b.plan.layerOutputs[i] = b.stream }
        }
        p = b.plan
        let x = b.stream
        if outputs.finals.isEmpty {
            p.allocate()
            return p
        }
        p.finalTokensPerImage = b.tokens
        p.finalTokens = p.buffer("tokens", b.rows * d, output: outputs.keepsFinalTokens)
        p.add(.layerNorm(LayerNorm(src: x, dst: p.finalTokens, tokens: b.tokens, weights: w.norm)), "layer norm")
        if outputs.finals.contains(.logits), let head = w.head {
            p.logits = p.buffer("logits", batch * s.classes, output: true)
            if let teacher = w.distillationHead {
                // logits = ½(cls head) + ½(distillation head), via the epilogue.
                let half = p.buffer("logits.distillation", batch * s.classes)
                p.add(.head(Head(src: p.finalTokens, token: 1, tokens: b.tokens, dst: half, weights: teacher, scale: w.half)), "head")
                p.add(.head(Head(src: p.finalTokens, token: 0, tokens: b.tokens, dst: p.logits, weights: head, scale: w.half, addend: half)), "head")
            } else {
                p.add(.head(Head(src: p.finalTokens, token: 0, tokens: b.tokens, dst: p.logits, weights: head)), "head")
            }
        }
        p.allocate()
        return p
    }
}
