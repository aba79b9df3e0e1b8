import TesseraKernelCore

/// Where each weight comes from in the file and how it is held in memory:
/// a GEMM weight is packed (see `GemmLayout`), anything else is a plain fp32
/// vector. The names come from the family's table (`ModelFamily.table`).
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
        let key: WeightKey
        let kind: Kind
        let sources: [Source]

        var floats: Int {
            switch kind {
            case .vector(let c): return c
            case .packed(let n, let k): return GemmLayout.packedCount(n: n, k: k)
            }
        }
    }

    /// A family's names for one planner tensor, in the layout at hand: the
    /// file's tensors whose values are concatenated into it ("" for a part
    /// that is zero, e.g. an absent k bias; none at all for an absent bias).
    typealias Names = [String]

    /// A family's tensor table for one layout. Block names are relative to
    /// `blockPrefix(i)`; the others are full names with their shapes.
    struct Table {
        var blockPrefix: (Int) -> String
        var block: [(WeightKey.BlockTensor, Names)]
        var other: [(WeightKey, Names, shape: [Int])]
        var ignored: [String] = []
    }

    var items: [Item] = []
    /// Tensors the file may hold that inference does not use.
    var ignored: Set<String> = []

    /// The layout of a model from its family's table: the shape of every
    /// block tensor follows from the spec (a packed [n, k] weight split evenly
    /// over its sources along n, a vector likewise).
    init(spec s: ModelSpec, tensors: [String: SafeTensors.Tensor] = [:]) {
        let table = s.family.definition.table(s, tensors)
        ignored = Set(table.ignored)
        let d = s.hidden, f = s.mlp * (s.gatedMLP ? 2 : 1)
        func add(_ key: WeightKey, _ kind: Kind, _ names: Names, _ prefix: String = "", shape: [Int]? = nil) {
            let parts = max(names.count, 1)
            let sources: [Source] = names.map { name in
                let each: [Int]
                switch kind {
                case .vector(let c): each = shape ?? [c / parts]
                case .packed(let n, let k): each = shape ?? [n / parts, k]
                }
                return name.isEmpty ? .zeros(each.reduce(1, *)) : Source(name: prefix + name, shape: each)
            }
            items.append(Item(key: key, kind: kind, sources: sources))
        }
        for (key, names, shape) in table.other {
            let count = shape.reduce(1, *)
            switch key {
            case .patchWeight, .headWeight, .distillationHeadWeight:
                add(key, .packed(n: shape[0], k: count / shape[0]), names, shape: shape)
            default:
                add(key, .vector(count: count), names, shape: shape)
            }
        }
        for i in 0..<s.layers {
            let prefix = table.blockPrefix(i)
            for (part, names) in table.block {
                let kind: Kind
                switch part {
                case .norm1Weight, .norm1Bias, .norm2Weight, .norm2Bias, .projBias, .fc2Bias, .scale1, .scale2: kind = .vector(count: d)
                case .qkvWeight: kind = .packed(n: 3 * d, k: d)
                case .qkvBias: kind = .vector(count: 3 * d)
                case .projWeight: kind = .packed(n: d, k: d)
                case .fc1Weight: kind = .packed(n: f, k: d)
                case .fc1Bias: kind = .vector(count: f)
                case .fc2Weight: kind = .packed(n: d, k: s.mlp)
                }
                add(.block(i, part), kind, names, prefix)
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
