import CTesseraABI

/// `tessera embed MODEL DIR --out embeddings.npy`: one embedding per image.
enum EmbedCommand {
    static let spec = CommandSpec(
        name: "embed", synopsis: "MODEL DIR --out FILE.npy [--size HxW] [--batch N] [--threads N]",
        brief: "embed a directory of images into a .npy file",
        summary: """
            Embeds every PNG and JPEG file in DIR (recognised by their first bytes; sorted by
            name; hidden files and subdirectories skipped) and writes a float32 NumPy array
            [N, D] of their embeddings (TESSERA_OUTPUT_EMBEDDING), with the file names in row
            order in a .txt file beside it (FILE.npy -> FILE.txt). Progress goes to stderr.
            """,
        arguments: [("MODEL", "a model directory or .safetensors file"),
                    ("DIR", "a directory of images")],
        options: [OptionSpec(name: "--out", value: "FILE.npy", help: "where to write the embeddings (required)", aliases: ["-o"]),
                  CommonOptions.size,
                  OptionSpec(name: "--batch", value: "N", help: "images per run (default 4)"),
                  OptionSpec(name: "--normalize", value: nil, help: "L2-normalize each embedding before writing"),
                  CommonOptions.threads, CommonOptions.isa, CommonOptions.resample, CommonOptions.crop],
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
        let dir = args.positionals[1]
        let files = try ImageFile.listImages(in: dir)
        guard !files.isEmpty else { throw CLIError(message: "no PNG or JPEG files in '\(dir)'") }

        let model = try LoadedModel(path: args.positionals[0])
        let settings = try CommonOptions.settings(args, model: model, batch: min(batch, files.count))
        let session = try InferenceSession(model: model, settings: settings)
        let dim = model.hidden
        printError("embedding \(files.count) image\(files.count == 1 ? "" : "s") from \(dir) at \(session.height)x\(session.width), batch \(session.batch), resampler \(policy.description)\n")

        let npy = try AtomicFile(path: out)
        try npy.write(NPY.header(shape: [files.count, dim]))
        let progress = ProgressBar(total: files.count)
        var input = [UInt8](repeating: 0, count: session.batch * session.imageBytes)
        var start = 0
        while start < files.count {
            let n = min(session.batch, files.count - start)
            for k in 0..<n {
                let (_, image) = try loadForSession(files[start + k], session, policy)
                input.replaceSubrange((k * session.imageBytes)..<((k + 1) * session.imageBytes), with: image.pixels)
            }
            try session.run(rgb8: input, images: n)
            var (shape, values) = try session.output(TESSERA_OUTPUT_EMBEDDING)
            guard shape == [n, dim] else {
                throw CLIError(message: "unexpected embedding shape \(shape); expected [\(n), \(dim)]")
            }
            if normalize { Matcher.l2Normalize(&values, rows: n, dim: dim) }
            try npy.write(NPY.bytes(values))
            start += n
            progress.update(done: start)
        }
        try npy.commit()
        let names = files.map { baseName($0) }.joined(separator: "\n") + "\n"
        let namesFile = namesPath(for: out)
        try writeFile(namesFile, Array(names.utf8))
        let seconds = now() - progress.start
        progress.finish("embedded \(files.count) images in \(fixed(seconds, 2)) s (\(fixed(Double(files.count) / max(seconds, 1e-9), 1)) images/s)")
        print("wrote \(out): float32 [\(files.count), \(dim)]")
        print("wrote \(namesFile): \(files.count) file names in row order")
    }
}
