import TesseraKernelCore

/// Where the planner finds weight pointers (a loaded `Model`, or a stand-in
/// when only shapes matter).
protocol WeightSource {
    func weight(_ key: String) -> UnsafePointer<Float>?
    var halfVector: UnsafePointer<Float> { get }
}

extension WeightSource {
    func layerWeight(_ i: Int, _ what: String) -> UnsafePointer<Float>? {
        weight(WeightLayout.layerKey(i, what))
    }
}

/// The session's program: a list of ops over named buffers, each buffer with
/// an offset in the one arena. Built once at session creation from the model
/// spec and the input shape; `run` only walks it.
struct Plan {
    typealias BufferID = Int

    enum Op {
        /// uint8 NHWC → normalized float NCHW into `input` (uint8 runs only).
        case normalize(dst: BufferID)
        /// Patch embedding + prefix tokens + position embedding into `dst`.
        case embed(input: BufferID, cols: BufferID, dst: BufferID)
        case layerNorm(src: BufferID, dst: BufferID, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>)
        /// dst = residual + scale ⊙ act(src · Wᵀ + bias) over every token row.
        case linear(src: BufferID, dst: BufferID, n: Int, k: Int, weight: UnsafePointer<Float>,
                    bias: UnsafePointer<Float>?, gelu: Bool, scale: UnsafePointer<Float>?, residual: BufferID?)
        case attention(qkv: BufferID, dst: BufferID)
        /// 2-D RoPE on the q and k of the patch tokens, in place (DINOv3).
        case rope(qkv: BufferID)
        /// dst = silu(gate) ⊙ up, src holding [gate | up] per row (SwiGLU).
        case swiglu(src: BufferID, dst: BufferID)
        /// Classifier on the token at `token` of each image.
        case head(src: BufferID, token: Int, dst: BufferID, weight: UnsafePointer<Float>,
                  bias: UnsafePointer<Float>, scale: UnsafePointer<Float>?, residual: BufferID?)
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

    static func uses(_ op: Op) -> [BufferID] {
        switch op {
        case .normalize(let d): return [d]
        case .embed(let i, let c, let d): return [i, c, d]
        case .layerNorm(let s, let d, _, _): return [s, d]
        case .linear(let s, let d, _, _, _, _, _, _, let r): return [s, d] + (r.map { [$0] } ?? [])
        case .attention(let q, let d): return [q, d]
        case .rope(let q): return [q]
        case .swiglu(let s, let d): return [s, d]
        case .head(let s, _, let d, _, _, _, let r): return [s, d] + (r.map { [$0] } ?? [])
        }
    }

    /// Computes each buffer's live range from the ops and places them.
    mutating func allocate() {
        for (i, op) in ops.enumerated() {
            for b in Plan.uses(op) {
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
    /// blocks up to the last one `outputs` needs, then the final norm and
    /// heads only if a final output is asked for. (`outputs` is validated.)
    static func build(spec s: ModelSpec, model: WeightSource, batch: Int, gridH: Int, gridW: Int,
                      outputs: OutputRequest, scratchFloats: Int) -> Plan {
        var p = Plan()
        let d = s.hidden
        let tokens = s.prefixTokens + gridH * gridW
        let rows = batch * tokens
        let patchK = s.channels * s.patch * s.patch
        p.scratch = p.buffer("scratch", scratchFloats)
        p.input = p.buffer("input", batch * s.channels * gridH * s.patch * gridW * s.patch)
        let cols = p.buffer("patches", gridH * gridW * patchK)
        // Every value gets its own buffer, so that live ranges are exact and
        // the arena is the largest step; a kept block output is simply left
        // live to the end of the run.
        var x = p.buffer("embedded", rows * d)
        // Skipped by float runs, which read the caller's array instead.
        p.add(.normalize(dst: p.input), "normalize")
        p.add(.embed(input: p.input, cols: cols, dst: x), "patch embed")
        p.blocksRun = (outputs.lastBlock(of: s) ?? -1) + 1
        for i in 0..<p.blocksRun {
            let h1 = p.buffer("block\(i).norm1", rows * d)
            let qkv = p.buffer("block\(i).qkv", rows * 3 * d)
            let attn = p.buffer("block\(i).attention", rows * d)
            let mid = p.buffer("block\(i).residual", rows * d)
            let h2 = p.buffer("block\(i).norm2", rows * d)
            let mlp = p.buffer("block\(i).mlp", rows * s.mlp)
            let out = p.buffer("block\(i).out", rows * d, output: outputs.layers.contains(i))
            p.add(.layerNorm(src: x, dst: h1, weight: model.layerWeight(i, "ln1.weight")!, bias: model.layerWeight(i, "ln1.bias")!), "layer norm")
            p.add(.linear(src: h1, dst: qkv, n: 3 * d, k: d, weight: model.layerWeight(i, "qkv.weight")!,
                          bias: model.layerWeight(i, "qkv.bias")!, gelu: false, scale: nil, residual: nil), "qkv")
            if s.ropeTheta != nil { p.add(.rope(qkv: qkv), "rope") }
            p.add(.attention(qkv: qkv, dst: attn), "attention")
            p.add(.linear(src: attn, dst: mid, n: d, k: d, weight: model.layerWeight(i, "proj.weight")!,
                          bias: model.layerWeight(i, "proj.bias")!, gelu: false,
                          scale: model.layerWeight(i, "ls1"), residual: x), "proj")
            p.add(.layerNorm(src: mid, dst: h2, weight: model.layerWeight(i, "ln2.weight")!, bias: model.layerWeight(i, "ln2.bias")!), "layer norm")
            if s.gatedMLP {
                // One GEMM for gate and up ([gate | up] per row), then their product.
                let gateUp = p.buffer("block\(i).gate_up", rows * 2 * s.mlp)
                p.add(.linear(src: h2, dst: gateUp, n: 2 * s.mlp, k: d, weight: model.layerWeight(i, "fc1.weight")!,
                              bias: model.layerWeight(i, "fc1.bias")!, gelu: false, scale: nil, residual: nil), "gate + up")
                p.add(.swiglu(src: gateUp, dst: mlp), "SwiGLU")
            } else {
                p.add(.linear(src: h2, dst: mlp, n: s.mlp, k: d, weight: model.layerWeight(i, "fc1.weight")!,
                              bias: model.layerWeight(i, "fc1.bias")!, gelu: true, scale: nil, residual: nil), "fc1 + GELU")
            }
            p.add(.linear(src: mlp, dst: out, n: d, k: s.mlp, weight: model.layerWeight(i, "fc2.weight")!,
                          bias: model.layerWeight(i, "fc2.bias")!, gelu: false,
                          scale: model.layerWeight(i, "ls2"), residual: mid), "fc2")
            if outputs.layers.contains(i) { p.layerOutputs[i] = out }
            x = out
        }
        if outputs.finals.isEmpty {
            p.allocate()
            return p
        }
        p.finalTokens = p.buffer("tokens", rows * d, output: outputs.keepsFinalTokens)
        p.add(.layerNorm(src: x, dst: p.finalTokens, weight: model.weight("norm.weight")!, bias: model.weight("norm.bias")!), "layer norm")
        switch outputs.finals.contains(.logits) ? s.head : ModelSpec.Head.none {
        case .none:
            break
        case .cls:
            p.logits = p.buffer("logits", batch * s.classes, output: true)
            p.add(.head(src: p.finalTokens, token: 0, dst: p.logits, weight: model.weight("head.weight")!,
                               bias: model.weight("head.bias")!, scale: nil, residual: nil), "head")
        case .clsAndDistillation:
            // logits = ½(cls head) + ½(distillation head), via the epilogue.
            let half = p.buffer("logits.distillation", batch * s.classes)
            p.logits = p.buffer("logits", batch * s.classes, output: true)
            p.add(.head(src: p.finalTokens, token: 1, dst: half, weight: model.weight("dist_head.weight")!,
                               bias: model.weight("dist_head.bias")!, scale: model.halfVector, residual: nil), "head")
            p.add(.head(src: p.finalTokens, token: 0, dst: p.logits, weight: model.weight("head.weight")!,
                               bias: model.weight("head.bias")!, scale: model.halfVector, residual: half), "head")
        }
        p.allocate()
        return p
    }
}
