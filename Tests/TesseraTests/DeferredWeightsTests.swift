import Foundation
import XCTest
@testable import Tessera
import TesseraKernelCore

/// The blocks' Linear weights are packed for fp32 only when an fp32 session
/// needs them and quantized straight from the file for int8: both ways give
/// the same weights as packing at load, and a file changed after the load is
/// an error, never a crash.
final class DeferredWeightsTests: XCTestCase {
    func quantizedBytes(_ q: QuantizedWeights, _ s: ModelSpec) -> [[UInt8]] {
        let shapes = QuantizedWeights.shapes(s)
        return q.blocks.flatMap { b in
            zip([b.qkv, b.proj, b.fc1, b.fc2], shapes).map { w, shape in
                let n = Int8Layout.paddedColumns(shape.n)
                return Array(UnsafeRawBufferPointer(start: w.packed, count: Int8Layout.packedBytes(n: shape.n, k: shape.k)))
                    + Array(UnsafeRawBufferPointer(start: w.scales, count: 4 * n))
                    + Array(UnsafeRawBufferPointer(start: w.sums, count: 4 * n))
            }
        }
    }

    func testInt8FromTheFileEqualsInt8FromPackedWeights() throws {
        for name in ["vit_hf", "dinov2_reg_hf", "dinov3_swiglu_hf_bf16", "vit_timm"] {
            let dir = fixturesDir + "/" + name
            let direct = try Model.load(path: dir)
            let viaFP32 = try Model.load(path: dir)
            try viaFP32.prepareFP32()
            XCTAssertEqual(quantizedBytes(try direct.quantized(), direct.spec), quantizedBytes(try viaFP32.quantized(), viaFP32.spec), name)
            // fp32 packed after int8 equals fp32 packed first.
            try direct.prepareFP32()
            for i in 0..<direct.spec.layers {
                for part: WeightKey.BlockTensor in [.qkvWeight, .projWeight, .fc1Weight, .fc2Weight] {
                    let n = direct.spec.hidden * 4  // a prefix is enough to catch a miss
                    XCTAssertEqual(memcmp(direct.weight(.block(i, part))!, viaFP32.weight(.block(i, part))!, n), 0, "\(name) block \(i) \(part)")
                }
            }
        }
    }

    func testAFileChangedAfterLoadIsAnError() throws {
        let src = fixturesDir + "/vit_hf"
        let dir = NSTemporaryDirectory() + "tessera-deferred-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for f in ["config.json", "model.safetensors"] {
            try FileManager.default.copyItem(atPath: src + "/" + f, toPath: dir + "/" + f)
        }
        for change in ["truncated", "removed"] {
            let model = try Model.load(path: dir)
            let weights = dir + "/model.safetensors"
            let bytes = try Data(contentsOf: URL(fileURLWithPath: weights))
            if change == "truncated" {
                try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: weights))
            } else {
                try FileManager.default.removeItem(atPath: weights)
            }
            for precision in [Session.Precision.fp32, .int8] {
                var o = Session.Options()
                o.precision = precision
                XCTAssertThrowsError(try Session(model: model, options: o), "\(change), \(precision)") { e in
                    let m = (e as? TesseraError)?.message ?? ""
                    XCTAssert(m.contains("model.safetensors"), "\(change), \(precision): \(m)")
                }
            }
            try bytes.write(to: URL(fileURLWithPath: weights))
            // Restored: the same model works again.
            XCTAssertNoThrow(try Session(model: model, options: Session.Options()))
        }
    }
}
