#if canImport(Glibc)
import Glibc
#endif
import TesseraKernelCore

/// A loaded model: its spec and all weights in fp32, GEMM weights packed.
/// Immutable after load, so any number of threads may share it (the
/// blocks' Linear weights are written once, under a lock, before the first
/// session that reads them).
final class Model {
    let spec: ModelSpec
    let path: String
    private let storage: AlignedBuffer
    private let offsets: [WeightKey: Int]
    let parameterCount: Int
    private let halves: AlignedBuffer
    /// Every weight, typed (pointers into `storage`).
    let weights: ModelWeights
    /// The int8 weights, made at the first int8 session (`quantized()`).
    private let quantizedWeights = Locked<QuantizedWeights?>(nil)
    /// The blocks' Linear weights (most of a ViT's bytes) as the file holds
    /// them: packed into `storage` for fp32 only when the first fp32 session
    /// asks (`prepareFP32`), so that a process that runs only int8 never
    /// holds them in fp32 (their pages stay untouched). Empty when they were
    /// packed at load (a model loaded from memory).
    private let deferred: [WeightLayout.Item]
    /// The file they are read from and its tensors as validated at load: a
    /// later read checks the file still holds the same tensors.
    private let source: (path: String, tensors: [String: SafeTensors.Tensor])?
    private let fp32Ready: Locked<Bool>
    /// NUL-terminated label strings, valid as long as the model.
    private let labelCStrings: [Int: UnsafeMutablePointer<CChar>]

    private init(spec: ModelSpec, path: String, storage: AlignedBuffer, offsets: [WeightKey: Int], parameterCount: Int,
                 deferred: [WeightLayout.Item], source: (path: String, tensors: [String: SafeTensors.Tensor])?) throws {
        self.spec = spec; self.path = path; self.storage = storage; self.offsets = offsets
        self.parameterCount = parameterCount
        self.deferred = deferred; self.source = source
        fp32Ready = Locked(deferred.isEmpty)
        let halves = try AlignedBuffer(floats: max(1, spec.classes))
        for i in 0..<halves.count { halves.pointer[i] = 0.5 }
        self.halves = halves
        weights = ModelWeights(spec: spec, half: UnsafePointer(halves.pointer)) { key in
            offsets[key].map { UnsafePointer(storage.pointer + $0) }
        }
        var labels: [Int: UnsafeMutablePointer<CChar>] = [:]
        for (i, s) in spec.labels where i >= 0 && i < spec.classes { labels[i] = strdup(s) }
        labelCStrings = labels
    }

    deinit { for p in labelCStrings.values { free(p) } }

    var weightBytes: Int { storage.bytes }

    /// The int8 copy of the blocks' Linear weights, made on first use (once,
    /// whichever thread asks first; sessions on other threads wait for it):
    /// from the fp32 packed weights when an fp32 session has packed them,
    /// else straight from the file, one weight at a time.
    func quantized() throws -> QuantizedWeights {
        try quantizedWeights.withLock { made in
            if let made { return made }
            let packed = fp32Ready.withLock { $0 }
            let items = Dictionary(uniqueKeysWithValues: deferred.map { ($0.key, $0) })
            let file = packed ? nil : try reopen()
            var scratch: AlignedBuffer? = nil
            let q = try QuantizedWeights(spec: spec) { key, n, k, body in
                let w = try Model.scratch(&scratch, n * k)
                if let file, let item = items[key] {
                    Model.assemble(item, from: file, into: w)
                } else {
                    // W[c][kk] from the fp32 panels (GemmLayout).
                    let src = weight(key)!
                    for c in 0..<n {
                        for kk in 0..<k { w[c * k + kk] = src[GemmLayout.columnOffset(c, depth: k) + kk * GemmLayout.panelWidth] }
                    }
                }
                body(w)
            }
            made = q
            return q
        }
    }

    /// Packs the blocks' Linear weights for fp32 if they are not yet (the
    /// first fp32 session of the model; later calls return at once).
    func prepareFP32() throws {
        try fp32Ready.withLock { ready in
            if ready { return }
            let file = try reopen()
            var scratch: AlignedBuffer? = nil
            for item in deferred {
                guard case .packed(let n, let k) = item.kind else { continue }
                try Model.pack(item, n: n, k: k, from: file, scratch: &scratch, into: storage.pointer + offsets[item.key]!)
            }
            ready = true
        }
    }

    /// The weights file again, checked against what was validated at load.
    private func reopen() throws -> SafeTensors {
        guard let source else { throw TesseraError.io("\(path): no file to read the blocks' weights from") }
        let file: SafeTensors
        do { file = try SafeTensors(path: source.path) } catch let e as TesseraError {
            throw TesseraError(status: e.status, message: "reading \(source.path) again for the blocks' weights: \(e.message)")
        }
        for item in deferred {
            for s in item.sources where !s.isZero {
                let was = source.tensors[s.name]!
                guard let now = file.tensors[s.name], now.dtype == was.dtype, now.shape == was.shape,
                      now.offset == was.offset, now.byteCount == was.byteCount else {
                    throw TesseraError.format("\(source.path) changed since the model was loaded (tensor \(s.name)); load the model again")
                }
            }
        }
        return file
    }

    /// Bytes of int8 weights made so far (0 before the first int8 session).
    var quantizedBytes: Int { quantizedWeights.withLock { $0?.bytes ?? 0 } }

    func label(_ index: Int) -> UnsafePointer<CChar>? { labelCStrings[index].map { UnsafePointer($0) } }

    /// Pointer to a weight by key; nil if the model has none (e.g. no layer scale).
    func weight(_ key: WeightKey) -> UnsafePointer<Float>? {
        offsets[key].map { UnsafePointer(storage.pointer + $0) }
    }


    /// Loads a directory holding config.json and model.safetensors, or a
    /// .safetensors file with config.json beside it.
    static func load(path: String) throws -> Model {
        guard !path.isEmpty else { throw TesseraError.invalid("model path is empty") }
        let dir: String, weightsPath: String
        if isDirectory(path) {
            dir = path
            weightsPath = path + "/model.safetensors"
        } else if path.hasSuffix(".safetensors") {
            guard fileExists(path) else { throw TesseraError.io("cannot open \(path): no such file") }
            let slash = path.lastIndex(of: "/")
            dir = slash.map { String(path[..<$0]) } ?? "."
            weightsPath = path
        } else if fileExists(path) {
            throw TesseraError.invalid("\(path) is neither a model directory nor a .safetensors file")
        } else {
            throw TesseraError.io("cannot open \(path): no such file or directory")
        }
        let configPath = dir + "/config.json"
        guard fileExists(configPath) else {
            throw TesseraError.io("\(dir) has no config.json; expected config.json and model.safetensors")
        }
        let config: JSON
        do { config = try JSON.parse(try readSmallFile(configPath)) } catch let e as TesseraError {
            throw TesseraError(status: e.status, message: "config.json: \(e.message)")
        }
        var preprocessor: JSON? = nil
        let prePath = dir + "/preprocessor_config.json"
        if fileExists(prePath) {
            do { preprocessor = try JSON.parse(try readSmallFile(prePath)) } catch let e as TesseraError {
                throw TesseraError(status: e.status, message: "preprocessor_config.json: \(e.message)")
            }
        }
        guard fileExists(weightsPath) else { throw TesseraError.io("\(dir) has no model.safetensors") }
        return try build(path: path, config: config, preprocessor: preprocessor, file: SafeTensors(path: weightsPath))
    }

    /// Loads a model from bytes in memory: config.json, preprocessor_config.json
    /// (optional) and model.safetensors, with the same checks as `load(path:)`.
    /// (The fuzzer's entry; the weights are copied, so the bytes need not outlive the call.)
    static func load(config: UnsafeRawBufferPointer, preprocessor: UnsafeRawBufferPointer?,
                     safetensors: UnsafeRawBufferPointer) throws -> Model {
        func parse(_ name: String, _ b: UnsafeRawBufferPointer) throws -> JSON {
            let limit = 16 << 20
            guard b.count <= limit else { throw TesseraError.format("\(name) is \(b.count) bytes; expected at most \(limit)") }
            do { return try JSON.parse(Array(b)) } catch let e as TesseraError {
                throw TesseraError(status: e.status, message: "\(name): \(e.message)")
            }
        }
        let cfg = try parse("config.json", config)
        let pre = try preprocessor.map { try parse("preprocessor_config.json", $0) }
        let file = try SafeTensors(file: MappedFile(name: "model.safetensors", copying: safetensors))
        return try build(path: "<memory>", config: cfg, preprocessor: pre, file: file)
    }

    /// Everything after the files are read: spec, layout checks, conversion, packing.
    private static func build(path: String, config: JSON, preprocessor: JSON?, file: SafeTensors) throws -> Model {
        let spec = try ModelConfig.spec(config: config, preprocessor: preprocessor, tensors: file.tensors)
        let layout = WeightLayout(spec: spec, tensors: file.tensors)
        try layout.validate(file.tensors)

        // Sizes are bounded by the validated file, so this allocation is too.
        // The blocks' Linear weights, when deferred, go last and together:
        // pages that no write touches stay out of memory (with transparent
        // huge pages, one small weight written amid them would bring in 2 MiB).
        let lazy = file.file.isMapped
        var offsets: [WeightKey: Int] = [:]
        var total = 0
        for last in [false, true] {
            for item in layout.items where (lazy && item.key.isBlockLinear) == last {
                offsets[item.key] = total
                total += (item.floats + 15) / 16 * 16
            }
        }
        let buffer = try AlignedBuffer(floats: total)
        var params = 0
        var scratch: AlignedBuffer? = nil
        // The blocks' Linear weights wait for the first session when they
        // can be read again from a file (see `deferred`).
        var deferred: [WeightLayout.Item] = []
        for item in layout.items {
            let dst = buffer.pointer + offsets[item.key]!
            params += item.sources.reduce(0) { $0 + ($1.isZero ? 0 : $1.count) }
            switch item.kind {
            case .vector:
                assemble(item, from: file, into: dst)
            case .packed(let n, let k):
                if lazy && item.key.isBlockLinear { deferred.append(item); continue }
                try pack(item, n: n, k: k, from: file, scratch: &scratch, into: dst)
            }
        }
        var tensors: [String: SafeTensors.Tensor] = [:]
        for item in deferred { for s in item.sources where !s.isZero { tensors[s.name] = file.tensors[s.name]! } }
        return try Model(spec: spec, path: path, storage: buffer, offsets: offsets, parameterCount: params,
                         deferred: deferred, source: lazy ? (file.file.path, tensors) : nil)
    }

    /// A packed item's weight W [n, k], assembled in `scratch`, packed into
    /// `dst` (GemmLayout).
    private static func pack(_ item: WeightLayout.Item, n: Int, k: Int, from file: SafeTensors,
                             scratch: inout AlignedBuffer?, into dst: UnsafeMutablePointer<Float>) throws {
        let (need, _) = n.multipliedReportingOverflow(by: k)
        let w = try Model.scratch(&scratch, need)
        assemble(item, from: file, into: w)
        GemmLayout.packWeights(w, n: n, k: k, ldw: k, into: dst)
    }

    /// `buffer`, made or replaced so that it holds at least `floats`.
    private static func scratch(_ buffer: inout AlignedBuffer?, _ floats: Int) throws -> UnsafeMutablePointer<Float> {
        if let b = buffer, b.count >= floats { return b.pointer }
        let b = try AlignedBuffer(floats: floats)
        buffer = b
        return b.pointer
    }

    /// An item's sources, concatenated (a packed item's along n: row-major).
    private static func assemble(_ item: WeightLayout.Item, from file: SafeTensors, into dst: UnsafeMutablePointer<Float>) {
        var at = dst
        for s in item.sources {
            if s.isZero { at.update(repeating: 0, count: s.count); at += s.count; continue }
            let t = file.tensors[s.name]!
            file.readFloats(t, into: at)
            file.release(t)
            at += t.count
        }
    }
}
