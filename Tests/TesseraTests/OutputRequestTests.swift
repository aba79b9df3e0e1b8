import XCTest
@testable import Tessera
import CTesseraABI
import TesseraKernelCore

/// Outputs on demand: a session asked for less runs less (fewer ops, a
/// smaller arena), gives the same bits for what it was asked, and refuses
/// what it was not asked for.
final class OutputRequestTests: XCTestCase {
    /// ViT-B/16 at 224 with a classifier, shapes only.
    func vitBase() -> ModelSpec {
        var spec = ModelSpec(family: .vit, naming: .timm, architecture: "vit_base_patch16_224")
        spec.hidden = 768; spec.layers = 12; spec.heads = 12; spec.mlp = 3072; spec.patch = 16
        spec.imageHeight = 224; spec.imageWidth = 224; spec.posGrid = 14; spec.classes = 1000; spec.head = .cls
        return spec
    }

    let shapes = ShapeOnlyWeights()

    func plan(_ spec: ModelSpec, _ request: OutputRequest, batch: Int = 2) -> Plan {
        Plan.build(spec: spec, weights: shapes.weights(spec), batch: batch, gridH: 14, gridW: 14, outputs: request, scratchFloats: 4096)
    }

    func testPlanStopsAtTheLastBlockAskedFor() {
        let spec = vitBase()
        let full = plan(spec, .everything(spec))
        let opsPerBlock = 7
        // normalize + embed + 12 blocks + final norm + head.
        XCTAssertEqual(full.ops.count, 2 + 12 * opsPerBlock + 2)
        XCTAssertEqual(full.blocksRun, 12)
        for k in [0, 5, 11] {
            let p = plan(spec, OutputRequest(finals: [], layers: [k]))
            XCTAssertEqual(p.blocksRun, k + 1, "layer \(k)")
            // No final norm, no head.
            XCTAssertEqual(p.ops.count, 2 + (k + 1) * opsPerBlock, "layer \(k)")
            XCTAssertNil(p.ops.first { if case .head = $0 { return true } else { return false } })
            XCTAssertEqual(p.finalTokens, -1)
            // Before outputs on demand, block k's output came with everything
            // else and a copy kept live to the end of the run.
            let before = plan(spec, .everything(spec, layers: [k]))
            if k < spec.layers - 1 {
                XCTAssertLessThan(p.arenaFloats, before.arenaFloats, "layer \(k): block k's output is not kept through the later blocks")
            }
            XCTAssertLessThan(p.ops.count, before.ops.count, "layer \(k)")
            XCTAssertLessThanOrEqual(p.arenaFloats, full.arenaFloats, "layer \(k)")
            XCTAssertLessThan(p.totalBufferFloats, before.totalBufferFloats, "layer \(k)")
            assertNoLiveOverlap(p, "ViT-B layer \(k)")
            print("ViT-B/16 @224 batch 2, layer \(k) alone: \(p.ops.count) ops, arena \(p.arenaFloats * 4) bytes; with every output too: \(before.ops.count) ops, arena \(before.arenaFloats * 4) bytes (largest step \(p.largestStepFloats * 4) / \(before.largestStepFloats * 4))")
        }
        // Two layers: both read in place, the earlier one kept live.
        let two = plan(spec, OutputRequest(finals: [], layers: [3, 7]))
        XCTAssertEqual(two.blocksRun, 8)
        XCTAssertEqual(two.ops.count, 2 + 8 * opsPerBlock)
        XCTAssertNotEqual(two.layerOutputs[3], two.layerOutputs[7])
        assertNoLiveOverlap(two, "ViT-B layers 3 and 7")
    }

    func testFinalOutputsWithoutTheHead() {
        let spec = vitBase()
        let full = plan(spec, .everything(spec))
        let embedding = plan(spec, OutputRequest(finals: [.embedding], layers: []))
        XCTAssertEqual(embedding.blocksRun, 12)
        XCTAssertEqual(embedding.ops.count, full.ops.count - 1, "no head")
        XCTAssertEqual(embedding.logits, -1)
        let logits = plan(spec, OutputRequest(finals: [.logits], layers: []))
        XCTAssertEqual(logits.ops.count, full.ops.count)
        XCTAssertFalse(logits.buffers[logits.finalTokens].isOutput, "only the head reads the final tokens")
        XCTAssertLessThanOrEqual(logits.arenaFloats, full.arenaFloats)
        for p in [embedding, logits] { assertNoLiveOverlap(p, "ViT-B finals") }
    }

    func testOptionsBitsDecode() throws {
        let spec = vitBase()
        XCTAssertEqual(try OutputRequest.decode(0, layers: [2], spec: spec), .everything(spec, layers: [2]))
        let explicit = UInt32(TESSERA_OUTPUTS_EXPLICIT)
        XCTAssertEqual(try OutputRequest.decode(explicit | 2, layers: [], spec: spec).finals, [.embedding])
        XCTAssertEqual(try OutputRequest.decode(explicit, layers: [4], spec: spec), OutputRequest(finals: [], layers: [4]))
        XCTAssertEqual(try OutputRequest.decode(explicit | 15, layers: [], spec: spec).finalBits, 15)
        for bad: UInt32 in [1, 2, explicit | 16, explicit | (1 << 30)] {
            XCTAssertThrowsError(try OutputRequest.decode(bad, layers: [], spec: spec), "0x\(String(bad, radix: 16))") {
                XCTAssertEqual(($0 as? TesseraError)?.status, TESSERA_ERR_INVALID_ARGUMENT)
            }
        }
    }

    /// Runs `o` on every fixture and returns each output it has, by code.
    func outputs(_ model: Model, _ o: Session.Options, pixels: [Float]) throws -> [Int32: [Float]] {
        let session = try Session(model: model, options: o)
        try pixels.withUnsafeBufferPointer { try session.run(.float($0.baseAddress!), images: o.batch) }
        var result: [Int32: [Float]] = [:]
        let codes = FinalOutput.allCases.map(\.rawValue) + (0..<model.spec.layers).map { TESSERA_OUTPUT_LAYER_BASE + Int32($0) }
        for code in codes {
            guard let shape = try? session.outputShape(code) else { continue }
            var v = [Float](repeating: .nan, count: shape.reduce(1, *))
            try v.withUnsafeMutableBufferPointer { try session.copyOutput(code, into: $0.baseAddress!, capacity: $0.count) }
            result[code] = v
        }
        return result
    }

    func testAskingForLessGivesTheSameBitsAndRefusesTheRest() throws {
        for name in listDirectory(fixturesDir) where fileExists(fixturesDir + "/" + name + "/config.json") {
            let model = try Model.load(path: fixturesDir + "/" + name)
            let s = model.spec
            var o = Session.Options()
            o.batch = 2; o.height = 2 * s.patch; o.width = 3 * s.patch; o.threads = 2
            var rng = TestRandom(seed: 15)
            let pixels = rng.array(o.batch * s.channels * o.height * o.width)
            var all = o
            all.layers = Set(0..<s.layers)
            let reference = try outputs(model, all, pixels: pixels)
            var requests: [(Set<FinalOutput>, Set<Int>)] = [([], [0]), ([], [s.layers - 1]), ([.embedding], []), ([.patchTokens], [0])]
            requests.append((OutputRequest.everything(s).finals, []))
            if s.classes > 0 { requests.append(([.logits], [])) }
            if s.registers > 0 { requests.append(([.registerTokens], [])) }
            for (finals, layers) in requests {
                var r = o
                r.finals = finals; r.layers = layers
                let got = try outputs(model, r, pixels: pixels)
                let asked = Set(finals.map(\.rawValue) + layers.map { TESSERA_OUTPUT_LAYER_BASE + Int32($0) })
                XCTAssertEqual(Set(got.keys), asked, "\(name) \(finals) \(layers): exactly what was asked for")
                for (code, values) in got { XCTAssertEqual(values, reference[code], "\(name) output \(code)") }
            }
        }
    }

    func testRefusals() throws {
        let model = try Model.load(path: fixturesDir + "/vit_hf")
        var o = Session.Options()
        o.finals = [.embedding]
        let session = try Session(model: model, options: o)
        var pixels = [Float](repeating: 0.1, count: 3 * model.spec.imageHeight * model.spec.imageWidth)
        try pixels.withUnsafeMutableBufferPointer { try session.run(.float($0.baseAddress!), images: 1) }
        XCTAssertThrowsError(try session.outputShape(TESSERA_OUTPUT_PATCH_TOKENS)) {
            let e = $0 as? TesseraError
            XCTAssertEqual(e?.status, TESSERA_ERR_UNAVAILABLE)
            XCTAssertTrue(e?.message.contains("TESSERA_OUTPUT_BIT(TESSERA_OUTPUT_PATCH_TOKENS)") ?? false, e?.message ?? "")
        }
        XCTAssertThrowsError(try session.outputView(TESSERA_OUTPUT_LAYER_BASE)) {
            XCTAssertEqual(($0 as? TesseraError)?.status, TESSERA_ERR_UNAVAILABLE)
        }
        // Nothing at all, or an output the model lacks: refused at creation.
        var none = Session.Options(); none.finals = []
        XCTAssertThrowsError(try Session(model: model, options: none)) {
            XCTAssertEqual(($0 as? TesseraError)?.status, TESSERA_ERR_INVALID_ARGUMENT)
        }
        var registers = Session.Options(); registers.finals = [.registerTokens]
        XCTAssertThrowsError(try Session(model: model, options: registers)) {
            XCTAssertEqual(($0 as? TesseraError)?.status, TESSERA_ERR_UNAVAILABLE)
        }
    }
}
