/// ViT (Dosovitskiy et al. 2021), as transformers' `ViTModel` /
/// `ViTForImageClassification` and timm's `vit_*` (`VisionTransformer`)
/// define it: CLS and the patches, a learned position table (bicubic resize
/// to other grids), pre-norm blocks with an erf-GELU MLP, a classifier on
/// the CLS token after the final norm.
enum ViT: ModelFamily {
    /// transformers' ViT config keys beyond the shared ones (`ModelConfig.huggingFace`).
    static func configure(_ s: inout ModelSpec, _ c: JSON) throws {
        s.mlp = try ModelConfig.int(c, "intermediate_size")
        s.positionedPrefix = 1
        s.posResize = .bicubic
        s.mean = [0.5, 0.5, 0.5]; s.std = [0.5, 0.5, 0.5]
    }

    /// transformers' `ViTLayer`, under `encoder.layer.N.`.
    static func huggingFaceBlock(_ s: ModelSpec) -> [(WeightKey.BlockTensor, WeightLayout.Names)] {
        let at = "attention.attention."
        return [
            (.norm1Weight, ["layernorm_before.weight"]), (.norm1Bias, ["layernorm_before.bias"]),
            (.qkvWeight, ["query", "key", "value"].map { at + $0 + ".weight" }),
            (.qkvBias, s.qkvBias ? ["query", "key", "value"].map { at + $0 + ".bias" } : []),
            (.projWeight, ["attention.output.dense.weight"]), (.projBias, ["attention.output.dense.bias"]),
            (.norm2Weight, ["layernorm_after.weight"]), (.norm2Bias, ["layernorm_after.bias"]),
            (.fc1Weight, ["intermediate.dense.weight"]), (.fc1Bias, ["intermediate.dense.bias"]),
            (.fc2Weight, ["output.dense.weight"]), (.fc2Bias, ["output.dense.bias"]),
        ]
    }

    static func table(_ s: ModelSpec, _ tensors: [String: SafeTensors.Tensor]) -> WeightLayout.Table {
        guard case .huggingFace(let pre) = s.naming else { return SharedNames.timmBlock(s) }
        var other = SharedNames.huggingFace(pre, s)
        if s.head == .cls {
            other += [(.headWeight, ["classifier.weight"], [s.classes, s.hidden]), (.headBias, ["classifier.bias"], [s.classes])]
        }
        return WeightLayout.Table(blockPrefix: { "\(pre)encoder.layer.\($0)." }, block: huggingFaceBlock(s), other: other,
                                  ignored: SharedNames.huggingFaceIgnored(pre))
    }

    /// ViTLayer: h = x + attention(layernorm_before(x)); x + output(intermediate(layernorm_after(h))).
    static func block(_ b: inout BlockBuilder, _ w: BlockWeights, _ s: ModelSpec) {
        b.attention(norm: w.norm1, qkv: w.qkv, proj: w.proj, scale: w.scale1, rope: false)
        b.mlp(norm: w.norm2, fc1: w.fc1, fc2: w.fc2, scale: w.scale2, kind: .gelu)
    }
}
