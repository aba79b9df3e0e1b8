import CTesseraABI
import TesseraKernelCore

/// Options several commands share, declared once.
enum CommonOptions {
    static let size = OptionSpec(name: "--size", value: "HxW",
                                 help: "input size, height x width, or one number for a square;\nmultiples of the patch size (default: the trained size)")
    static let threads = OptionSpec(name: "--threads", value: "N",
                                    help: "worker threads (default 0: the cores this process may use)")
    static let isa = OptionSpec(name: "--isa", value: "NAME",
                                help: "kernels: auto (default), portable, avx2 or avx512")
    static let precision = OptionSpec(name: "--precision", value: "P",
                                      help: "fp32 (default) or int8: qkv, proj, fc1 and fc2 in int8\n(weights per channel, activations per token)")
    static let resample = OptionSpec(name: "--resample", value: "FILTER", help: ResizePolicy.helpText)
    static let crop = OptionSpec(name: "--crop", value: nil,
                                 help: "keep the aspect ratio: resize the shorter side to cover\nthe input size and crop the center (default: stretch)")
    static let modelResize = OptionSpec(name: "--model-resize", value: nil,
                                        help: "resize and crop as the model's own preprocessing does\n(preprocessor_config.json or timm's pretrained_cfg); it\nmust end at the input size")

    static func settings(_ args: ParsedArguments, model: LoadedModel, batch: Int = 1) throws -> SessionSettings {
        let size = try model.resolveSize(try args.size("--size"))
        var s = SessionSettings()
        s.batch = batch
        s.height = size.height
        s.width = size.width
        s.threads = try args.int("--threads", default: 0, min: 0, max: 1024)
        if let isa = args.string("--isa") { s.isa = try Names.parseISA(isa) }
        switch args.string("--precision")?.lowercased() {
        case nil, "fp32": s.precision = TESSERA_PRECISION_FP32
        case "int8": s.precision = TESSERA_PRECISION_INT8
        case let other?: throw CLIError.usage("--precision \(other): expected fp32 or int8")
        }
        return s
    }

    /// --layer K, checked against the model's blocks; nil when not given.
    static func layer(_ args: ParsedArguments, model: LoadedModel) throws -> Int? {
        guard args.string("--layer") != nil else { return nil }
        return try args.int("--layer", default: 0, min: 0, max: Int(model.info.num_layers) - 1)
    }

    static func policy(_ args: ParsedArguments) throws -> ResizePolicy {
        var p = ResizePolicy()
        if let name = args.string("--resample") {
            guard let f = ImageResize.Filter(name: name) else {
                throw CLIError.usage("--resample \(name): expected bicubic or bilinear")
            }
            p.filter = f
            p.filterGiven = true
        }
        if args.has("--crop") && args.has("--model-resize") {
            throw CLIError.usage("--crop and --model-resize exclude each other")
        }
        if args.has("--crop") { p.mode = TESSERA_RESIZE_COVER_CROP }
        if args.has("--model-resize") { p.mode = TESSERA_RESIZE_MODEL }
        return p
    }
}
