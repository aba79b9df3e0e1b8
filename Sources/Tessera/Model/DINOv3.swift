/// DINOv3 (Siméoni et al. 2025), as transformers' `DINOv3ViTModel` and timm's
/// `vit_*_patch16_dinov3*` (eva.py) define it: everything this family needs
/// to be read from either layout, in one place.
///
/// - Tokens: CLS, 4 register ("storage") tokens, the patches row-major. No
///   learned position table: a 2-D RoPE rotates q and k of the patch tokens
///   (never the prefix) in every block, so any multiple of 16 runs as is.
/// - RoPE: coordinates (i + 0.5) / n · 2 − 1 per axis, periods
///   θ^(4k / head_dim), angle 2π · coord / period, [y, x] angles repeated over
///   the two halves of the head, rotate_half. Computed in fp32 as
///   transformers and timm do (Meta's own checkpoints store the periods
///   rounded to bf16; both references recompute them, and so does Tessera).
/// - Attention: q and v biases, no k bias (a zero third here); scale
///   head_dim^−½.
/// - Block: pre-norm, layer scale on both branches, LayerNorm eps 1e-5; MLP
///   erf-GELU (S, B, L) or SwiGLU down(silu(gate x) ⊙ up x) (S+, H+, 7B).
/// - Outputs: embedding = CLS after the final norm (HF `pooler_output`);
///   block outputs before it (HF `hidden_states[k + 1]`).
enum DINOv3: ModelFamily {
    static let huggingFaceTypes: Set<String> = ["dinov3_vit", "DINOv3ViT"]

    static func isTimm(_ architecture: String) -> Bool { architecture.contains("_dinov3") }

    /// timm's registered DINOv3 models: the hub's config.json for them has no
    /// model_args, so the name gives what the weights cannot (the heads).
    static let timmArchitectures: [String: (hidden: Int, depth: Int, heads: Int)] = [
        "vit_tiny_patch16_dinov3_qkvb": (192, 12, 3),
        "vit_small_patch16_dinov3": (384, 12, 6), "vit_small_patch16_dinov3_qkvb": (384, 12, 6),
        "vit_small_plus_patch16_dinov3": (384, 12, 6), "vit_small_plus_patch16_dinov3_qkvb": (384, 12, 6),
        "vit_base_patch16_dinov3": (768, 12, 12), "vit_base_patch16_dinov3_qkvb": (768, 12, 12),
        "vit_large_patch16_dinov3": (1024, 24, 16), "vit_large_patch16_dinov3_qkvb": (1024, 24, 16),
        "vit_huge_plus_patch16_dinov3": (1280, 32, 20), "vit_huge_plus_patch16_dinov3_qkvb": (1280, 32, 20),
        "vit_7b_patch16_dinov3": (4096, 40, 32),
    ]

    static let imagenetMean: [Float] = [0.485, 0.456, 0.406]
    static let imagenetStd: [Float] = [0.229, 0.224, 0.225]

    // MARK: Hugging Face

    static func huggingFace(_ c: JSON, preprocessor: JSON?, tensors: [String: SafeTensors.Tensor]) throws -> ModelSpec {
        guard let prefix = ModelConfig.prefix(endingWith: "embeddings.cls_token", in: tensors) else {
            throw TesseraError.format("model.safetensors: no '*embeddings.cls_token' tensor; expected Hugging Face DINOv3ViTModel naming")
        }
        let arch = c["architectures"]?.array?.first?.string ?? "DINOv3ViTModel"
        var s = ModelSpec(family: .dinov3, naming: .huggingFace(prefix: prefix), architecture: arch)
        s.hidden = try ModelConfig.int(c, "hidden_size")
        s.layers = try ModelConfig.int(c, "num_hidden_layers")
        s.heads = try ModelConfig.int(c, "num_attention_heads")
        s.mlp = try ModelConfig.int(c, "intermediate_size")
        s.patch = try ModelConfig.int(c, "patch_size")
        s.channels = try ModelConfig.int(c, "num_channels", default: 3)
        let image = try ModelConfig.int(c, "image_size", default: 224)
        s.imageHeight = image; s.imageWidth = image
        s.registers = try ModelConfig.int(c, "num_register_tokens", default: 0)
        s.eps = Float(c["layer_norm_eps"]?.double ?? 1e-5)
        s.ropeTheta = Float(c["rope_theta"]?.double ?? 100)
        s.gatedMLP = c["use_gated_mlp"]?.bool ?? c["use_swiglu_ffn"]?.bool ?? false
        let act = c["hidden_act"]?.string ?? "gelu"
        let wanted = s.gatedMLP ? "silu" : "gelu"
        guard act == wanted || (s.gatedMLP && act == "swish") else {
            throw TesseraError.unsupported("config.json: hidden_act \"\(act)\" with use_gated_mlp \(s.gatedMLP) is not supported; expected \"\(wanted)\" (\(s.gatedMLP ? "SwiGLU" : "exact erf GELU"))")
        }
        s.layerScale = true
        s.positionedPrefix = 0
        s.biases = .init(query: c["query_bias"]?.bool ?? true, key: c["key_bias"]?.bool ?? false,
                         value: c["value_bias"]?.bool ?? true, proj: c["proj_bias"]?.bool ?? true,
                         mlp: c["mlp_bias"]?.bool ?? true)
        s.mean = ModelConfig.floats(preprocessor, "image_mean") ?? imagenetMean
        s.std = ModelConfig.floats(preprocessor, "image_std") ?? imagenetStd
        s.preprocessing = try Preprocessing.huggingFace(preprocessor)
        try s.validate()
        return s
    }

    /// The block tensors' prefix: "layer.N." (transformers 4.56) or
    /// "model.layer.N." (transformers 5, an encoder named `model`).
    static func huggingFaceLayers(_ prefix: String, _ tensors: [String: SafeTensors.Tensor]) -> String {
        tensors[prefix + "model.layer.0.norm1.weight"] != nil ? prefix + "model.layer." : prefix + "layer."
    }

    // MARK: timm

    static func timm(_ c: JSON, architecture: String, tensors: [String: SafeTensors.Tensor]) throws -> ModelSpec {
        var s = ModelSpec(family: .dinov3, naming: .timm, architecture: architecture)
        let args = c["model_args"] ?? .object([])
        try ModelConfig.timmShape(tensors, into: &s)
        s.gatedMLP = tensors["blocks.0.mlp.fc1_g.weight"] != nil
        let fc1 = tensors[s.gatedMLP ? "blocks.0.mlp.fc1_g.weight" : "blocks.0.mlp.fc1.weight"]
        guard let fc1, fc1.shape.count == 2 else {
            throw TesseraError.format("model.safetensors: missing 'blocks.0.mlp.fc1.weight' (or fc1_g/fc1_x for SwiGLU)")
        }
        s.mlp = fc1.shape[0]
        if let h = args["num_heads"]?.int {
            s.heads = h
        } else if let known = timmArchitectures[architecture] {
            guard known.hidden == s.hidden, known.depth == s.layers else {
                throw TesseraError.format("config.json: \"\(architecture)\" has hidden \(known.hidden) and \(known.depth) blocks, but the weights have \(s.hidden) and \(s.layers); give model_args.num_heads for a resized model")
            }
            s.heads = known.heads
        } else {
            throw TesseraError.unsupported("config.json: unknown timm DINOv3 architecture \"\(architecture)\"; expected one of \(timmArchitectures.keys.sorted().joined(separator: ", ")), or model_args.num_heads")
        }
        s.registers = tensors["reg_token"]?.shape.dropFirst().first ?? 0
        s.layerScale = true
        // The _qkvb models have q and v biases (k's is zero); the others none.
        let qkvb = args["qkv_bias"]?.bool ?? architecture.hasSuffix("_qkvb")
        s.biases = .init(query: qkvb, key: false, value: qkvb, proj: true, mlp: true)
        s.eps = Float(args["norm_eps"]?.double ?? 1e-5)
        s.ropeTheta = Float(args["rope_temperature"]?.double ?? 100)
        s.positionedPrefix = 0
        let cfg = c["pretrained_cfg"]
        // 256 x 256: timm's pretrained_cfg for every DINOv3.
        (s.imageHeight, s.imageWidth) = ModelConfig.timmInputSize(cfg, args, otherwise: (256, 256))
        s.mean = ModelConfig.floats(cfg, "mean") ?? imagenetMean
        s.std = ModelConfig.floats(cfg, "std") ?? imagenetStd
        s.preprocessing = try Preprocessing.timm(cfg, height: s.imageHeight, width: s.imageWidth)
        if let w = tensors["head.weight"], w.shape.count == 2, w.shape[0] > 0 {
            throw TesseraError.unsupported("model.safetensors: a classifier head on DINOv3 is not supported; load the backbone (num_classes 0)")
        }
        try s.validate()
        return s
    }

    // MARK: Weights and block

    /// Both layouts' names, by planner tensor.
    static func table(_ s: ModelSpec, _ tensors: [String: SafeTensors.Tensor]) -> WeightLayout.Table {
        let d = s.hidden
        switch s.naming {
        case .huggingFace(let pre):
            let e = pre + "embeddings."
            let at = "attention.", m = "mlp."
            // A bias the config turns off is zero: "" in a concatenation, none otherwise.
            let qkvBias = zip(["q", "k", "v"], [s.biases.query, s.biases.key, s.biases.value]).map { $1 ? at + $0 + "_proj.bias" : "" }
            let first = s.gatedMLP ? ["gate_proj", "up_proj"] : ["up_proj"]
            let block: [(WeightKey.BlockTensor, WeightLayout.Names)] = [
                (.norm1Weight, ["norm1.weight"]), (.norm1Bias, ["norm1.bias"]),
                (.qkvWeight, ["q", "k", "v"].map { at + $0 + "_proj.weight" }),
                (.qkvBias, qkvBias.allSatisfy(\.isEmpty) ? [] : qkvBias),
                (.projWeight, [at + "o_proj.weight"]), (.projBias, s.biases.proj ? [at + "o_proj.bias"] : []),
                (.scale1, ["layer_scale1.lambda1"]),
                (.norm2Weight, ["norm2.weight"]), (.norm2Bias, ["norm2.bias"]),
                (.fc1Weight, first.map { m + $0 + ".weight" }), (.fc1Bias, s.biases.mlp ? first.map { m + $0 + ".bias" } : []),
                (.fc2Weight, [m + "down_proj.weight"]), (.fc2Bias, s.biases.mlp ? [m + "down_proj.bias"] : []),
                (.scale2, ["layer_scale2.lambda1"]),
            ]
            var other: [(WeightKey, WeightLayout.Names, shape: [Int])] = [
                (.patchWeight, [e + "patch_embeddings.weight"], [d, s.channels, s.patch, s.patch]),
                (.patchBias, [e + "patch_embeddings.bias"], [d]),
                (.cls, [e + "cls_token"], [1, 1, d]),
                (.normWeight, [pre + "norm.weight"], [d]), (.normBias, [pre + "norm.bias"], [d]),
            ]
            if s.registers > 0 { other.append((.registers, [e + "register_tokens"], [1, s.registers, d])) }
            let blocks = huggingFaceLayers(pre, tensors)
            return WeightLayout.Table(blockPrefix: { blocks + "\($0)." }, block: block, other: other, ignored: [e + "mask_token"])
        case .timm:
            let first = s.gatedMLP ? ["fc1_g", "fc1_x"] : ["fc1"]
            // _qkvb models: q_bias and v_bias, k's is zero; the others: none.
            let block: [(WeightKey.BlockTensor, WeightLayout.Names)] = [
                (.norm1Weight, ["norm1.weight"]), (.norm1Bias, ["norm1.bias"]),
                (.qkvWeight, ["attn.qkv.weight"]), (.qkvBias, s.biases.query ? ["attn.q_bias", "", "attn.v_bias"] : []),
                (.projWeight, ["attn.proj.weight"]), (.projBias, ["attn.proj.bias"]),
                (.scale1, ["gamma_1"]),
                (.norm2Weight, ["norm2.weight"]), (.norm2Bias, ["norm2.bias"]),
                (.fc1Weight, first.map { "mlp." + $0 + ".weight" }), (.fc1Bias, first.map { "mlp." + $0 + ".bias" }),
                (.fc2Weight, ["mlp.fc2.weight"]), (.fc2Bias, ["mlp.fc2.bias"]),
                (.scale2, ["gamma_2"]),
            ]
            return WeightLayout.Table(blockPrefix: { "blocks.\($0)." }, block: block, other: SharedNames.timm(s))
        }
    }

    /// DINOv3ViTLayer: h = x + λ₁ ⊙ o_proj(attention(RoPE(q), RoPE(k), v of norm1(x)));
    /// h + λ₂ ⊙ mlp(norm2(h)), mlp GELU or SwiGLU.
    static func block(_ b: inout BlockBuilder, _ w: BlockWeights, _ s: ModelSpec) {
        b.attention(norm: w.norm1, qkv: w.qkv, proj: w.proj, scale: w.scale1, rope: true)
        b.mlp(norm: w.norm2, fc1: w.fc1, fc2: w.fc2, scale: w.scale2, kind: s.gatedMLP ? .swiglu : .gelu)
    }
}
