import CTesseraABI

/// An output after the final norm (the tessera_output codes 0...3).
enum FinalOutput: Int32, CaseIterable, Comparable {
    case logits = 0, embedding, patchTokens, registerTokens

    static func < (a: FinalOutput, b: FinalOutput) -> Bool { a.rawValue < b.rawValue }

    /// The C name, for messages.
    var cName: String {
        switch self {
        case .logits: return "TESSERA_OUTPUT_LOGITS"
        case .embedding: return "TESSERA_OUTPUT_EMBEDDING"
        case .patchTokens: return "TESSERA_OUTPUT_PATCH_TOKENS"
        case .registerTokens: return "TESSERA_OUTPUT_REGISTER_TOKENS"
        }
    }

    /// Whether a model of this spec can produce it at all.
    func exists(in s: ModelSpec) -> Bool {
        switch self {
        case .logits: return s.classes > 0
        case .registerTokens: return s.registers > 0
        case .embedding, .patchTokens: return true
        }
    }
}

/// What a session is asked to produce; the planner runs only what that needs.
struct OutputRequest: Equatable {
    var finals: Set<FinalOutput>
    /// Blocks whose outputs are kept (0-based).
    var layers: Set<Int>

    /// Every final output the model has, plus `layers`: the default.
    static func everything(_ s: ModelSpec, layers: Set<Int> = []) -> OutputRequest {
        OutputRequest(finals: Set(FinalOutput.allCases.filter { $0.exists(in: s) }), layers: layers)
    }

    /// The options' `outputs` field: 0 means every final output the model
    /// has; otherwise TESSERA_OUTPUTS_EXPLICIT and a bit per output.
    static func decode(_ bits: UInt32, layers: Set<Int>, spec s: ModelSpec) throws -> OutputRequest {
        if bits == 0 { return everything(s, layers: layers) }
        let explicit = UInt32(TESSERA_OUTPUTS_EXPLICIT)
        let known = FinalOutput.allCases.reduce(explicit) { $0 | (1 << UInt32($1.rawValue)) }
        guard bits & explicit != 0, bits & ~known == 0 else {
            throw TesseraError.invalid("options->outputs is 0x\(String(bits, radix: 16)); expected 0 (every final output) or TESSERA_OUTPUTS_EXPLICIT | TESSERA_OUTPUT_BIT(o) for o in LOGITS, EMBEDDING, PATCH_TOKENS, REGISTER_TOKENS")
        }
        let finals = Set(FinalOutput.allCases.filter { bits & (1 << UInt32($0.rawValue)) != 0 })
        return OutputRequest(finals: finals, layers: layers)
    }

    /// The bits of tessera_session_info.outputs.
    var finalBits: UInt32 { finals.reduce(0) { $0 | (1 << UInt32($1.rawValue)) } }

    /// The last block anything needs: all of them for a final output, else
    /// the deepest kept layer (nil when nothing is asked for).
    func lastBlock(of s: ModelSpec) -> Int? {
        finals.isEmpty ? layers.max() : s.layers - 1
    }

    /// Whether the last block and the final norm need only the prefix
    /// tokens: final outputs are asked for, none of them the patch tokens,
    /// and the last block's output is not kept.
    func prefixOnly(_ s: ModelSpec) -> Bool {
        !finals.isEmpty && !finals.contains(.patchTokens) && !layers.contains(s.layers - 1)
    }

    /// Whether the final norm's tokens are themselves read (not only the heads').
    var keepsFinalTokens: Bool { !finals.subtracting([.logits]).isEmpty }

    /// Checks the request against the model: known layers, outputs it has, something to do.
    func validate(_ s: ModelSpec) throws {
        for l in layers where l < 0 || l >= s.layers {
            throw TesseraError.invalid("layer \(l) requested; the model has layers 0...\(s.layers - 1)")
        }
        for f in finals.sorted() where !f.exists(in: s) {
            let what = f == .logits ? "has no classifier head, so no logits" : "has no register tokens"
            throw TesseraError.unavailable("\(f.cName) was asked for in options->outputs, but the model \(what)")
        }
        guard !finals.isEmpty || !layers.isEmpty else {
            throw TesseraError.invalid("the session would compute nothing: options->outputs asks for no final output (TESSERA_OUTPUTS_EXPLICIT alone) and layers_mask is 0; ask for an output or a layer")
        }
    }
}
