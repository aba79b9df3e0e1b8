/// DINOv2 (Oquab et al. 2023), as transformers' `Dinov2Model` /
/// `Dinov2WithRegistersModel` and timm's `vit_*_dinov2` / `_reg4_dinov2`
/// define it: CLS, optional registers (without positions), the patches; a
/// learned position table resized bicubically (antialiased with registers
/// and in timm); pre-norm blocks with layer scale on both branches and an
/// erf-GELU MLP.
enum DINOv2: ModelFamily {
    static func configure(_ s: inout ModelSpec, _ c: JSON, modelType: String) throws {
        if c["use_swiglu_ffn"]?.bool == true {
            throw TesseraError.unsupported("config.json: use_swiglu_ffn is true; SwiGLU MLPs (DINOv2 giant) are not supported yet")
        }
        let ratio = c["mlp_ratio"]?.double ?? 4
        // Checked before the conversion: Int(_: Double) traps on NaN, infinities and huge values.
        let mlp = Double(s.hidden) * ratio
        guard mlp.isFinite, mlp >= 1, mlp <= Double(16 * ModelSpec.maxHidden) else {
            throw TesseraError.format("config.json: mlp_ratio \(ratio) with hidden_size \(s.hidden) gives an MLP size of \(mlp); expected 1...\(16 * ModelSpec.maxHidden)")
        }
        s.mlp = Int(mlp)
        s.layerScale = true
        let registers = modelType == "dinov2_with_registers"
        s.registers = registers ? try ModelConfig.int(c, "num_register_tokens", default: 0) : 0
        s.positionedPrefix = 1
        s.posResize = registers ? .bicubicAntialias : .bicubic
    }

    static func table(_ s: ModelSpec, _ tensors: [String: SafeTensors.Tensor]) -> WeightLayout.Table {
        guard case .huggingFace(let pre) = s.naming else { return SharedNames.timmBlock(s) }
        // transformers' Dinov2Layer, under `encoder.layer.N.`.
        let at = "attention.attention."
        let block: [(WeightKey.BlockTensor, WeightLayout.Names)] = [
            (.norm1Weight, ["norm1.weight"]), (.norm1Bias, ["norm1.bias"]),
            (.qkvWeight, ["query", "key", "value"].map { at + $0 + ".weight" }),
            (.qkvBias, s.qkvBias ? ["query", "key", "value"].map { at + $0 + ".bias" } : []),
            (.projWeight, ["attention.output.dense.weight"]), (.projBias, ["attention.output.dense.bias"]),
            (.scale1, ["layer_scale1.lambda1"]),
            (.norm2Weight, ["norm2.weight"]), (.norm2Bias, ["norm2.bias"]),
            (.fc1Weight, ["mlp.fc1.weight"]), (.fc1Bias, ["mlp.fc1.bias"]),
            (.fc2Weight, ["mlp.fc2.weight"]), (.fc2Bias, ["mlp.fc2.bias"]),
            (.scale2, ["layer_scale2.lambda1"]),
        ]
        return WeightLayout.Table(blockPrefix: { "\(pre)encoder.layer.\($0)." }, block: block,
                                  other: SharedNames.huggingFace(pre, s), ignored: SharedNames.huggingFaceIgnored(pre))
    }

    /// Dinov2Layer: h = x + λ₁ ⊙ attention(norm1(x)); h + λ₂ ⊙ mlp(norm2(h)).
    static func block(_ b: inout BlockBuilder, _ w: BlockWeights, _ s: ModelSpec) {
        b.attention(norm: w.norm1, qkv: w.qkv, proj: w.proj, scale: w.scale1, rope: false)
        b.mlp(norm: w.norm2, fc1: w.fc1, fc2: w.fc2, scale: w.scale2, kind: .gelu)
    }
}
