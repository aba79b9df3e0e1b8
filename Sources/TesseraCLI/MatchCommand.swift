import CTesseraABI

/// `tessera match MODEL A B --out matches.png`: patch correspondences.
enum MatchCommand {
    static let spec = CommandSpec(
        name: "match", synopsis: "MODEL A B --out FILE.png [--size 448] [--ratio 0.8] [--max-lines 200]",
        brief: "match patches between two images, draw the matches",
        summary: """
            Runs both images at the given size, L2-normalizes their patch tokens and keeps the
            mutual nearest neighbours by cosine similarity that pass Lowe's ratio test (best
            vs second-best match, on unit-vector distances). Prints the number of matches and
            writes a PNG with the two resized images side by side and a line joining the
            centers of each matched pair of patches.
            """,
        arguments: [("MODEL", "a model directory or .safetensors file (DINOv2 works best)"),
                    ("A", "first image (PNG or JPEG)"), ("B", "second image (PNG or JPEG)")],
        options: [OptionSpec(name: "--out", value: "FILE.png", help: "where to write the visualisation (required)", aliases: ["-o"]),
                  OptionSpec(name: "--size", value: "HxW", help: "input size for both images, a multiple of the patch size;\none number for a square (default 448)"),
                  OptionSpec(name: "--ratio", value: "R", help: "Lowe ratio in (0, 1]; 1 turns the test off (default 0.8)"),
                  OptionSpec(name: "--max-lines", value: "N", help: "draw at most N lines, the most similar pairs (default 200)"),
                  OptionSpec(name: "--layer", value: "K", help: "match the patch tokens of block K (0-based, before the final norm)\ninstead of the final ones; middle blocks often match better"),
                  OptionSpec(name: "--rectified", value: nil, help: "the pair is a rectified stereo pair: also count the matches that\nare geometrically right (same patch row ±1, disparity ≥ 0)"),
                  CommonOptions.threads, CommonOptions.isa, CommonOptions.precision, CommonOptions.resample, CommonOptions.crop, CommonOptions.modelResize],
        minPositionals: 3, maxPositionals: 3)

    static func run(_ args: ParsedArguments) throws {
        guard let out = args.string("--out") else {
            throw CLIError.usage("'tessera match' needs --out FILE.png; see 'tessera match --help'")
        }
        let ratio = try args.double("--ratio", default: 0.8, min: 1e-6, max: 1)
        let maxLines = try args.int("--max-lines", default: 200, min: 0)
        let policy = try CommonOptions.policy(args)
        let model = try LoadedModel(path: args.positionals[0])
        let size = try model.resolveSize(try args.size("--size") ?? (448, 448))
        var settings = try CommonOptions.settings(args, model: model, batch: 2)
        settings.height = size.height
        settings.width = size.width
        let layer = try CommonOptions.layer(args, model: model)
        if let layer { settings.onlyLayer(layer) } else { settings.only(TESSERA_OUTPUT_PATCH_TOKENS) }
        let session = try InferenceSession(model: model, settings: settings)

        let pathA = args.positionals[1], pathB = args.positionals[2]
        let (_, a) = try loadForSession(pathA, session, policy)
        let (_, b) = try loadForSession(pathB, session, policy)
        try session.run(rgb8: a.pixels + b.pixels, images: 2)
        let patch = model.patch
        let gridH = session.height / patch, gridW = session.width / patch
        let n = gridH * gridW, dim = model.hidden
        let featuresA: [Float], featuresB: [Float]
        if let layer {
            // All tokens of block `layer`: drop the prefix tokens (CLS, registers).
            let (shape, all) = try session.output(TESSERA_OUTPUT_LAYER_BASE + Int32(layer))
            let prefix = Int(model.info.num_prefix_tokens), t = prefix + n
            guard shape == [2, t, dim] else {
                throw CLIError(message: "unexpected layer-\(layer) shape \(shape); expected [2, \(t), \(dim)]")
            }
            featuresA = Array(all[(prefix * dim)..<(t * dim)])
            featuresB = Array(all[((t + prefix) * dim)..<(2 * t * dim)])
        } else {
            let (shape, tokens) = try session.output(TESSERA_OUTPUT_PATCH_TOKENS)
            guard shape == [2, n, dim] else {
                throw CLIError(message: "unexpected patch-token shape \(shape); expected [2, \(n), \(dim)]")
            }
            featuresA = Array(tokens[0..<(n * dim)]); featuresB = Array(tokens[(n * dim)...])
        }
        let matches = Matcher.match(featuresA, rowsA: n, featuresB, rowsB: n, dim: dim, ratio: Float(ratio))
        let drawn = Matcher.strongest(matches, limit: maxLines)

        var canvas = Canvas(width: a.width + b.width, height: max(a.height, b.height))
        canvas.paste(a, x: 0, y: 0)
        canvas.paste(b, x: a.width, y: 0)
        for (k, m) in drawn.enumerated() {
            let c = Canvas.palette[k % Canvas.palette.count]
            let pa = Matcher.patchCenter(m.a, gridWidth: gridW, patch: patch)
            let pb = Matcher.patchCenter(m.b, gridWidth: gridW, patch: patch)
            canvas.line(pa.x, pa.y, a.width + pb.x, pb.y, c)
            canvas.dot(pa.x, pa.y, radius: 1, c)
            canvas.dot(a.width + pb.x, pb.y, radius: 1, c)
        }
        try ImageFile.writePNG(canvas.image, to: out)

        let test = ratio < 1 ? "ratio test \(fixed(ratio, 2))" : "no ratio test"
        let source = layer.map { "block \($0)'s tokens" } ?? "final tokens"
        print("\(pathA) vs \(pathB) at \(session.height)x\(session.width): \(gridH)x\(gridW) patches of \(patch) px, \(dim)-d \(source)")
        print("matches: \(matches.count) (mutual nearest neighbours, \(test))")
        if !matches.isEmpty {
            let mean = matches.reduce(Float(0)) { $0 + $1.similarity } / Float(matches.count)
            print("mean similarity: \(fixed(mean, 4))")
        }
        if args.has("--rectified") {
            // In a rectified pair a point keeps its row, and the left view sees
            // it at a larger or equal column than the right view.
            let right = matches.filter { m in
                let (ra, ca) = (m.a / gridW, m.a % gridW), (rb, cb) = (m.b / gridW, m.b % gridW)
                return abs(ra - rb) <= 1 && ca - cb >= -1
            }.count
            let pct = matches.isEmpty ? 0 : 100 * Double(right) / Double(matches.count)
            print("geometrically right: \(right) of \(matches.count) (\(fixed(pct, 1)) %): same row within one patch, disparity >= 0 within one patch")
        }
        print("wrote \(out): \(canvas.image.width)x\(canvas.image.height), \(drawn.count) line\(drawn.count == 1 ? "" : "s")")
    }
}
