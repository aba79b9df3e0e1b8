import XCTest
@testable import Tessera
import CTesseraABI

/// Inputs the fuzzers (fuzz/README.md) found, kept in fuzz/regressions/, and
/// the in-memory loader entry they go through.
///
/// loader-*: TesseraFuzzLoader's layout (u32 config_len | u32 preprocessor_len
/// | config | preprocessor | safetensors); each must be refused with an error,
/// never a trap. session-*: TesseraFuzzSession inputs; they are replayed by
/// `fuzz/run.sh regress` (they need the fuzz build).
final class FuzzRegressionTests: XCTestCase {
    static let regressions: String = {
        var root = fixturesDir
        for _ in 0..<2 { root = String(root[..<root.lastIndex(of: "/")!]) }
        return root + "/fuzz/regressions"
    }()

    /// What each loader regression must fail with: (status, message fragment).
    static let expected: [String: (tessera_status, String)] = [
        "loader-mlp-ratio-huge": (TESSERA_ERR_FORMAT, "mlp_ratio"),
        "loader-mlp-ratio-inf": (TESSERA_ERR_FORMAT, "mlp_ratio"),
        "loader-mlp-ratio-nan": (TESSERA_ERR_FORMAT, "mlp_ratio"),
        "loader-mlp-ratio-negative": (TESSERA_ERR_FORMAT, "mlp_ratio"),
    ]

    /// Loads bytes in the loader fuzzer's layout through the package entry.
    func loadFuzzInput(_ bytes: [UInt8]) -> (tessera_status, OpaquePointer?) {
        func le32(_ at: Int) -> Int { (0..<4).reduce(0) { at + $1 < bytes.count ? $0 | Int(bytes[at + $1]) << (8 * $1) : $0 } }
        return bytes.withUnsafeBytes { all in
            var at = min(8, all.count)
            let cfgLen = min(le32(0), all.count - at)
            let config = UnsafeRawBufferPointer(rebasing: all[at..<at + cfgLen])
            at += cfgLen
            let preLen = min(le32(4), all.count - at)
            let pre = preLen > 0 ? UnsafeRawBufferPointer(rebasing: all[at..<at + preLen]) : nil
            at += preLen
            var model: OpaquePointer?
            let st = tesseraModelLoadMemory(config: config, preprocessor: pre,
                                            safetensors: UnsafeRawBufferPointer(rebasing: all[at...]), &model)
            return (st, model)
        }
    }

    func testLoaderRegressionsAreRefused() throws {
        let names = listDirectory(Self.regressions).filter { $0.hasPrefix("loader-") }
        XCTAssertFalse(names.isEmpty, "no loader regressions in \(Self.regressions)")
        for name in names {
            let bytes = try readSmallFile(Self.regressions + "/" + name, limit: 1 << 24)
            let (st, model) = loadFuzzInput(bytes)
            if let model { tessera_model_free(model) }
            let message = String(cString: tessera_last_error())
            XCTAssertNotEqual(st, TESSERA_OK, name)
            XCTAssertNotEqual(st, TESSERA_ERR_INTERNAL, "\(name): \(message)")
            XCTAssertNil(model, name)
            XCTAssertFalse(message.isEmpty, name)
            if let want = Self.expected[name] {
                XCTAssertEqual(st, want.0, "\(name): \(message)")
                XCTAssertTrue(message.contains(want.1), "\(name): '\(message)' lacks '\(want.1)'")
            }
        }
    }

    /// mlp_ratio went through Int(Double) unchecked: NaN, infinities and
    /// huge values trapped instead of failing (found by TesseraFuzzLoader).
    func testMlpRatioOutOfRangeIsAFormatError() throws {
        let dir = fixturesDir + "/dinov2_hf"
        let config = String(decoding: try readSmallFile(dir + "/config.json"), as: UTF8.self)
        let weights = try readSmallFile(dir + "/model.safetensors", limit: 1 << 30)
        XCTAssertTrue(config.contains("\"mlp_ratio\": 4"))
        for bad in ["1e30", "-1e30", "NaN", "Infinity", "-Infinity", "-4", "0", "1e-30", "100000"] {
            let edited = Array(config.replacingOccurrences("\"mlp_ratio\": 4", "\"mlp_ratio\": \(bad)").utf8)
            XCTAssertThrowsError(try edited.withUnsafeBytes { c in
                try weights.withUnsafeBytes { w in _ = try Model.load(config: c, preprocessor: nil, safetensors: w) }
            }) { e in
                let e = e as! TesseraError
                XCTAssertEqual(e.status, TESSERA_ERR_FORMAT, "\(bad): \(e.message)")
                // Out of range, or in range but inconsistent with the tensors.
                XCTAssertTrue(e.message.contains("mlp_ratio") || e.message.contains("fc1"), "\(bad): \(e.message)")
            }
        }
    }

    /// The in-memory entry gives the same model as loading the files.
    func testMemoryLoadMatchesFileLoad() throws {
        for name in ["vit_hf", "vit_hf_bf16", "deit_distilled_hf", "dinov2_hf_f16", "dinov2_reg_hf", "vit_timm", "dinov2_reg_timm"] {
            let dir = fixturesDir + "/" + name
            let fromFile = try Model.load(path: dir)
            let config = try readSmallFile(dir + "/config.json")
            let weights = try readSmallFile(dir + "/model.safetensors", limit: 1 << 30)
            let pre = fileExists(dir + "/preprocessor_config.json") ? try readSmallFile(dir + "/preprocessor_config.json") : nil
            let fromMemory = try config.withUnsafeBytes { c in
                try weights.withUnsafeBytes { w in
                    if let pre {
                        return try pre.withUnsafeBytes { p in try Model.load(config: c, preprocessor: p, safetensors: w) }
                    }
                    return try Model.load(config: c, preprocessor: nil, safetensors: w)
                }
            }
            XCTAssertEqual(fromMemory.parameterCount, fromFile.parameterCount, name)
            XCTAssertEqual(fromMemory.weightBytes, fromFile.weightBytes, name)
            XCTAssertEqual(fromMemory.spec.mean, fromFile.spec.mean, name)
            XCTAssertEqual(fromMemory.spec.posResize, fromFile.spec.posResize, name)
            // A file's blocks' Linear weights are packed by the first fp32 session.
            try fromFile.prepareFP32()
            for key: WeightKey in [.patchWeight, .positions, .normWeight, .block(0, .qkvWeight)] {
                let a = fromFile.weight(key)!, b = fromMemory.weight(key)!
                XCTAssertEqual(memcmp(a, b, 64), 0, "\(name) \(key)")
            }
        }
        // And the handle it returns works with the C API.
        let dir = fixturesDir + "/vit_hf"
        let bytes = try [readSmallFile(dir + "/config.json"), readSmallFile(dir + "/model.safetensors", limit: 1 << 30)]
        var packed: [UInt8] = []
        for v in [bytes[0].count, 0] { packed += (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
        packed += bytes[0] + bytes[1]
        let (st, model) = loadFuzzInput(packed)
        XCTAssertEqual(st, TESSERA_OK, String(cString: tessera_last_error()))
        var info = tessera_model_info()
        info.struct_size = MemoryLayout<tessera_model_info>.size
        XCTAssertEqual(tessera_model_get_info(model, &info), TESSERA_OK)
        XCTAssertEqual(info.num_classes, 5)
        XCTAssertEqual(String(cString: tessera_model_label(model, 1)!), "dog")
        tessera_model_free(model)
    }

    /// The class count is reported as int32: a classifier tensor with 2^31
    /// rows (a 4 GB BF16 file) would have loaded and then trapped in
    /// tessera_model_get_info. Bounded now; a zero-width tensor shows it cheaply.
    func testClassCountIsBounded() throws {
        let dir = fixturesDir + "/vit_hf"
        let config = try readSmallFile(dir + "/config.json")
        var weights = try readSmallFile(dir + "/model.safetensors", limit: 1 << 30)
        var n = 0
        for i in 0..<8 { n |= Int(weights[i]) << (8 * i) }
        let header = String(decoding: weights[8..<(8 + n)], as: UTF8.self)
        let old = "\"classifier.weight\":{\"dtype\":\"F32\",\"shape\":[5,32],\"data_offsets\":[20,660]}"
        let new = "\"classifier.weight\":{\"dtype\":\"F32\",\"shape\":[16777217,0],\"data_offsets\":[20,20]}"
        XCTAssertTrue(header.contains(old))
        let edited = Array(header.replacingOccurrences(old, new).utf8)
        weights.replaceSubrange(0..<(8 + n), with: (0..<8).map { UInt8((edited.count >> (8 * $0)) & 0xFF) } + edited)
        XCTAssertThrowsError(try config.withUnsafeBytes { c in
            try weights.withUnsafeBytes { w in _ = try Model.load(config: c, preprocessor: nil, safetensors: w) }
        }) { e in
            let e = e as! TesseraError
            XCTAssertEqual(e.status, TESSERA_ERR_FORMAT, e.message)
            XCTAssertTrue(e.message.contains("16777217 classes"), e.message)
        }
    }

    /// SafeTensors.release drops a converted tensor's pages with
    /// MADV_DONTNEED; on the heap copy behind an in-memory load that zeroed
    /// them (and, rounded out to pages, bytes beyond the copy) whenever the
    /// allocator returned page-aligned memory. It must leave copies alone.
    func testReleaseLeavesMemoryCopiesIntact() throws {
        let bytes = try readSmallFile(fixturesDir + "/dinov2_reg_hf/model.safetensors", limit: 1 << 30)
        // Page-aligned source, so that any page-granular damage would show.
        let aligned = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 4096)
        defer { aligned.deallocate() }
        bytes.withUnsafeBytes { aligned.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        let copy = MappedFile(name: "model.safetensors", copying: UnsafeRawBufferPointer(start: aligned, count: bytes.count))
        XCTAssertFalse(copy.isMapped)
        let file = try SafeTensors(file: copy)
        for t in file.tensors.values { file.release(t) }
        XCTAssertTrue(bytes.elementsEqual(copy.bytes), "release changed the bytes of a heap copy")
        // And a real mapping reads back the same after release (pages re-fault from the file).
        let mapped = try SafeTensors(path: fixturesDir + "/dinov2_reg_hf/model.safetensors")
        XCTAssertTrue(mapped.file.isMapped)
        for t in mapped.tensors.values { mapped.release(t) }
        XCTAssertTrue(bytes.elementsEqual(mapped.file.bytes))
    }

    func testEmptyAndTinyMemoryInputs() {
        for bytes: [UInt8] in [[], [0], [0, 0, 0, 0, 0, 0, 0, 0], [2, 0, 0, 0, 0, 0, 0, 0, 0x7B, 0x7D]] {
            let (st, model) = loadFuzzInput(bytes)
            XCTAssertNotEqual(st, TESSERA_OK)
            XCTAssertNil(model)
        }
        XCTAssertEqual(tesseraModelLoadMemory(config: UnsafeRawBufferPointer(start: nil, count: 0), preprocessor: nil,
                                              safetensors: UnsafeRawBufferPointer(start: nil, count: 0), nil),
                       TESSERA_ERR_INVALID_ARGUMENT)
    }
}
