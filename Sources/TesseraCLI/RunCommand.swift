import CTesseraABI
#if canImport(Glibc)
import Glibc
#endif

/// `tessera run MODEL IMAGE...`: per image, the embedding and (for
/// classifiers) the top-K classes.
enum RunCommand {
    static let spec = CommandSpec(
        name: "run", synopsis: "MODEL IMAGE... [--size HxW] [--top K] [--threads N]",
        brief: "run images: embedding norm, first values, top-K classes",
        summary: """
            Decodes each image (PNG or JPEG), resizes it to the session's input size and runs
            it. Prints the embedding's L2 norm and first values and, when the model has a
            classifier, the top-K classes with softmax probabilities.
            """,
        arguments: [("MODEL", "a model directory or .safetensors file"),
                    ("IMAGE...", "one or more PNG or JPEG files")],
        options: [CommonOptions.size,
                  OptionSpec(name: "--top", value: "K", help: "classes to print per image (default 5)", aliases: ["-k"]),
                  OptionSpec(name: "--values", value: "N", help: "embedding values to print (default 8)"),
                  CommonOptions.threads, CommonOptions.isa, CommonOptions.precision, CommonOptions.resample, CommonOptions.crop, CommonOptions.modelResize],
        minPositionals: 2, maxPositionals: nil,
        notes: "Images are resized with PIL-style antialiased bicubic (Image.resize BICUBIC) by default.")

    static func run(_ args: ParsedArguments) throws {
        let model = try LoadedModel(path: args.positionals[0])
        let top = try args.int("--top", default: 5, min: 1)
        let shown = try args.int("--values", default: 8, min: 0)
        let policy = try CommonOptions.policy(args)
        let session = try InferenceSession(model: model, settings: try CommonOptions.settings(args, model: model))
        print("model \(model.path): \(Names.family(model.info.family)) \(cString(model.info.architecture)), input \(session.height)x\(session.width) (HxW), resampler \(policy.description)")
        for path in args.positionals.dropFirst() {
            let (original, input) = try loadForSession(path, session, policy)
            try session.run(rgb8: input.pixels, images: 1)
            let (shape, embedding) = try session.output(TESSERA_OUTPUT_EMBEDDING)
            print("\(path): \(original.height)x\(original.width) (HxW) -> \(input.height)x\(input.width)")
            let norm = embedding.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
            let first = embedding.prefix(shown).map { fixed($0, 4) }.joined(separator: " ")
            print("  embedding: dim \(shape.last ?? embedding.count), L2 norm \(fixed(norm, 4))" + (shown > 0 ? ", first: \(first)\(embedding.count > shown ? " ..." : "")" : ""))
            if model.classes > 0 {
                let (_, logits) = try session.output(TESSERA_OUTPUT_LOGITS)
                let probs = softmax(logits)
                let k = min(top, logits.count)
                print("  top-\(k):")
                for (rank, c) in topK(probs, k).enumerated() {
                    print("    \(rank + 1). \(model.displayLabel(c).padded(to: 16)) p=\(fixed(probs[c], 4))  (class \(c), logit \(fixed(logits[c], 4)))")
                }
            }
        }
    }

    /// Softmax, computed stably (max subtracted) in Double.
    static func softmax(_ x: [Float]) -> [Float] {
        guard let m = x.max() else { return [] }
        let e = x.map { exp(Double($0 - m)) }
        let s = e.reduce(0, +)
        return e.map { Float($0 / s) }
    }

    /// Indices of the k largest values, largest first, ties by lower index.
    static func topK(_ x: [Float], _ k: Int) -> [Int] {
        Array(x.indices.sorted { x[$0] != x[$1] ? x[$0] > x[$1] : $0 < $1 }.prefix(k))
    }
}

