import CTesseraABI

/// `tessera embed MODEL DIR --out embeddings.npy`: one embedding per image.
enum EmbedCommand {
    static let spec = CommandSpec(
        name: "embed", synopsis: "MODEL DIR --out FILE.npy [--size HxW] [--batch N] [--layer K] [--pool cls|mean]",
        brief: "embed a directory of images into a .npy file",
        summary: """
            Embeds every PNG and JPEG file in DIR (recognised by their first bytes; sorted by
            name; hidden files and subdirectories skipped) and writes a float32 NumPy array
            [N, D] of their embeddings, with the file names in row order in a .txt file beside
            it (FILE.npy -> FILE.txt). Every file left out (hidden, a directory, not a PNG or
            JPEG, or one that fails to decode) is reported on stderr by name with the reason;
            --strict stops at the first file that cannot be read instead. The embedding is the
            CLS token after the final norm
            (TESSERA_OUTPUT_EMBEDDING); --pool mean takes the mean of the patch tokens instead,
            and --layer K either one from block K's output, in which case the run stops after
            block K. Progress goes to stderr.
            """,
        arguments: [("MODEL", "a model directory or .safetensors file"),
                    ("DIR", "a directory of images")],
        options: [OptionSpec(name: "--out", value: "FILE.npy", help: "where to write the embeddings (required)", aliases: ["-o"]),
                  CommonOptions.size,
                  OptionSpec(name: "--batch", value: "N", help: "images per run (default 4)"),
                  OptionSpec(name: "--normalize", value: nil, help: "L2-normalize each embedding before writing"),
                  OptionSpec(name: "--strict", value: nil, help: "stop at the first file that is not a readable PNG or JPEG\n(default: skip it and report it)"),
                  OptionSpec(name: "--layer", value: "K", help: "embed block K's tokens (0-based, before the final norm)"),
                  OptionSpec(name: "--pool", value: "cls|mean", help: "the CLS token (default) or the mean of the patch tokens"),
                  CommonOptions.threads, CommonOptions.isa, CommonOptions.precision, CommonOptions.resample, CommonOptions.crop, CommonOptions.modelResize],
        minPositionals: 2, maxPositionals: 2)

    /// FILE.npy -> FILE.txt; anything else gets ".txt" appended.
    static func namesPath(for out: String) -> String {
        out.hasSuffix(".npy") ? String(out.dropLast(4)) + ".txt" : out + ".txt"
    }

    static func run(_ args: ParsedArguments) throws {
        guard let out = args.string("--out") else {
            throw CLIError.usage("'tessera embed' needs --out FILE.npy; see 'tessera embed --help'")
        }
        let batch = try args.int("--batch", default: 4, min: 1, max: 4096)
        let policy = try CommonOptions.policy(args)
        let normalize = args.has("--normalize")
        let strict = args.has("--strict")
        let dir = args.positionals[1]
        let listing = try ImageFile.scan(dir)
        var skipped = listing.skipped
        if strict, let bad = skipped.first(where: { $0.why == "not a PNG or JPEG file" }) {
            throw CLIError(message: "'\(joinPath(dir, bad.name))' is not a PNG or JPEG file (--strict stops at the first file that cannot be read)")
        }
        let files = listing.images
        guard !files.isEmpty else {
            throw CLIError(message: "no PNG or JPEG files in '\(dir)'" + (skipped.isEmpty ? "" : "; skipped: " + skipped.map { "\($0.name) (\($0.why))" }.joined(separator: ", ")))
        }

        let model = try LoadedModel(path: args.positionals[0])
        var settings = try CommonOptions.settings(args, model: model, batch: min(batch, files.count))
        let pool = args.string("--pool") ?? "cls"
        guard pool == "cls" || pool == "mean" else { throw CLIError.usage("--pool \(pool): expected cls or mean") }
        let layer = try CommonOptions.layer(args, model: model)
        let source: tessera_output
        if let layer {
            settings.onlyLayer(layer)
            source = TESSERA_OUTPUT_LAYER_BASE + Int32(layer)
        } else {
            source = pool == "cls" ? TESSERA_OUTPUT_EMBEDDING : TESSERA_OUTPUT_PATCH_TOKENS
            settings.only(source)
        }
        let session = try InferenceSession(model: model, settings: settings)
        let dim = model.hidden
        // Patch tokens start after the prefix (CLS, registers) in a layer output.
        let firstPatch = layer == nil ? 0 : Int(model.info.num_prefix_tokens)
        printError("embedding \(files.count) image\(files.count == 1 ? "" : "s") from \(dir) at \(session.height)x\(session.width), batch \(session.batch), resampler \(policy.description)\n")

        let npy = try AtomicFile(path: out)
        // The header is written for every candidate and rewritten, padded to
        // the same length, with the number actually embedded.
        let header = NPY.header(shape: [files.count, dim])
        try npy.write(header)
        let progress = ProgressBar(total: files.count)
        var input = [UInt8](repeating: 0, count: session.batch * session.imageBytes)
        var embedded: [String] = []
        var next = 0
        while next < files.count {
            var batchFiles: [String] = []
            while batchFiles.count < session.batch && next < files.count {
                let path = files[next]
                next += 1
                do {
                    let (_, image) = try loadForSession(path, session, policy)
                    let k = batchFiles.count
                    input.replaceSubrange((k * session.imageBytes)..<((k + 1) * session.imageBytes), with: image.pixels)
                    batchFiles.append(path)
                } catch let e as CLIError {
                    if strict { throw CLIError(message: "\(e.message) (--strict stops at the first file that cannot be read)") }
                    skipped.append((baseName(path), e.message))
                }
            }
            let n = batchFiles.count
            if n == 0 { break }
            try session.run(rgb8: input, images: n)
            let (shape, tokens) = try session.output(source)
            guard shape.count == (source == TESSERA_OUTPUT_EMBEDDING ? 2 : 3), shape[0] == n, shape.last == dim else {
                throw CLIError(message: "unexpected \(outputName(source)) shape \(shape); expected [\(n), ..., \(dim)]")
            }
            var values = source == TESSERA_OUTPUT_EMBEDDING ? tokens
                : pooled(tokens, images: n, tokens: shape[1], dim: dim, firstPatch: firstPatch, mean: pool == "mean")
            if normalize { Matcher.l2Normalize(&values, rows: n, dim: dim) }
            try npy.write(NPY.bytes(values))
            embedded += batchFiles
            progress.update(done: next)
        }
        guard !embedded.isEmpty else {
            throw CLIError(message: "none of the \(files.count) PNG or JPEG files in '\(dir)' could be read: " + skipped.map { "\($0.name) (\($0.why))" }.joined(separator: ", "))
        }
        try npy.rewriteStart(NPY.header(shape: [embedded.count, dim], length: header.count))
        try npy.commit()
        let names = embedded.map { baseName($0) }.joined(separator: "\n") + "\n"
        let namesFile = namesPath(for: out)
        try writeFile(namesFile, Array(names.utf8))
        let seconds = now() - progress.start
        let count = embedded.count
        progress.finish("embedded \(count) images in \(fixed(seconds, 2)) s (\(fixed(Double(count) / max(seconds, 1e-9), 1)) images/s)")
        if !skipped.isEmpty {
            printError("skipped \(skipped.count) file\(skipped.count == 1 ? "" : "s") in \(dir):\n")
            for (name, why) in skipped.sorted(by: { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }) {
                printError("  \(name): \(why)\n")
            }
        }
        print("wrote \(out): float32 [\(count), \(dim)]")
        print("wrote \(namesFile): \(count) file names in row order")
    }

    /// [images, dim] from [images, tokens, dim]: token 0 (CLS), or the mean of
    /// the tokens from `firstPatch` on.
    static func pooled(_ x: [Float], images: Int, tokens: Int, dim: Int, firstPatch: Int, mean: Bool) -> [Float] {
        var out = [Float](repeating: 0, count: images * dim)
        for b in 0..<images {
            let base = b * tokens * dim
            if !mean {
                for i in 0..<dim { out[b * dim + i] = x[base + i] }
                continue
            }
            var sum = [Double](repeating: 0, count: dim)
            for t in firstPatch..<tokens {
                for i in 0..<dim { sum[i] += Double(x[base + t * dim + i]) }
            }
            let n = Double(tokens - firstPatch)
            for i in 0..<dim { out[b * dim + i] = Float(sum[i] / n) }
        }
        return out
    }
}
