/// Reads config.json (Hugging Face or timm) and the safetensors header into a
/// `ModelSpec`. Dimensions come from the config and are then checked against
/// the tensors (see `WeightLayout`).
enum ModelConfig {
    static func spec(config: JSON, preprocessor: JSON?, tensors: [String: SafeTensors.Tensor]) throws -> ModelSpec {
        guard config.members != nil else { throw TesseraError.format("config.json: expected a JSON object at the top level") }
        if let modelType = config["model_type"]?.string {
            if DINOv3.huggingFaceTypes.contains(modelType) {
                return try DINOv3.huggingFace(config, preprocessor: preprocessor, tensors: tensors)
            }
            return try huggingFace(config, modelType: modelType, preprocessor: preprocessor, tensors: tensors)
        }
        if let arch = config["architecture"]?.string {
            if DINOv3.isTimm(arch) { return try DINOv3.timm(config, architecture: arch, tensors: tensors) }
            return try timm(config, architecture: arch, tensors: tensors)
        }
        throw TesseraError.unsupported("config.json: unknown architecture: expected a Hugging Face \"model_type\" (vit, deit, dinov2, dinov2_with_registers, dinov3_vit) or a timm \"architecture\" (vit_*)")
    }

    static func int(_ j: JSON, _ key: String, default d: Int? = nil) throws -> Int {
        guard let v = j[key] else {
            if let d { return d }
            throw TesseraError.format("config.json: missing \"\(key)\"")
        }
        if case .array(let a) = v, let first = a.first?.int { return first }  // e.g. image_size [224, 224]
        guard let i = v.int else { throw TesseraError.format("config.json: \"\(key)\" must be an integer") }
        return i
    }

    static func floats(_ j: JSON?, _ key: String) -> [Float]? {
        guard let a = j?[key]?.array else { return nil }
        let v = a.compactMap { $0.double.map(Float.init) }
        return v.count == a.count ? v : nil
    }

    static func labels(_ config: JSON) -> [Int: String] {
        var out: [Int: String] = [:]
        for (k, v) in config["id2label"]?.members ?? [] {
            if let i = Int(k), let s = v.string { out[i] = s }
        }
        return out
    }

    static func resizeOverride(_ config: JSON, _ spec: inout ModelSpec) throws {
        guard let s = config["tessera_pos_resize"]?.string else { return }
        switch s {
        case "bicubic": spec.posResize = .bicubic
        case "bicubic_antialias": spec.posResize = .bicubicAntialias
        case "bicubic_offset": spec.posResize = .bicubicOffset
        default: throw TesseraError.format("config.json: tessera_pos_resize is \"\(s)\"; expected bicubic, bicubic_antialias or bicubic_offset")
        }
    }

    /// The key prefix under which the backbone's tensors live, e.g. "vit.".
    static func prefix(endingWith suffix: String, in tensors: [String: SafeTensors.Tensor]) -> String? {
        let hits = tensors.keys.filter { $0.hasSuffix(suffix) }.map { String($0.dropLast(suffix.count)) }
        return hits.min { $0.count < $1.count }
    }

    static func huggingFace(_ c: JSON, modelType: String, preprocessor: JSON?,
                            tensors: [String: SafeTensors.Tensor]) throws -> ModelSpec {
        let family: ModelSpec.Family
        switch modelType {
        case "vit": family = .vit
        case "deit": family = .deit
        case "dinov2", "dinov2_with_registers": family = .dinov2
        default:
            throw TesseraError.unsupported("config.json: model_type \"\(modelType)\" is not supported; expected vit, deit, dinov2, dinov2_with_registers or dinov3_vit")
        }
        guard let prefix = prefix(endingWith: "embeddings.cls_token", in: tensors) else {
            throw TesseraError.format("model.safetensors: no '*embeddings.cls_token' tensor; expected Hugging Face \(modelType) naming")
        }
        let arch = c["architectures"]?.array?.first?.string ?? modelType
        var s = ModelSpec(family: family, naming: .huggingFace(prefix: prefix), architecture: arch)
        s.hidden = try int(c, "hidden_size")
        s.layers = try int(c, "num_hidden_layers")
        s.heads = try int(c, "num_attention_heads")
        s.patch = try int(c, "patch_size")
        s.channels = try int(c, "num_channels", default: 3)
        let image = try int(c, "image_size")
        s.imageHeight = image; s.imageWidth = image
        s.qkvBias = c["qkv_bias"]?.bool ?? true
        s.eps = Float(c["layer_norm_eps"]?.double ?? (family == .dinov2 ? 1e-6 : 1e-12))
        let act = c["hidden_act"]?.string ?? "gelu"
        guard act == "gelu" else {
            throw TesseraError.unsupported("config.json: hidden_act \"\(act)\" is not supported; expected \"gelu\" (exact erf GELU)")
        }
        s.labels = labels(c)
        switch family {
        case .vit: try ViT.configure(&s, c)
        case .deit: try DeiT.configure(&s, c)
        case .dinov2: try DINOv2.configure(&s, c, modelType: modelType)
        case .dinov3: break  // DINOv3.huggingFace reads its own config
        }
        if let m = floats(preprocessor, "image_mean") { s.mean = m }
        if let sd = floats(preprocessor, "image_std") { s.std = sd }
        s.preprocessing = try Preprocessing.huggingFace(preprocessor)
        // Heads.
        let hasTeacher = tensors["cls_classifier.weight"] != nil && tensors["distillation_classifier.weight"] != nil
        if hasTeacher {
            s.head = .clsAndDistillation
            s.classes = tensors["cls_classifier.weight"]!.shape.first ?? 0
        } else if let w = tensors["classifier.weight"] {
            guard family != .dinov2 else {
                throw TesseraError.unsupported("model.safetensors: Dinov2ForImageClassification's head (CLS + mean patch) is not supported yet; load the backbone")
            }
            s.head = .cls
            s.classes = w.shape.first ?? 0
        }
        guard let pos = tensors[prefix + "embeddings.position_embeddings"], pos.shape.count == 3 else {
            throw TesseraError.format("model.safetensors: missing '\(prefix)embeddings.position_embeddings' [1, tokens, hidden]")
        }
        try setGrid(&s, positions: pos.shape[1], name: prefix + "embeddings.position_embeddings")
        try resizeOverride(c, &s)
        try s.validate()
        return s
    }

    static func setGrid(_ s: inout ModelSpec, positions: Int, name: String) throws {
        let n = positions - s.positionedPrefix
        let m = Int(Double(max(n, 0)).squareRoot().rounded())
        guard n > 0, m * m == n else {
            throw TesseraError.format("model.safetensors: '\(name)' has \(positions) positions; expected \(s.positionedPrefix) + a square number of patches")
        }
        s.posGrid = m
    }

    /// What a timm ViT's tensors say of its shape: hidden (cls_token), blocks,
    /// patch and channels (patch_embed).
    static func timmShape(_ tensors: [String: SafeTensors.Tensor], into s: inout ModelSpec) throws {
        guard let cls = tensors["cls_token"], cls.shape.count == 3 else {
            throw TesseraError.unsupported("model.safetensors: no 'cls_token' [1, 1, D]; timm models without a class token are not supported")
        }
        s.hidden = cls.shape[2]
        var depth = 0
        while tensors["blocks.\(depth).norm1.weight"] != nil, depth <= ModelSpec.maxLayers { depth += 1 }
        s.layers = depth
        guard let pw = tensors["patch_embed.proj.weight"], pw.shape.count == 4 else {
            throw TesseraError.format("model.safetensors: missing 'patch_embed.proj.weight' [D, C, P, P]")
        }
        s.patch = pw.shape[2]
        s.channels = pw.shape[1]
    }

    /// A timm model's trained input size: pretrained_cfg's input_size
    /// [C, H, W], else model_args' img_size (N or [H, W]), else `otherwise`.
    static func timmInputSize(_ cfg: JSON?, _ args: JSON, otherwise: (Int, Int)) -> (Int, Int) {
        if let input = cfg?["input_size"]?.array, input.count == 3, let h = input[1].int, let w = input[2].int {
            return (h, w)
        }
        if let img = args["img_size"] {
            let v = img.int ?? img.array?.first?.int ?? 0
            return (v, img.array?.last?.int ?? v)
        }
        return otherwise
    }

    static let timmHeads: [(String, Int)] = [("tiny", 3), ("small", 6), ("base", 12), ("large", 16), ("huge", 16), ("giant", 24)]

    static func timm(_ c: JSON, architecture: String, tensors: [String: SafeTensors.Tensor]) throws -> ModelSpec {
        guard architecture.hasPrefix("vit_") else {
            throw TesseraError.unsupported("config.json: timm architecture \"\(architecture)\" is not supported; expected vit_*")
        }
        var s = ModelSpec(family: architecture.contains("dinov2") ? .dinov2 : .vit, naming: .timm, architecture: architecture)
        let args = c["model_args"] ?? .object([])
        try timmShape(tensors, into: &s)
        if let fc1 = tensors["blocks.0.mlp.fc1.weight"], fc1.shape.count == 2 { s.mlp = fc1.shape[0] }
        if let h = args["num_heads"]?.int {
            s.heads = h
        } else if let h = timmHeads.first(where: { architecture.contains("_\($0.0)_") })?.1 {
            s.heads = h
        } else {
            throw TesseraError.format("config.json: cannot tell the number of heads of \"\(architecture)\"; give model_args.num_heads")
        }
        if let gp = c["global_pool"]?.string ?? args["global_pool"]?.string, gp != "token" {
            throw TesseraError.unsupported("config.json: global_pool \"\(gp)\" is not supported; expected \"token\"")
        }
        if tensors["fc_norm.weight"] != nil {
            throw TesseraError.unsupported("model.safetensors: fc_norm (pooled-token norm) is not supported")
        }
        s.registers = tensors["reg_token"]?.shape.dropFirst().first ?? 0
        s.layerScale = tensors["blocks.0.ls1.gamma"] != nil
        s.qkvBias = tensors["blocks.0.attn.qkv.bias"] != nil
        s.eps = Float(args["norm_eps"]?.double ?? 1e-6)
        s.posResize = .bicubicAntialias
        if let w = tensors["head.weight"], w.shape.count == 2, w.shape[0] > 0 { s.head = .cls; s.classes = w.shape[0] }
        guard let pos = tensors["pos_embed"], pos.shape.count == 3 else {
            throw TesseraError.format("model.safetensors: missing 'pos_embed' [1, tokens, D]")
        }
        let noEmbedClass = args["no_embed_class"]?.bool
        let prefixCount = 1 + s.registers
        func isSquare(_ n: Int) -> Bool { let m = Int(Double(max(n, 0)).squareRoot().rounded()); return n > 0 && m * m == n }
        if let ne = noEmbedClass {
            s.positionedPrefix = ne ? 0 : prefixCount
        } else {
            s.positionedPrefix = isSquare(pos.shape[1]) ? 0 : prefixCount
        }
        try setGrid(&s, positions: pos.shape[1], name: "pos_embed")
        let cfg = c["pretrained_cfg"]
        (s.imageHeight, s.imageWidth) = timmInputSize(cfg, args, otherwise: (s.posGrid * s.patch, s.posGrid * s.patch))
        if s.family == .vit { s.mean = [0.5, 0.5, 0.5]; s.std = [0.5, 0.5, 0.5] }
        if let m = floats(cfg, "mean") { s.mean = m }
        if let sd = floats(cfg, "std") { s.std = sd }
        s.preprocessing = try Preprocessing.timm(cfg, height: s.imageHeight, width: s.imageWidth)
        s.labels = labels(c)
        if let names = c["label_names"]?.array {
            for (i, n) in names.enumerated() { if let t = n.string { s.labels[i] = t } }
        }
        try resizeOverride(c, &s)
        try s.validate()
        return s
    }
}
