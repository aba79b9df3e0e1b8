import XCTest
@testable import Tessera
import TesseraKernelCore
import CTesseraABI

/// Whole models against the PyTorch references committed in Tests/Fixtures,
/// through the Swift core (the C and Python tests go through the ABI).
final class ModelParityTests: XCTestCase {
    struct Reference {
        let fixture: String
        let file: SafeTensors
        let batch: Int, height: Int, width: Int
    }

    func references() throws -> [Reference] {
        var out: [Reference] = []
        for name in listDirectory(fixturesDir) where isDirectory(fixturesDir + "/" + name) {
            for f in listDirectory(fixturesDir + "/" + name) where f.hasPrefix("reference_") {
                let file = try SafeTensors(path: fixturesDir + "/" + name + "/" + f)
                let shape = file.tensors["pixel_values"]!.shape
                out.append(Reference(fixture: name, file: file, batch: shape[0], height: shape[2], width: shape[3]))
            }
        }
        XCTAssertGreaterThanOrEqual(out.count, 10, "fixtures missing")
        return out
    }

    static let outputs: [(String, tessera_output)] = [
        ("logits", TESSERA_OUTPUT_LOGITS), ("embedding", TESSERA_OUTPUT_EMBEDDING),
        ("patch_tokens", TESSERA_OUTPUT_PATCH_TOKENS), ("register_tokens", TESSERA_OUTPUT_REGISTER_TOKENS),
        ("layer_0", TESSERA_OUTPUT_LAYER_BASE), ("layer_1", TESSERA_OUTPUT_LAYER_BASE + 1),
    ]

    func run(_ session: Session, _ ref: Reference, rgb: Bool) throws -> [String: [Float]] {
        if rgb {
            let px = referenceBytes(ref.file, "rgb8")!
            try px.withUnsafeBufferPointer { try session.run(.rgb8($0.baseAddress!), images: ref.batch) }
        } else {
            let px = referenceTensor(ref.file, "pixel_values")!
            try px.withUnsafeBufferPointer { try session.run(.float($0.baseAddress!), images: ref.batch) }
        }
        var result: [String: [Float]] = [:]
        for (name, which) in Self.outputs {
            guard let shape = try? session.outputShape(which) else { continue }
            var out = [Float](repeating: .nan, count: shape.reduce(1, *))
            try out.withUnsafeMutableBufferPointer { try session.copyOutput(which, into: $0.baseAddress!, capacity: $0.count) }
            result[name] = out
        }
        return result
    }

    func testEveryFixtureMatchesReferenceOnEveryVariant() throws {
        for ref in try references() {
            let model = try Model.load(path: fixturesDir + "/" + ref.fixture)
            for (variantName, table) in kernelVariants() {
                var o = Session.Options()
                o.batch = ref.batch; o.height = ref.height; o.width = ref.width; o.layers = [0, 1]; o.kernels = table
                let session = try Session(model: model, options: o)
                for rgb in [false, true] {
                    let got = try run(session, ref, rgb: rgb)
                    for (name, _) in Self.outputs {
                        let want = referenceTensor(ref.file, name)
                        XCTAssertEqual(got[name] != nil, want != nil, "\(ref.fixture) \(name): presence differs from the reference")
                        guard let g = got[name], let w = want else { continue }
                        XCTAssertEqual(g.count, w.count)
                        let diff = maxAbsDiff(g, w), cos = cosine(g, w)
                        XCTAssertLessThanOrEqual(diff, 1e-4, "\(ref.fixture) \(ref.height)x\(ref.width) \(name) \(variantName) rgb=\(rgb)")
                        XCTAssertGreaterThanOrEqual(cos, 0.99999, "\(ref.fixture) \(name) \(variantName)")
                    }
                }
            }
        }
    }

    func testOutputsAreBitIdenticalForOneTwoAndThreeThreads() throws {
        for ref in try references() {
            let model = try Model.load(path: fixturesDir + "/" + ref.fixture)
            var results: [[String: [Float]]] = []
            for threads in [1, 2, 3] {
                var o = Session.Options()
                o.batch = ref.batch; o.height = ref.height; o.width = ref.width; o.layers = [1]; o.threads = threads
                results.append(try run(try Session(model: model, options: o), ref, rgb: false))
            }
            XCTAssertEqual(results[0], results[1], "\(ref.fixture): 1 vs 2 threads")
            XCTAssertEqual(results[0], results[2], "\(ref.fixture): 1 vs 3 threads")
        }
    }

    /// A batch with enough rows that GEMM threads split rows instead of
    /// columns: bit-identical for 1, 2 and 3 threads, and each image equal to
    /// the same image run alone (one K order whatever the split).
    func testLargeBatchSplitByRowsIsBitIdentical() throws {
        let ref = try references()[0]
        let model = try Model.load(path: fixturesDir + "/" + ref.fixture)
        let tokens = model.spec.prefixTokens + (ref.height / model.spec.patch) * (ref.width / model.spec.patch)
        let batch = (2048 + tokens - 1) / tokens
        let one = referenceTensor(ref.file, "pixel_values")!
        let imageFloats = 3 * ref.height * ref.width
        // Each image: the reference's first image, scaled differently.
        var pixels = [Float]()
        for b in 0..<batch { pixels += one.prefix(imageFloats).map { $0 * (0.5 + Float(b) / Float(batch)) } }
        func embeddings(batch: Int, threads: Int, images: ArraySlice<Float>) throws -> [Float] {
            var o = Session.Options()
            o.batch = batch; o.height = ref.height; o.width = ref.width; o.threads = threads
            let session = try Session(model: model, options: o)
            try Array(images).withUnsafeBufferPointer { try session.run(.float($0.baseAddress!), images: batch) }
            var out = [Float](repeating: .nan, count: batch * model.spec.hidden)
            try out.withUnsafeMutableBufferPointer { try session.copyOutput(TESSERA_OUTPUT_EMBEDDING, into: $0.baseAddress!, capacity: $0.count) }
            return out
        }
        let t1 = try embeddings(batch: batch, threads: 1, images: pixels[...])
        XCTAssertEqual(t1, try embeddings(batch: batch, threads: 2, images: pixels[...]), "1 vs 2 threads, batch \(batch)")
        XCTAssertEqual(t1, try embeddings(batch: batch, threads: 3, images: pixels[...]), "1 vs 3 threads, batch \(batch)")
        let d = model.spec.hidden
        for b in [0, batch / 2, batch - 1] {
            let alone = try embeddings(batch: 1, threads: 2, images: pixels[(b * imageFloats)..<((b + 1) * imageFloats)])
            XCTAssertEqual(Array(t1[(b * d)..<((b + 1) * d)]), alone, "image \(b) of \(batch) vs alone")
        }
    }

    func testFewerImagesThanBatchMatchesTheFirstImages() throws {
        let ref = try references().first { $0.batch >= 2 }!
        let model = try Model.load(path: fixturesDir + "/" + ref.fixture)
        var o = Session.Options(); o.batch = 4; o.height = ref.height; o.width = ref.width
        let session = try Session(model: model, options: o)
        let px = referenceTensor(ref.file, "pixel_values")!
        try px.withUnsafeBufferPointer { try session.run(.float($0.baseAddress!), images: 1) }
        XCTAssertEqual(try session.outputShape(TESSERA_OUTPUT_EMBEDDING), [1, model.spec.hidden])
        var emb = [Float](repeating: 0, count: model.spec.hidden)
        try emb.withUnsafeMutableBufferPointer { try session.copyOutput(TESSERA_OUTPUT_EMBEDDING, into: $0.baseAddress!, capacity: $0.count) }
        let want = Array(referenceTensor(ref.file, "embedding")!.prefix(model.spec.hidden))
        XCTAssertLessThanOrEqual(maxAbsDiff(emb, want), 1e-4)
    }
}
