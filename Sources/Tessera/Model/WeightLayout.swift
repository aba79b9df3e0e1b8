import TesseraKernelCore

/// Where each weight comes from in the file and how it is held in memory:
/// a GEMM weight is packed (see `GemmLayout`), anything else is a plain fp32
/// vector. Family naming lives here and nowhere else.
struct WeightLayout {
    struct Source {
        let name: String
        let shape: [Int]
        /// Not in the file: `shape`'s count of zeros (e.g. DINOv3's absent k bias).
        var isZero = false

        static func zeros(_ count: Int) -> Source { Source(name: "", shape: [count], isZero: true) }
        var count: Int { shape.reduce(1, *) }
    }

    enum Kind {
        /// Plain floats; the sources are concatenated; no sources means zeros.
        case vector(count: Int)
        /// An [n, k] Linear weight packed for GEMM; sources concatenated along n.
        case packed(n: Int, k: Int)
    }

    struct Item {
        let key: String
        let kind: Kind
        let sources: [Source]

        var floats: Int {
            switch kind {
            case .vector(let c): return c
            case .packed(let n, let k): return GemmLayout.packedCount(n: n, k: k)
            }
        }
    }

    var items: [Item] = []
    /// Tensors the file may hold that inference does not use.
    var ignored: Set<String> = []
    /// The file's tensors, for a family whose names differ between versions
    /// of its reference (DINOv3's block prefix).
    let fileTensors: [String: SafeTensors.Tensor]

    static func layerKey(_ i: Int, _ what: String) -> String { "layer.\(i).\(what)" }

    mutating func vector(_ key: String, _ count: Int, _ sources: [Source]) {
        items.append(Item(key: key, kind: .vector(count: count), sources: sources))
    }

    mutating func packed(_ key: String, _ n: Int, _ k: Int, _ sources: [Source]) {
        items.append(Item(key: key, kind: .packed(n: n, k: k), sources: sources))
    }

    init(spec s: ModelSpec, tensors: [String: SafeTensors.Tensor] = [:]) {
        fileTensors = tensors
        if s.family == .dinov3 {
            DINOv3.layout(s, into: &self)
            return
        }
        let d = s.hidden, f = s.mlp, p = s.patch, c = s.channels
        let positions = s.positionedPrefix + s.posGrid * s.posGrid
        func vec(_ key: String, _ count: Int, _ sources: [Source]) { items.append(Item(key: key, kind: .vector(count: count), sources: sources)) }
        func packed(_ key: String, _ n: Int, _ k: Int, _ sources: [Source]) { items.append(Item(key: key, kind: .packed(n: n, k: k), sources: sources)) }
        func src(_ name: String, _ shape: [Int]) -> Source { Source(name: name, shape: shape) }

        switch s.naming {
        case .huggingFace(let pre):
            let e = pre + "embeddings."
            packed("patch.weight", d, c * p * p, [src(e + "patch_embeddings.projection.weight", [d, c, p, p])])
            vec("patch.bias", d, [src(e + "patch_embeddings.projection.bias", [d])])
            vec("cls", d, [src(e + "cls_token", [1, 1, d])])
            if s.hasDistillation { vec("dist", d, [src(e + "distillation_token", [1, 1, d])]) }
            if s.registers > 0 { vec("registers", s.registers * d, [src(e + "register_tokens", [1, s.registers, d])]) }
            vec("pos", positions * d, [src(e + "position_embeddings", [1, positions, d])])
            ignored.insert(e + "mask_token")
            ignored.insert(pre + "pooler.dense.weight")
            ignored.insert(pre + "pooler.dense.bias")
            let dino = s.family == .dinov2
            for i in 0..<s.layers {
                let l = "\(pre)encoder.layer.\(i)."
                let at = l + "attention.attention."
                let n1 = dino ? "norm1" : "layernorm_before", n2 = dino ? "norm2" : "layernorm_after"
                vec(Self.layerKey(i, "ln1.weight"), d, [src(l + n1 + ".weight", [d])])
                vec(Self.layerKey(i, "ln1.bias"), d, [src(l + n1 + ".bias", [d])])
                packed(Self.layerKey(i, "qkv.weight"), 3 * d, d,
                       ["query", "key", "value"].map { src(at + $0 + ".weight", [d, d]) })
                vec(Self.layerKey(i, "qkv.bias"), 3 * d,
                    s.qkvBias ? ["query", "key", "value"].map { src(at + $0 + ".bias", [d]) } : [])
                packed(Self.layerKey(i, "proj.weight"), d, d, [src(l + "attention.output.dense.weight", [d, d])])
                vec(Self.layerKey(i, "proj.bias"), d, [src(l + "attention.output.dense.bias", [d])])
                vec(Self.layerKey(i, "ln2.weight"), d, [src(l + n2 + ".weight", [d])])
                vec(Self.layerKey(i, "ln2.bias"), d, [src(l + n2 + ".bias", [d])])
                let fc1 = dino ? l + "mlp.fc1" : l + "intermediate.dense"
                let fc2 = dino ? l + "mlp.fc2" : l + "output.dense"
                packed(Self.layerKey(i, "fc1.weight"), f, d, [src(fc1 + ".weight", [f, d])])
                vec(Self.layerKey(i, "fc1.bias"), f, [src(fc1 + ".bias", [f])])
                packed(Self.layerKey(i, "fc2.weight"), d, f, [src(fc2 + ".weight", [d, f])])
                vec(Self.layerKey(i, "fc2.bias"), d, [src(fc2 + ".bias", [d])])
                if s.layerScale {
                    vec(Self.layerKey(i, "ls1"), d, [src(l + "layer_scale1.lambda1", [d])])
                    vec(Self.layerKey(i, "ls2"), d, [src(l + "layer_scale2.lambda1", [d])])
                }
            }
            vec("norm.weight", d, [src(pre + "layernorm.weight", [d])])
            vec("norm.bias", d, [src(pre + "layernorm.bias", [d])])
            switch s.head {
            case .none: break
            case .cls:
                packed("head.weight", s.classes, d, [src("classifier.weight", [s.classes, d])])
                vec("head.bias", s.classes, [src("classifier.bias", [s.classes])])
            case .clsAndDistillation:
                packed("head.weight", s.classes, d, [src("cls_classifier.weight", [s.classes, d])])
                vec("head.bias", s.classes, [src("cls_classifier.bias", [s.classes])])
                packed("dist_head.weight", s.classes, d, [src("distillation_classifier.weight", [s.classes, d])])
                vec("dist_head.bias", s.classes, [src("distillation_classifier.bias", [s.classes])])
            }
        case .timm:
            packed("patch.weight", d, c * p * p, [src("patch_embed.proj.weight", [d, c, p, p])])
            vec("patch.bias", d, [src("patch_embed.proj.bias", [d])])
            vec("cls", d, [src("cls_token", [1, 1, d])])
            if s.registers > 0 { vec("registers", s.registers * d, [src("reg_token", [1, s.registers, d])]) }
            vec("pos", positions * d, [src("pos_embed", [1, positions, d])])
            for i in 0..<s.layers {
                let l = "blocks.\(i)."
                vec(Self.layerKey(i, "ln1.weight"), d, [src(l + "norm1.weight", [d])])
                vec(Self.layerKey(i, "ln1.bias"), d, [src(l + "norm1.bias", [d])])
                packed(Self.layerKey(i, "qkv.weight"), 3 * d, d, [src(l + "attn.qkv.weight", [3 * d, d])])
                vec(Self.layerKey(i, "qkv.bias"), 3 * d, s.qkvBias ? [src(l + "attn.qkv.bias", [3 * d])] : [])
                packed(Self.layerKey(i, "proj.weight"), d, d, [src(l + "attn.proj.weight", [d, d])])
                vec(Self.layerKey(i, "proj.bias"), d, [src(l + "attn.proj.bias", [d])])
                vec(Self.layerKey(i, "ln2.weight"), d, [src(l + "norm2.weight", [d])])
                vec(Self.layerKey(i, "ln2.bias"), d, [src(l + "norm2.bias", [d])])
                packed(Self.layerKey(i, "fc1.weight"), f, d, [src(l + "mlp.fc1.weight", [f, d])])
                vec(Self.layerKey(i, "fc1.bias"), f, [src(l + "mlp.fc1.bias", [f])])
                packed(Self.layerKey(i, "fc2.weight"), d, f, [src(l + "mlp.fc2.weight", [d, f])])
                vec(Self.layerKey(i, "fc2.bias"), d, [src(l + "mlp.fc2.bias", [d])])
                if s.layerScale {
                    vec(Self.layerKey(i, "ls1"), d, [src(l + "ls1.gamma", [d])])
                    vec(Self.layerKey(i, "ls2"), d, [src(l + "ls2.gamma", [d])])
                }
            }
            vec("norm.weight", d, [src("norm.weight", [d])])
            vec("norm.bias", d, [src("norm.bias", [d])])
            if s.head == .cls {
                packed("head.weight", s.classes, d, [src("head.weight", [s.classes, d])])
                vec("head.bias", s.classes, [src("head.bias", [s.classes])])
            }
        }
    }

    /// Checks the file against the layout: every source present with the
    /// right shape and a float dtype, and nothing unexpected.
    func validate(_ tensors: [String: SafeTensors.Tensor]) throws {
        var missing: [String] = [], wrong: [String] = []
        var used = ignored
        for item in items {
            for s in item.sources where !s.isZero {
                used.insert(s.name)
                guard let t = tensors[s.name] else { missing.append("'\(s.name)' \(s.shape)"); continue }
                if !t.dtype.isFloat {
                    wrong.append("'\(s.name)' has dtype \(t.dtype.rawValue); expected F32, F16 or BF16")
                } else if t.shape != s.shape {
                    wrong.append("'\(s.name)' has shape \(t.shape); expected \(s.shape)")
                }
            }
        }
        func list(_ a: [String]) -> String {
            a.count <= 6 ? a.joined(separator: ", ") : a.prefix(6).joined(separator: ", ") + " and \(a.count - 6) more"
        }
        if !wrong.isEmpty { throw TesseraError.format("model.safetensors: \(list(wrong))") }
        if !missing.isEmpty { throw TesseraError.format("model.safetensors: missing tensors \(list(missing))") }
        let unexpected = tensors.keys.filter { !used.contains($0) }.sorted()
        if !unexpected.isEmpty {
            throw TesseraError.format("model.safetensors: unexpected tensors \(list(unexpected.map { "'\($0)'" })); the config describes a model without them (check num_hidden_layers, num_register_tokens and the heads)")
        }
    }
}
