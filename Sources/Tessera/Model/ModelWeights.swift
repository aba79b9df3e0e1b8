/// Which weight a layout item fills: typed, so that the planner reads
/// `weights.blocks[i].qkv` and never looks a string up.
enum WeightKey: Hashable {
    case patchWeight, patchBias, cls, distillation, registers, positions
    case normWeight, normBias
    case headWeight, headBias, distillationHeadWeight, distillationHeadBias
    case block(Int, BlockTensor)

    enum BlockTensor: Hashable, CaseIterable {
        case norm1Weight, norm1Bias, qkvWeight, qkvBias, projWeight, projBias, scale1
        case norm2Weight, norm2Bias, fc1Weight, fc1Bias, fc2Weight, fc2Bias, scale2
    }

    /// A block's qkv, proj, fc1 or fc2 weight: what int8 quantizes and what
    /// is packed for fp32 only when an fp32 session needs it.
    var isBlockLinear: Bool {
        switch self {
        case .block(_, .qkvWeight), .block(_, .projWeight), .block(_, .fc1Weight), .block(_, .fc2Weight): return true
        default: return false
        }
    }
}

/// A Linear layer as the GEMM takes it: the weight packed (`GemmLayout`) and
/// its bias (zeros where the model has none).
struct LinearWeights {
    let packed: UnsafePointer<Float>
    let bias: UnsafePointer<Float>
}

struct NormWeights {
    let weight: UnsafePointer<Float>
    let bias: UnsafePointer<Float>
}

/// One pre-norm block, in the planner's terms.
struct BlockWeights {
    let norm1: NormWeights
    /// [q; k; v] output rows.
    let qkv: LinearWeights
    let proj: LinearWeights
    /// Layer scale of the attention branch (DINOv2, DINOv3); nil: none.
    let scale1: UnsafePointer<Float>?
    let norm2: NormWeights
    /// The MLP's first layer: up, or [gate; up] for SwiGLU.
    let fc1: LinearWeights
    let fc2: LinearWeights
    let scale2: UnsafePointer<Float>?
}

/// Every weight a session uses, resolved once at load.
struct ModelWeights {
    let patch: LinearWeights
    let cls: UnsafePointer<Float>
    let distillation: UnsafePointer<Float>?
    let registers: UnsafePointer<Float>?
    /// The learned position table; nil for DINOv3 (RoPE).
    let positions: UnsafePointer<Float>?
    let blocks: [BlockWeights]
    let norm: NormWeights
    let head: LinearWeights?
    let distillationHead: LinearWeights?
    /// 0.5 per class: the DeiT distilled head averages two heads through it.
    let half: UnsafePointer<Float>

    /// Resolves every key of a loaded layout; `pointer(key)` is nil for a
    /// weight the model does not have.
    init(spec s: ModelSpec, half: UnsafePointer<Float>, pointer: (WeightKey) -> UnsafePointer<Float>?) {
        func linear(_ w: WeightKey, _ b: WeightKey) -> LinearWeights? {
            guard let packed = pointer(w), let bias = pointer(b) else { return nil }
            return LinearWeights(packed: packed, bias: bias)
        }
        func normWeights(_ w: WeightKey, _ b: WeightKey) -> NormWeights {
            NormWeights(weight: pointer(w)!, bias: pointer(b)!)
        }
        patch = linear(.patchWeight, .patchBias)!
        cls = pointer(.cls)!
        distillation = pointer(.distillation)
        registers = pointer(.registers)
        positions = pointer(.positions)
        blocks = (0..<s.layers).map { i in
            func t(_ part: WeightKey.BlockTensor) -> WeightKey { .block(i, part) }
            return BlockWeights(norm1: normWeights(t(.norm1Weight), t(.norm1Bias)), qkv: linear(t(.qkvWeight), t(.qkvBias))!,
                                proj: linear(t(.projWeight), t(.projBias))!, scale1: pointer(t(.scale1)),
                                norm2: normWeights(t(.norm2Weight), t(.norm2Bias)), fc1: linear(t(.fc1Weight), t(.fc1Bias))!,
                                fc2: linear(t(.fc2Weight), t(.fc2Bias))!, scale2: pointer(t(.scale2)))
        }
        norm = normWeights(.normWeight, .normBias)
        head = linear(.headWeight, .headBias)
        distillationHead = linear(.distillationHeadWeight, .distillationHeadBias)
        self.half = half
    }

    /// Every weight at one address, for planning shapes without a model.
    static func placeholder(spec s: ModelSpec, at p: UnsafePointer<Float>) -> ModelWeights {
        ModelWeights(spec: s, half: p) { key in
            switch key {
            case .distillation, .distillationHeadWeight, .distillationHeadBias: return s.hasDistillation ? p : nil
            case .registers: return s.registers > 0 ? p : nil
            case .positions: return s.hasPositionTable ? p : nil
            case .headWeight, .headBias: return s.head == .none ? nil : p
            case .block(_, .scale1), .block(_, .scale2): return s.layerScale ? p : nil
            default: return p
            }
        }
    }
}
