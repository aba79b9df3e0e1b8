import CTesseraABI
import TesseraKernelCore

/// `tessera pca MODEL IMAGE --out pca.png`: the first three principal
/// components of the patch tokens as RGB, beside the photo.
enum PCACommand {
    static let spec = CommandSpec(
        name: "pca", synopsis: "MODEL IMAGE --out FILE.png [--size 448] [--layer K]",
        brief: "show the patch features' first three principal components as colours",
        summary: """
            Runs the image at the given size, takes its patch tokens (the final ones, or block
            K's with --layer), and maps their first three principal components to red, green
            and blue, each stretched over its 1st-99th percentile: patches with similar
            features get similar colours, so objects and their parts stand out. Writes a PNG
            with the resized photo and the colour map (resized to the photo, bicubic) side
            by side.
            """,
        arguments: [("MODEL", "a model directory or .safetensors file"), ("IMAGE", "a PNG or JPEG")],
        options: [OptionSpec(name: "--out", value: "FILE.png", help: "where to write the picture (required)", aliases: ["-o"]),
                  OptionSpec(name: "--size", value: "HxW", help: "input size, a multiple of the patch size; one number\nfor a square (default 448)"),
                  OptionSpec(name: "--layer", value: "K", help: "block K's tokens (0-based, before the final norm); the run\nstops after block K"),
                  CommonOptions.threads, CommonOptions.isa, CommonOptions.precision, CommonOptions.resample, CommonOptions.crop, CommonOptions.modelResize],
        minPositionals: 2, maxPositionals: 2)

    static func run(_ args: ParsedArguments) throws {
        guard let out = args.string("--out") else {
            throw CLIError.usage("'tessera pca' needs --out FILE.png; see 'tessera pca --help'")
        }
        let policy = try CommonOptions.policy(args)
        let model = try LoadedModel(path: args.positionals[0])
        let size = try model.resolveSize(try args.size("--size") ?? (448, 448))
        var settings = try CommonOptions.settings(args, model: model)
        settings.height = size.height
        settings.width = size.width
        let layer = try CommonOptions.layer(args, model: model)
        if let layer { settings.onlyLayer(layer) } else { settings.only(TESSERA_OUTPUT_PATCH_TOKENS) }
        let session = try InferenceSession(model: model, settings: settings)
        let (_, image) = try loadForSession(args.positionals[1], session, policy)
        try session.run(rgb8: image.pixels, images: 1)

        let patch = model.patch, gridH = session.height / patch, gridW = session.width / patch
        let n = gridH * gridW, dim = model.hidden
        var features: [Float]
        if let layer {
            let (_, all) = try session.output(TESSERA_OUTPUT_LAYER_BASE + Int32(layer))
            let prefix = Int(model.info.num_prefix_tokens)
            features = Array(all[(prefix * dim)..<((prefix + n) * dim)])
        } else {
            features = try session.output(TESSERA_OUTPUT_PATCH_TOKENS).values
        }
        let (_, scores) = PrincipalComponents.project(features, rows: n, dim: dim)
        let colors = PrincipalComponents.colors(scores)
        var grid = [UInt8](repeating: 0, count: n * 3)
        for (i, c) in colors.enumerated() { grid[3 * i] = c.0; grid[3 * i + 1] = c.1; grid[3 * i + 2] = c.2 }
        let map = ImageResize.resize(grid, width: gridW, height: gridH, toWidth: image.width, toHeight: image.height)
        var canvas = Canvas(width: 2 * image.width, height: image.height)
        canvas.paste(image, x: 0, y: 0)
        canvas.paste(RGBImage(width: image.width, height: image.height, pixels: map), x: image.width, y: 0)
        try ImageFile.writePNG(canvas.image, to: out)
        let source = layer.map { "block \($0)'s tokens" } ?? "final patch tokens"
        print("\(args.positionals[1]) at \(session.height)x\(session.width): \(gridH)x\(gridW) patches, \(dim)-d \(source)")
        print("wrote \(out): \(canvas.image.width)x\(canvas.image.height), the photo and its first three principal components as RGB")
    }
}
