import XCTest
@testable import Tessera
import CTesseraABI
import TesseraKernelCore

/// Bad model files fail with the right status and a message naming the
/// problem; nothing traps.
final class LoaderTests: XCTestCase {
    var dir = ""

    override func setUp() {
        var template = Array("/tmp/tessera-test-XXXXXX".utf8CString)
        dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }

    override func tearDown() {
        for f in listDirectory(dir) { unlink(dir + "/" + f) }
        rmdir(dir)
    }

    func write(_ name: String, _ bytes: [UInt8]) {
        let f = fopen(dir + "/" + name, "wb")!
        _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        fclose(f)
    }

    func read(_ path: String) -> [UInt8] { try! readSmallFile(path, limit: 1 << 30) }

    func copyFixture(_ name: String) {
        for f in ["config.json", "model.safetensors", "preprocessor_config.json"] where fileExists(fixturesDir + "/\(name)/\(f)") {
            write(f, read(fixturesDir + "/\(name)/\(f)"))
        }
    }

    func expectError(_ status: tessera_status, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try Model.load(path: dir)
            XCTFail("loaded; expected \(fragment)", file: file, line: line)
        } catch let e as TesseraError {
            XCTAssertEqual(e.status, status, e.message, file: file, line: line)
            XCTAssertTrue(e.message.contains(fragment), "message '\(e.message)' lacks '\(fragment)'", file: file, line: line)
        } catch { XCTFail("\(error)", file: file, line: line) }
    }

    /// Rewrites model.safetensors with a modified header (data unchanged).
    func rewriteHeader(_ edit: (inout [(String, JSON)]) -> Void) {
        let bytes = read(dir + "/model.safetensors")
        var n = 0
        for i in 0..<8 { n |= Int(bytes[i]) << (8 * i) }
        guard case .object(var members) = try! JSON.parse(Array(bytes[8..<(8 + n)])) else { return }
        edit(&members)
        let header = Array(serialize(.object(members)).utf8)
        var out: [UInt8] = (0..<8).map { UInt8((header.count >> (8 * $0)) & 0xFF) }
        out += header
        out += bytes[(8 + n)...]
        write("model.safetensors", out)
    }

    func serialize(_ j: JSON) -> String {
        switch j {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)
        case .string(let s): return "\"" + s + "\""
        case .array(let a): return "[" + a.map(serialize).joined(separator: ",") + "]"
        case .object(let m): return "{" + m.map { "\"\($0.0)\":" + serialize($0.1) }.joined(separator: ",") + "}"
        }
    }

    func testMissingPathAndFiles() {
        XCTAssertThrowsError(try Model.load(path: "/nonexistent/model")) { e in
            XCTAssertEqual((e as! TesseraError).status, TESSERA_ERR_IO)
        }
        expectError(TESSERA_ERR_IO, "no config.json")
        write("config.json", Array("{\"model_type\": \"vit\"}".utf8))
        expectError(TESSERA_ERR_IO, "no model.safetensors")
    }

    func testMalformedJSON() {
        copyFixture("vit_hf")
        for bad in ["{", "{\"a\": }", "[1, 2", "{\"a\": \"\\x\"}", String(repeating: "[", count: 100) + String(repeating: "]", count: 100), "{} x"] {
            write("config.json", Array(bad.utf8))
            expectError(TESSERA_ERR_FORMAT, "JSON")
        }
    }

    func testUnknownArchitecture() {
        copyFixture("vit_hf")
        write("config.json", Array("{\"model_type\": \"swin\"}".utf8))
        expectError(TESSERA_ERR_UNSUPPORTED, "swin")
        write("config.json", Array("{\"hidden_size\": 3}".utf8))
        expectError(TESSERA_ERR_UNSUPPORTED, "unknown architecture")
    }

    func testTruncatedAndHostileSafetensors() {
        copyFixture("vit_hf")
        let full = read(dir + "/model.safetensors")
        write("model.safetensors", Array(full.prefix(5)))
        expectError(TESSERA_ERR_FORMAT, "too short")
        write("model.safetensors", Array(full.prefix(full.count - 100)))
        expectError(TESSERA_ERR_FORMAT, "outside")
        write("model.safetensors", Array(full.prefix(200)))
        expectError(TESSERA_ERR_FORMAT, "past the end")
        write("model.safetensors", [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] + Array(full.dropFirst(8)))
        expectError(TESSERA_ERR_FORMAT, "exceeds")
    }

    func testWrongShapeDtypeAndHugeTensors() {
        copyFixture("vit_hf")
        let original = read(dir + "/model.safetensors")
        rewriteHeader { m in
            let i = m.firstIndex { $0.0 == "vit.layernorm.weight" }!
            if case .object(var t) = m[i].1 {
                let j = t.firstIndex { $0.0 == "shape" }!
                t[j].1 = .array([.number(4), .number(8)])
                m[i].1 = .object(t)
            }
        }
        expectError(TESSERA_ERR_FORMAT, "vit.layernorm.weight")
        write("model.safetensors", original)
        rewriteHeader { m in
            let i = m.firstIndex { $0.0 == "vit.layernorm.weight" }!
            if case .object(var t) = m[i].1 {
                let j = t.firstIndex { $0.0 == "dtype" }!
                t[j].1 = .string("I32")
                m[i].1 = .object(t)
            }
        }
        expectError(TESSERA_ERR_FORMAT, "dtype I32")
        write("model.safetensors", original)
        rewriteHeader { m in
            let i = m.firstIndex { $0.0 == "vit.layernorm.weight" }!
            if case .object(var t) = m[i].1 {
                let j = t.firstIndex { $0.0 == "shape" }!
                t[j].1 = .array([.number(1_000_000), .number(1_000_000)])
                m[i].1 = .object(t)
            }
        }
        expectError(TESSERA_ERR_FORMAT, "needs")
        write("model.safetensors", original)
        rewriteHeader { m in m.removeAll { $0.0 == "vit.encoder.layer.1.output.dense.bias" } }
        expectError(TESSERA_ERR_FORMAT, "missing tensors 'vit.encoder.layer.1.output.dense.bias'")
    }

    func testOverlappingTensors() {
        copyFixture("vit_hf")
        rewriteHeader { m in
            // Point layernorm.bias at layernorm.weight's bytes.
            let w = m.first { $0.0 == "vit.layernorm.weight" }!.1
            let i = m.firstIndex { $0.0 == "vit.layernorm.bias" }!
            m[i].1 = w
        }
        expectError(TESSERA_ERR_FORMAT, "overlap")
    }

    func testConfigLimitsBeforeAllocation() {
        copyFixture("vit_hf")
        let cfg = String(decoding: read(dir + "/config.json"), as: UTF8.self)
        write("config.json", Array(cfg.replacingOccurrences("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 1000000").utf8))
        expectError(TESSERA_ERR_FORMAT, "num_hidden_layers")
        write("config.json", Array(cfg.replacingOccurrences("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 3").utf8))
        expectError(TESSERA_ERR_FORMAT, "missing tensors")
        write("config.json", Array(cfg.replacingOccurrences("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 1").utf8))
        expectError(TESSERA_ERR_FORMAT, "unexpected tensors")
    }

    func testFixturesLoadWithTheRightConventions() throws {
        let expect: [String: (ModelSpec.Family, PositionResize.Mode, Int, Int)] = [
            "vit_hf": (.vit, .bicubic, 0, 1), "deit_distilled_hf": (.deit, .bicubic, 0, 2),
            "dinov2_hf": (.dinov2, .bicubic, 0, 1), "dinov2_reg_hf": (.dinov2, .bicubicAntialias, 4, 5),
            "vit_timm": (.vit, .bicubicAntialias, 0, 1), "dinov2_reg_timm": (.dinov2, .bicubicAntialias, 4, 5),
        ]
        for (name, (family, resize, registers, prefix)) in expect {
            let s = try Model.load(path: fixturesDir + "/" + name).spec
            XCTAssertEqual(s.family, family, name)
            XCTAssertEqual(s.posResize, resize, name)
            XCTAssertEqual(s.registers, registers, name)
            XCTAssertEqual(s.prefixTokens, prefix, name)
        }
    }
}

extension String {
    func replacingOccurrences(_ a: String, _ b: String) -> String {
        var out = "", rest = Substring(self)
        while let r = rest.range(of: a) { out += rest[..<r.lowerBound]; out += b; rest = rest[r.upperBound...] }
        return out + rest
    }
}
