import CTesseraABI

/// `tessera info MODEL`: every field of tessera_model_info.
enum InfoCommand {
    static let spec = CommandSpec(
        name: "info", synopsis: "MODEL",
        brief: "print what the model is and how it will run",
        summary: "Loads a model and prints everything tessera_model_get_info reports about it.",
        arguments: [("MODEL", "a model directory (config.json + model.safetensors) or a .safetensors file")],
        options: [], minPositionals: 1, maxPositionals: 1)

    static func run(_ args: ParsedArguments) throws {
        let model = try LoadedModel(path: args.positionals[0])
        print(describe(model), terminator: "")
    }

    static func describe(_ model: LoadedModel) -> String {
        let i = model.info
        var lines: [String] = []
        func add(_ k: String, _ v: String) { lines.append(field(k, v, width: 18)) }
        add("model", model.path)
        add("family", Names.family(i.family))
        add("architecture", cString(i.architecture))
        add("hidden size", "\(i.hidden_size)")
        add("layers", "\(i.num_layers)")
        add("heads", "\(i.num_heads)")
        add("mlp size", "\(i.mlp_size)")
        add("patch size", "\(i.patch_size)")
        add("trained size", "\(i.image_height)x\(i.image_width) (HxW), \(i.image_height / max(i.patch_size, 1))x\(i.image_width / max(i.patch_size, 1)) patches")
        add("channels", "\(i.num_channels)")
        add("classes", i.num_classes > 0 ? "\(i.num_classes)" : "0 (no classifier head)")
        if i.num_classes > 0 {
            let shown = min(Int(i.num_classes), 10)
            var labels = (0..<shown).map { model.label($0) ?? "#\($0)" }.joined(separator: ", ")
            if Int(i.num_classes) > shown { labels += ", ..." }
            add("labels", labels)
        }
        add("registers", "\(i.num_register_tokens)")
        add("prefix tokens", "\(i.num_prefix_tokens) (\(prefixTokens(i)))")
        add("position resize", Names.posResize(i.pos_resize))
        add("kernels", "\(cString(i.isa_name)) (in use on this CPU; the TESSERA_ISA environment variable or --isa selects a lower one)")
        add("int8 kernel", "\(cString(i.int8_kernel)) (what --precision int8 runs on this CPU; accuracy against fp32: README, int8)")
        add("L1d cache", bytesText(i.l1d_bytes))
        add("L2 cache", bytesText(i.l2_bytes))
        add("GEMM blocking", "kc \(i.gemm_kc), mc \(i.gemm_mc) (\(cString(i.blocking_source)) on this CPU; TESSERA_BLOCKING=formula or KC,MC overrides)")
        add("parameters", grouped(Int(i.num_parameters)))
        add("weight bytes", "\(grouped(i.weight_bytes)) (\(bytesText(i.weight_bytes)), fp32)")
        add("image mean", [i.image_mean.0, i.image_mean.1, i.image_mean.2].map { fixed($0, 4) }.joined(separator: " "))
        add("image std", [i.image_std.0, i.image_std.1, i.image_std.2].map { fixed($0, 4) }.joined(separator: " "))
        add("library", "tessera " + (tessera_version().map { String(cString: $0) } ?? "?"))
        return lines.joined(separator: "\n") + "\n"
    }

    /// "CLS", "CLS + distillation", "CLS + 4 registers".
    static func prefixTokens(_ i: tessera_model_info) -> String {
        let registers = Int(i.num_register_tokens)
        let others = Int(i.num_prefix_tokens) - 1 - registers
        var parts = ["CLS"]
        if others == 1 { parts.append("distillation") } else if others > 1 { parts.append("\(others) other") }
        if registers > 0 { parts.append("\(registers) register\(registers == 1 ? "" : "s")") }
        return parts.joined(separator: " + ")
    }
}
