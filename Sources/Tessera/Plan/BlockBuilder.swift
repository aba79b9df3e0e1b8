import TesseraKernelCore

/// Plans a pre-norm transformer block from its two branches; a family's
/// `block` calls them in its reference's order:
/// - `attention`: x + scale ⊙ proj(attention(qkv(norm x)) [with RoPE on q, k]);
/// - `mlp`: x + scale ⊙ fc2(act(fc1(norm x))), act GELU or SwiGLU.
/// Each call starts from the current stream buffer and leaves the new one.
struct BlockBuilder {
    var plan: Plan
    let spec: ModelSpec
    let batch: Int
    /// Rows per image of the stream: every token, until a block's attention
    /// keeps only the prefix tokens (`prefixOnly`).
    private(set) var tokens: Int
    /// The rows of the stream's buffers.
    var rows: Int { batch * tokens }
    /// Set for the last block when nothing after it reads the patch tokens
    /// (embedding, registers, logits): its attention then computes the
    /// prefix tokens' queries alone, and the rest of the block (proj, MLP)
    /// and the final norm run on those rows. K and V still come from every
    /// token, so the prefix tokens' values are those of the full block.
    var prefixOnly = false
    /// The residual stream: the buffer that holds the tokens now.
    private(set) var stream: Plan.BufferID
    private var block = 0
    /// Whether the block's output is kept to the end of the run.
    private var keep = false
    /// The int8 weights when the session runs its Linear layers in int8.
    let int8: QuantizedWeights?

    init(plan: Plan, spec: ModelSpec, batch: Int, tokens: Int, stream: Plan.BufferID, int8: QuantizedWeights? = nil) {
        self.plan = plan; self.spec = spec; self.batch = batch; self.tokens = tokens; self.stream = stream; self.int8 = int8
    }

    mutating func begin(block i: Int, keep: Bool) { block = i; self.keep = keep }

    enum MLP { case gelu, swiglu }

    /// A new buffer of this block; the block's last one is its output.
    private mutating func buffer(_ what: String, _ width: Int, output: Bool = false) -> Plan.BufferID {
        plan.buffer("block\(block).\(what)", rows * width, output: output)
    }

    /// A Linear layer: in fp32, or quantize its input by rows and run the
    /// layer's int8 weights (`quantized` picks them from the block's).
    private mutating func linear(_ l: Plan.Linear, _ label: String, quantized: (QuantizedWeights.Block) -> Int8Weights) {
        guard let int8 else { plan.add(.linear(l), label); return }
        let q = plan.buffer("block\(block).\(label).int8", Int8Layout.activationFloats(m: rows, k: l.k))
        plan.add(.quantize(src: l.src, dst: q, tokens: l.tokens, k: l.k), "quantize")
        var onBytes = l
        onBytes.src = q
        plan.add(.linearInt8(onBytes, quantized(int8.blocks[block])), label + " int8")
    }

    mutating func attention(norm: NormWeights, qkv: LinearWeights, proj: LinearWeights,
                            scale: UnsafePointer<Float>?, rope: Bool) {
        let d = spec.hidden
        let h = buffer("norm1", d), q = buffer("qkv", 3 * d)
        plan.add(.layerNorm(Plan.LayerNorm(src: stream, dst: h, tokens: tokens, weights: norm)), "layer norm")
        linear(Plan.Linear(src: h, dst: q, tokens: tokens, n: 3 * d, k: d, weights: qkv), "qkv") { $0.qkv }
        if rope { plan.add(.rope(qkv: q), "rope") }
        var residual = stream
        if prefixOnly && spec.prefixTokens < tokens {
            tokens = spec.prefixTokens
            residual = buffer("prefix", d)
            plan.add(.prefixRows(src: stream, dst: residual, prefix: tokens), "prefix rows")
        }
        let a = buffer("attention", d), out = buffer("residual", d)
        plan.add(.attention(qkv: q, dst: a, queries: tokens), "attention")
        linear(Plan.Linear(src: a, dst: out, tokens: tokens, n: d, k: d, weights: proj, scale: scale, addend: residual), "proj") { $0.proj }
        stream = out
    }

    /// The block's second branch; its result is the block's output.
    mutating func mlp(norm: NormWeights, fc1: LinearWeights, fc2: LinearWeights,
                      scale: UnsafePointer<Float>?, kind: MLP) {
        let d = spec.hidden, f = spec.mlp
        let h = buffer("norm2", d), hidden = buffer("mlp", f)
        plan.add(.layerNorm(Plan.LayerNorm(src: stream, dst: h, tokens: tokens, weights: norm)), "layer norm")
        switch kind {
        case .gelu:
            linear(Plan.Linear(src: h, dst: hidden, tokens: tokens, n: f, k: d, weights: fc1, activation: .gelu), "fc1 + GELU") { $0.fc1 }
        case .swiglu:
            // One GEMM for gate and up ([gate | up] per row), then their product.
            let gateUp = buffer("gate_up", 2 * f)
            linear(Plan.Linear(src: h, dst: gateUp, tokens: tokens, n: 2 * f, k: d, weights: fc1), "gate + up") { $0.fc1 }
            plan.add(.swiglu(src: gateUp, dst: hidden, tokens: tokens), "SwiGLU")
        }
        let out = buffer("out", d, output: keep)
        linear(Plan.Linear(src: hidden, dst: out, tokens: tokens, n: d, k: f, weights: fc2, scale: scale, addend: stream), "fc2") { $0.fc2 }
        stream = out
    }
}
