import Synchronization
#if canImport(Glibc)
import Glibc
#endif
import TesseraKernelCore

/// A loaded model: its spec and all weights in fp32, GEMM weights packed.
/// Immutable after load, so any number of threads may share it.
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
    private let quantizedWeights = Mutex<QuantizedWeights?>(nil)
    /// NUL-terminated label strings, valid as long as the model.
    private let labelCStrings: [Int: UnsafeMutablePointer<CChar>]

    private init(spec: ModelSpec, path: String, storage: AlignedBuffer, offsets: [WeightKey: Int], parameterCount: Int) throws {
        self.spec = spec; self.path = path; self.storage = storage; self.offsets = offsets
        self.parameterCount = parameterCount
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
    /// whichever thread asks first; sessions on other threads wait for it).
    func quantized() throws -> QuantizedWeights {
        try quantizedWeights.withLock { made in
            if let made { return made }
            let q = try QuantizedWeights(spec: spec, weights: weights)
            made = q
            return q
        }
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
        var offsets: [WeightKey: Int] = [:]
        var total = 0
        for item in layout.items {
            offsets[item.key] = total
            total += (item.floats + 15) / 16 * 16
        }
        let buffer = try AlignedBuffer(floats: total)
        var params = 0
        var scratch: AlignedBuffer? = nil
        for item in layout.items {
            let dst = buffer.pointer + offsets[item.key]!
            switch item.kind {
            case .vector:
                var at = dst
                for s in item.sources {
                    if s.isZero { at.update(repeating: 0, count: s.count); at += s.count; continue }
                    let t = file.tensors[s.name]!
                    file.readFloats(t, into: at)
                    file.release(t)
                    at += t.count
                    params += t.count
                }
            case .packed(let n, let k):
                let (need, _) = n.multipliedReportingOverflow(by: k)
                if scratch == nil || scratch!.count < need { scratch = try AlignedBuffer(floats: need) }
                var at = scratch!.pointer
                for s in item.sources {
                    if s.isZero { at.update(repeating: 0, count: s.count); at += s.count; continue }
                    let t = file.tensors[s.name]!
                    file.readFloats(t, into: at)
                    file.release(t)
                    at += t.count
                    params += t.count
                }
                GemmLayout.packWeights(scratch!.pointer, n: n, k: k, ldw: k, into: dst)
            }
        }
        return try Model(spec: spec, path: path, storage: buffer, offsets: offsets, parameterCount: params)
    }
}
