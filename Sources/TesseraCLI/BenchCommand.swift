import CTesseraABI

/// `tessera bench MODEL`: timing of repeated runs.
enum BenchCommand {
    static let spec = CommandSpec(
        name: "bench", synopsis: "MODEL [--size HxW] [--batch N] [--threads N] [--runs N] [--output NAME | --layer K]",
        brief: "time repeated runs: median and min ms, images/s",
        summary: """
            Runs a batch of synthetic images repeatedly after a warm-up and prints the median
            and minimum time per batch and the images per second at the median. (A shared
            machine's numbers move; compare side by side in one sitting.)
            """,
        arguments: [("MODEL", "a model directory or .safetensors file")],
        options: [CommonOptions.size,
                  OptionSpec(name: "--batch", value: "N", help: "images per run (default 1)"),
                  CommonOptions.threads,
                  OptionSpec(name: "--runs", value: "N", help: "timed runs (default 10)"),
                  OptionSpec(name: "--warmup", value: "N", help: "untimed runs first (default 2)"),
                  OptionSpec(name: "--output", value: "NAME", help: "ask for this final output alone: embedding, logits,\npatch-tokens or register-tokens (default: every output;\nwithout patch tokens the last block's MLP runs on the\nprefix tokens alone)"),
                  OptionSpec(name: "--layer", value: "K", help: "ask for block K's output alone (the run stops after\nblock K) instead of every output"),
                  CommonOptions.isa, CommonOptions.precision],
        minPositionals: 1, maxPositionals: 1)

    static func run(_ args: ParsedArguments) throws {
        let batch = try args.int("--batch", default: 1, min: 1, max: 4096)
        let runs = try args.int("--runs", default: 10, min: 1, max: 1_000_000)
        let warmup = try args.int("--warmup", default: 2, min: 0, max: 1_000_000)
        let model = try LoadedModel(path: args.positionals[0])
        var settings = try CommonOptions.settings(args, model: model, batch: batch)
        if let layer = try CommonOptions.layer(args, model: model) {
            guard args.string("--output") == nil else { throw CLIError.usage("--output and --layer: give one of them") }
            settings.onlyLayer(layer)
        } else if let name = args.string("--output") {
            let outputs: [String: tessera_output] = ["embedding": TESSERA_OUTPUT_EMBEDDING, "logits": TESSERA_OUTPUT_LOGITS,
                                                     "patch-tokens": TESSERA_OUTPUT_PATCH_TOKENS,
                                                     "register-tokens": TESSERA_OUTPUT_REGISTER_TOKENS]
            guard let output = outputs[name] else {
                throw CLIError.usage("--output \(name): expected embedding, logits, patch-tokens or register-tokens")
            }
            settings.only(output)
        }
        let session = try InferenceSession(model: model, settings: settings)
        let info = try session.info()

        // Deterministic pseudo-random pixels.
        var input = [UInt8](repeating: 0, count: batch * session.imageBytes)
        var state: UInt32 = 2463534242
        for i in input.indices {
            state ^= state << 13; state ^= state >> 17; state ^= state << 5
            input[i] = UInt8(truncatingIfNeeded: state)
        }
        print("model \(model.path): \(Names.family(model.info.family)) \(cString(model.info.architecture)), \(grouped(Int(model.info.num_parameters))) parameters")
        print("input \(batch)x\(session.height)x\(session.width), threads \(info.num_threads)\(settings.threads == 0 ? " (auto)" : ""), kernels \(cString(info.isa_name))\(info.precision == TESSERA_PRECISION_INT8 ? ", int8 (\(cString(info.int8_kernel)))" : ""), GEMM kc \(info.gemm_kc) mc \(info.gemm_mc) (\(cString(info.blocking_source))), arena \(bytesText(Int(info.arena_bytes)))")
        let patches = UInt32(1) << UInt32(TESSERA_OUTPUT_PATCH_TOKENS)
        let lastKept = info.layers_mask & (UInt64(1) << UInt64(info.num_layers - 1)) != 0
        let prefixOnly = info.outputs != 0 && info.outputs & patches == 0 && !lastKept
        print("runs \(info.blocks_run) of \(info.num_layers) blocks, \(info.num_ops) steps\(info.outputs == 0 ? ", no final norm or head" : prefixOnly ? ", the last block past attention on the \(model.info.num_prefix_tokens) prefix token\(model.info.num_prefix_tokens == 1 ? "" : "s") alone" : "")")
        for _ in 0..<warmup { try session.run(rgb8: input, images: batch) }
        var times: [Double] = []
        for _ in 0..<runs {
            let t0 = now()
            try session.run(rgb8: input, images: batch)
            times.append((now() - t0) * 1000)
        }
        let stats = Stats(times)
        print("runs \(runs) (after \(warmup) warm-up): median \(fixed(stats.median, 3)) ms, min \(fixed(stats.min, 3)) ms, mean \(fixed(stats.mean, 3)) ms per batch")
        print("throughput: \(fixed(Double(batch) * 1000 / stats.median, 2)) images/s (median), \(fixed(Double(batch) * 1000 / stats.min, 2)) images/s (best)")
    }
}

/// Median, minimum and mean of a non-empty sample.
struct Stats {
    let median: Double, min: Double, mean: Double

    init(_ x: [Double]) {
        precondition(!x.isEmpty, "Stats of an empty sample")
        let s = x.sorted()
        median = s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        min = s[0]
        mean = s.reduce(0, +) / Double(s.count)
    }
}
