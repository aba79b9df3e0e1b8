/// Hand-written argument parsing: each command declares its positionals and
/// options; `--name value`, `--name=value`, flags, `--` (end of options) and
/// `-h`/`--help` are understood; anything else is a usage error that names
/// the command's `--help`.

struct OptionSpec {
    /// "--size"
    let name: String
    /// Metavariable shown in help ("HxW"); nil for a flag.
    let value: String?
    let help: String
    var aliases: [String] = []

    var isFlag: Bool { value == nil }
}

struct CommandSpec {
    let name: String
    /// "MODEL IMAGE... [--size HxW] [--top K]"
    let synopsis: String
    /// One line for the command list of `tessera --help`.
    let brief: String
    let summary: String
    /// Lines describing the positionals.
    let arguments: [(String, String)]
    let options: [OptionSpec]
    let minPositionals: Int
    let maxPositionals: Int?  // nil: unbounded
    /// Free text after the options (notes, examples).
    var notes: String = ""

    var help: String {
        var s = "usage: tessera \(name) \(synopsis)\n\n\(summary)\n"
        if !arguments.isEmpty {
            s += "\narguments:\n"
            let w = arguments.map { $0.0.count }.max() ?? 0
            for (a, h) in arguments { s += "  \(a.padded(to: w))  \(h)\n" }
        }
        var rows = options.map { o -> (String, String) in
            let names = ([o.name] + o.aliases).joined(separator: ", ")
            return (o.value.map { "\(names) \($0)" } ?? names, o.help)
        }
        rows.append(("-h, --help", "show this help"))
        s += "\noptions:\n"
        let w = rows.map { $0.0.count }.max() ?? 0
        for (a, h) in rows {
            let lines = h.split(separator: "\n", omittingEmptySubsequences: false)
            s += "  \(a.padded(to: w))  \(lines.first ?? "")\n"
            for l in lines.dropFirst() { s += "  \("".padded(to: w))  \(l)\n" }
        }
        if !notes.isEmpty { s += "\n\(notes)\n" }
        return s
    }

    func option(named name: String) -> OptionSpec? {
        options.first { $0.name == name || $0.aliases.contains(name) }
    }
}

/// The parsed command line of one command.
struct ParsedArguments {
    let command: CommandSpec
    var positionals: [String] = []
    var values: [String: String] = [:]   // by canonical name
    var flags: Set<String> = []
    var helpRequested = false

    func has(_ flag: String) -> Bool { flags.contains(flag) }

    func string(_ name: String) -> String? { values[name] }

    private func bad(_ name: String, _ raw: String, _ expected: String) -> CLIError {
        .usage("\(name) \(raw): expected \(expected)")
    }

    func int(_ name: String, default def: Int, min lo: Int = Int.min, max hi: Int = Int.max) throws -> Int {
        guard let raw = values[name] else { return def }
        guard let v = Int(raw) else { throw bad(name, raw, "an integer") }
        guard v >= lo, v <= hi else {
            throw bad(name, raw, hi == Int.max ? "an integer >= \(lo)" : "an integer in \(lo)...\(hi)")
        }
        return v
    }

    func double(_ name: String, default def: Double, min lo: Double, max hi: Double) throws -> Double {
        guard let raw = values[name] else { return def }
        guard let v = Double(raw), v.isFinite else { throw bad(name, raw, "a number") }
        guard v >= lo, v <= hi else { throw bad(name, raw, "a number in \(lo)...\(hi)") }
        return v
    }

    /// "HxW" or "N" (square); nil when absent.
    func size(_ name: String) throws -> (height: Int, width: Int)? {
        guard let raw = values[name] else { return nil }
        guard let s = parseSize(raw) else {
            throw bad(name, raw, "HxW (height x width, e.g. 224x224) or one number for a square")
        }
        return s
    }
}

/// "224", "224x320", "224X320" → (height, width); nil if malformed or not positive.
func parseSize(_ raw: String) -> (height: Int, width: Int)? {
    let parts = raw.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "x" || $0 == "X" })
    guard parts.count == 1 || parts.count == 2 else { return nil }
    guard let h = Int(parts[0]), let w = Int(parts.count == 2 ? parts[1] : parts[0]) else { return nil }
    guard h > 0, w > 0, h <= 1 << 16, w <= 1 << 16 else { return nil }
    return (h, w)
}

enum ArgumentParser {
    /// Parses the arguments that follow the command's name.
    static func parse(_ args: [String], for spec: CommandSpec) throws -> ParsedArguments {
        var result = ParsedArguments(command: spec)
        var i = 0
        var optionsEnded = false
        let seeHelp = "see 'tessera \(spec.name) --help'"
        while i < args.count {
            let a = args[i]
            i += 1
            if optionsEnded || !a.hasPrefix("-") || a == "-" || isNegativeNumber(a) {
                result.positionals.append(a)
                continue
            }
            if a == "--" { optionsEnded = true; continue }
            if a == "-h" || a == "--help" { result.helpRequested = true; return result }
            var name = a
            var inline: String? = nil
            if let eq = a.firstIndex(of: "=") {
                name = String(a[..<eq])
                inline = String(a[a.index(after: eq)...])
            }
            guard let opt = spec.option(named: name) else {
                throw CLIError.usage("unknown option '\(name)' for 'tessera \(spec.name)'; \(seeHelp)")
            }
            if opt.isFlag {
                if inline != nil { throw CLIError.usage("\(opt.name) takes no value; \(seeHelp)") }
                result.flags.insert(opt.name)
                continue
            }
            if let inline {
                result.values[opt.name] = inline
            } else {
                guard i < args.count else {
                    throw CLIError.usage("\(opt.name) needs a value (\(opt.value!)); \(seeHelp)")
                }
                result.values[opt.name] = args[i]
                i += 1
            }
        }
        let n = result.positionals.count
        if n < spec.minPositionals {
            let missing = spec.arguments.dropFirst(n).first?.0 ?? "an argument"
            throw CLIError.usage("'tessera \(spec.name)' needs \(missing); usage: tessera \(spec.name) \(spec.synopsis)")
        }
        if let maxN = spec.maxPositionals, n > maxN {
            throw CLIError.usage("'tessera \(spec.name)' takes \(maxN) argument\(maxN == 1 ? "" : "s"), got \(n) (unexpected '\(result.positionals[maxN])'); \(seeHelp)")
        }
        return result
    }

    private static func isNegativeNumber(_ s: String) -> Bool {
        s.count > 1 && s.first == "-" && Double(s) != nil
    }
}

extension String {
    func padded(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
