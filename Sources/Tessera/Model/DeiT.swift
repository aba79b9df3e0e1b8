/// DeiT (Touvron et al. 2021), as transformers' `DeiTModel` /
/// `DeiTForImageClassification[WithTeacher]` define it: ViT's block and
/// naming under `deit.`, plus a distillation token after CLS (with its own
/// position) and, for the distilled model, a second head on it; the logits
/// are the mean of both heads.
enum DeiT: ModelFamily {
    static func configure(_ s: inout ModelSpec, _ c: JSON) throws {
        s.mlp = try ModelConfig.int(c, "intermediate_size")
        s.hasDistillation = true
        s.positionedPrefix = 2
        s.posResize = .bicubic
    }

    static func table(_ s: ModelSpec, _ tensors: [String: SafeTensors.Tensor]) -> WeightLayout.Table {
        guard case .huggingFace(let pre) = s.naming else { return SharedNames.timmBlock(s) }
        var other = SharedNames.huggingFace(pre, s)
        let c = s.classes, d = s.hidden
        switch s.head {
        case .none: break
        case .cls:
            other += [(.headWeight, ["classifier.weight"], [c, d]), (.headBias, ["classifier.bias"], [c])]
        case .clsAndDistillation:
            other += [(.headWeight, ["cls_classifier.weight"], [c, d]), (.headBias, ["cls_classifier.bias"], [c]),
                      (.distillationHeadWeight, ["distillation_classifier.weight"], [c, d]),
                      (.distillationHeadBias, ["distillation_classifier.bias"], [c])]
        }
        return WeightLayout.Table(blockPrefix: { "\(pre)encoder.layer.\($0)." }, block: ViT.huggingFaceBlock(s), other: other,
                                  ignored: SharedNames.huggingFaceIgnored(pre))
    }

    /// DeiTLayer is ViTLayer.
    static func block(_ b: inout BlockBuilder, _ w: BlockWeights, _ s: ModelSpec) {
        ViT.block(&b, w, s)
    }
}
