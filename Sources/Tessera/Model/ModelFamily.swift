/// What one model family knows, in one file each (ViT.swift, DeiT.swift,
/// DINOv2.swift, DINOv3.swift): its tensor names in both layouts and its
/// block in the reference's terms. (Its config parsing sits beside these, as
/// `huggingFace(...)`/`timm(...)`, called from `ModelConfig`.)
protocol ModelFamily {
    /// The file's tensors for the spec's layout, by planner key.
    static func table(_ s: ModelSpec, _ tensors: [String: SafeTensors.Tensor]) -> WeightLayout.Table
    /// One block, from the shared branches of `BlockBuilder`.
    static func block(_ b: inout BlockBuilder, _ w: BlockWeights, _ s: ModelSpec)
}

extension ModelSpec.Family {
    var definition: ModelFamily.Type {
        switch self {
        case .vit: return ViT.self
        case .deit: return DeiT.self
        case .dinov2: return DINOv2.self
        case .dinov3: return DINOv3.self
        }
    }
}

/// Names that the ViT-shaped families share because their references do:
/// transformers' ViT/DeiT/Dinov2 embeddings and final norm, and timm's
/// `VisionTransformer`.
enum SharedNames {
    /// transformers' `*Embeddings` (patch projection, CLS, distillation,
    /// registers, position table) and the final `layernorm`.
    static func huggingFace(_ pre: String, _ s: ModelSpec) -> [(WeightKey, WeightLayout.Names, shape: [Int])] {
        let d = s.hidden, e = pre + "embeddings."
        var t: [(WeightKey, WeightLayout.Names, shape: [Int])] = [
            (.patchWeight, [e + "patch_embeddings.projection.weight"], [d, s.channels, s.patch, s.patch]),
            (.patchBias, [e + "patch_embeddings.projection.bias"], [d]),
            (.cls, [e + "cls_token"], [1, 1, d]),
            (.positions, [e + "position_embeddings"], [1, s.positionedPrefix + s.posGrid * s.posGrid, d]),
            (.normWeight, [pre + "layernorm.weight"], [d]),
            (.normBias, [pre + "layernorm.bias"], [d]),
        ]
        if s.hasDistillation { t.append((.distillation, [e + "distillation_token"], [1, 1, d])) }
        if s.registers > 0 { t.append((.registers, [e + "register_tokens"], [1, s.registers, d])) }
        return t
    }

    static func huggingFaceIgnored(_ pre: String) -> [String] {
        [pre + "embeddings.mask_token", pre + "pooler.dense.weight", pre + "pooler.dense.bias"]
    }

    /// timm's `VisionTransformer`: embeddings, final norm, classifier.
    static func timm(_ s: ModelSpec) -> [(WeightKey, WeightLayout.Names, shape: [Int])] {
        let d = s.hidden
        var t: [(WeightKey, WeightLayout.Names, shape: [Int])] = [
            (.patchWeight, ["patch_embed.proj.weight"], [d, s.channels, s.patch, s.patch]),
            (.patchBias, ["patch_embed.proj.bias"], [d]),
            (.cls, ["cls_token"], [1, 1, d]),
            (.normWeight, ["norm.weight"], [d]),
            (.normBias, ["norm.bias"], [d]),
        ]
        if s.hasPositionTable { t.append((.positions, ["pos_embed"], [1, s.positionedPrefix + s.posGrid * s.posGrid, d])) }
        if s.registers > 0 { t.append((.registers, ["reg_token"], [1, s.registers, d])) }
        if s.head == .cls {
            t.append((.headWeight, ["head.weight"], [s.classes, d]))
            t.append((.headBias, ["head.bias"], [s.classes]))
        }
        return t
    }

    /// timm's `VisionTransformer` block (`Block`): fused qkv, `mlp.fc1/fc2`,
    /// layer scale `ls1/ls2.gamma` when the model has it.
    static func timmBlock(_ s: ModelSpec) -> WeightLayout.Table {
        var block: [(WeightKey.BlockTensor, WeightLayout.Names)] = [
            (.norm1Weight, ["norm1.weight"]), (.norm1Bias, ["norm1.bias"]),
            (.qkvWeight, ["attn.qkv.weight"]), (.qkvBias, s.qkvBias ? ["attn.qkv.bias"] : []),
            (.projWeight, ["attn.proj.weight"]), (.projBias, ["attn.proj.bias"]),
            (.norm2Weight, ["norm2.weight"]), (.norm2Bias, ["norm2.bias"]),
            (.fc1Weight, ["mlp.fc1.weight"]), (.fc1Bias, ["mlp.fc1.bias"]),
            (.fc2Weight, ["mlp.fc2.weight"]), (.fc2Bias, ["mlp.fc2.bias"]),
        ]
        if s.layerScale { block += [(.scale1, ["ls1.gamma"]), (.scale2, ["ls2.gamma"])] }
        return WeightLayout.Table(blockPrefix: { "blocks.\($0)." }, block: block, other: timm(s))
    }
}
