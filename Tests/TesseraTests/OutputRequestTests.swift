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
        // No head; one step that takes the prefix rows for the last block.
        XCTAssertEqual(embedding.ops.count, full.ops.count)
        XCTAssertEqual(embedding.logits, -1)
        let logits = plan(spec, OutputRequest(finals: [.logits], layers: []))
        XCTAssertEqual(logits.ops.count, full.ops.count + 1)
        XCTAssertFalse(logits.buffers[logits.finalTokens].isOutput, "only the head reads the final tokens")
        XCTAssertLessThanOrEqual(logits.arenaFloats, full.arenaFloats)
        for p in [embedding, logits] { assertNoLiveOverlap(p, "ViT-B finals") }
    }

    /// Without patch tokens the last block runs past attention on the prefix
    /// rows alone: attention's queries, proj, the MLP and the final norm.
    func testLastBlockOnThePrefixTokensWhenNoPatchTokenIsAsked() {
        let spec = vitBase()
        let tokens = 1 + 14 * 14
        func lastBlockRows(_ p: Plan) -> [String: Int] {
            var rows: [String: Int] = [:]
            let start = p.ops.lastIndex { if case .attention = $0 { return true } else { return false } }!
            for (op, label) in zip(p.ops[start...], p.labels[start...]) {
                switch op {
                case .attention(_, _, let q): rows[label] = q
                case .linear(let l): rows[label] = l.tokens
                case .layerNorm(let l): rows[label + " \(rows.count)"] = l.tokens
                default: break
                }
            }
            return rows
        }
        for finals: Set<FinalOutput> in [[.embedding], [.logits], [.embedding, .logits]] {
            let p = plan(spec, OutputRequest(finals: finals, layers: []))
            XCTAssertEqual(p.finalTokensPerImage, 1, "\(finals)")
            XCTAssertTrue(lastBlockRows(p).values.allSatisfy { $0 == 1 }, "\(finals): \(lastBlockRows(p))")
            XCTAssertEqual(p.ops.filter { if case .prefixRows = $0 { return true } else { return false } }.count, 1)
            // Every earlier block on every token.
            let attentions = p.ops.compactMap { if case .attention(_, _, let q) = $0 { return q } else { return nil } }
            XCTAssertEqual(attentions, Array(repeating: tokens, count: 11) + [1])
            assertNoLiveOverlap(p, "ViT-B \(finals)")
        }
        for request in [OutputRequest.everything(spec), OutputRequest(finals: [.embedding], layers: [11]),
                        OutputRequest(finals: [.patchTokens], layers: [])] {
            let p = plan(spec, request)
            XCTAssertEqual(p.finalTokensPerImage, tokens, "\(request)")
            XCTAssertTrue(lastBlockRows(p).values.allSatisfy { $0 == tokens }, "\(request)")
        }
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

    /// Runs `o` on `images` images and returns each output it has, by code.
    func outputs(_ model: Model, _ o: Session.Options, pixels: [Float], images: Int? = nil) throws -> [Int32: [Float]] {
        let session = try Session(model: model, options: o)
        try pixels.withUnsafeBufferPointer { try session.run(.float($0.baseAddress!), images: images ?? o.batch) }
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

    /// Every fixture, every kernel variant (and the AVX-512 tiles built for
    /// AVX2), fp32 and int8, a full batch and a short one: what a session
    /// is asked for comes out with the same bits as from a session asked
    /// for everything. Requests without patch tokens run the last block
    /// past attention on the prefix tokens alone, so this also proves that
    /// shortcut exact.
    func testAskingForLessGivesTheSameBitsAndRefusesTheRest() throws {
        for name in listDirectory(fixturesDir) where fileExists(fixturesDir + "/" + name + "/config.json") {
            let model = try Model.load(path: fixturesDir + "/" + name)
            let s = model.spec
            var o = Session.Options()
            o.batch = 3; o.height = 2 * s.patch; o.width = 3 * s.patch; o.threads = 2
            var rng = TestRandom(seed: 15)
            let pixels = rng.array(o.batch * s.channels * o.height * o.width)
            var requests: [(Set<FinalOutput>, Set<Int>)] = [([], [0]), ([], [s.layers - 1]), ([.embedding], []), ([.patchTokens], [0]),
                                                            ([.embedding], [s.layers - 1])]
            requests.append((OutputRequest.everything(s).finals, []))
            if s.classes > 0 { requests += [([.logits], []), ([.logits, .embedding], [])] }
            if s.registers > 0 { requests += [([.registerTokens], []), ([.registerTokens, .embedding], [0])] }
            for (variant, table) in kernelVariants() {
                for precision in [Session.Precision.fp32, .int8] {
                    var base = o
                    base.kernels = table; base.precision = precision
                    var all = base
                    all.layers = Set(0..<s.layers)
                    for images in [o.batch, 2] {
                        let reference = try outputs(model, all, pixels: pixels, images: images)
                        for (finals, layers) in requests {
                            var r = base
                            r.finals = finals; r.layers = layers
                            let got = try outputs(model, r, pixels: pixels, images: images)
                            let asked = Set(finals.map(\.rawValue) + layers.map { TESSERA_OUTPUT_LAYER_BASE + Int32($0) })
                            let what = "\(name) \(variant) \(precision) \(images) images, \(finals.sorted()) \(layers.sorted())"
                            XCTAssertEqual(Set(got.keys), asked, "\(what): exactly what was asked for")
                            for (code, values) in got { XCTAssertEqual(values, reference[code], "\(what): output \(code)") }
                        }
                    }
                }
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
