import CTesseraABI

/// The command table and the top-level dispatch.
enum Tool {
    struct Command {
        let spec: CommandSpec
        let run: (ParsedArguments) throws -> Void
    }

    static let commands: [Command] = [
        Command(spec: InfoCommand.spec, run: InfoCommand.run),
        Command(spec: RunCommand.spec, run: RunCommand.run),
        Command(spec: EmbedCommand.spec, run: EmbedCommand.run),
        Command(spec: MatchCommand.spec, run: MatchCommand.run),
        Command(spec: PCACommand.spec, run: PCACommand.run),
        Command(spec: BenchCommand.spec, run: BenchCommand.run),
    ]

    static var usage: String {
        var s = """
            tessera: Vision Transformer inference (ViT, DeiT, DINOv2, DINOv3) on the Tessera runtime

            usage: tessera <command> [arguments] [options]

            commands:

            """
        let w = commands.map { $0.spec.name.count }.max() ?? 0
        for c in commands {
            s += "  \(c.spec.name.padded(to: w))  \(c.spec.brief)\n"
        }
        s += """

            Run 'tessera <command> --help' for a command's arguments and options.
            'tessera --version' prints the library's version.
            Exit status: 0 on success, 1 on an error, 2 on a usage error.

            """
        return s
    }

    /// Runs the tool on the arguments after the program name; returns the exit status.
    static func main(_ args: [String]) -> Int32 {
        guard let first = args.first else {
            printError(usage)
            return 2
        }
        switch first {
        case "-h", "--help", "help":
            if first == "help", args.count > 1, let c = commands.first(where: { $0.spec.name == args[1] }) {
                print(c.spec.help, terminator: "")
            } else {
                print(usage, terminator: "")
            }
            return 0
        case "-V", "--version", "version":
            print("tessera \(tessera_version().map { String(cString: $0) } ?? "?")")
            return 0
        default:
            break
        }
        guard let command = commands.first(where: { $0.spec.name == first }) else {
            printError("tessera: unknown command '\(first)'; commands: \(commands.map { $0.spec.name }.joined(separator: ", ")); see 'tessera --help'\n")
            return 2
        }
        do {
            let parsed = try ArgumentParser.parse(Array(args.dropFirst()), for: command.spec)
            if parsed.helpRequested {
                print(command.spec.help, terminator: "")
                return 0
            }
            try command.run(parsed)
            return 0
        } catch let e as CLIError {
            printError("tessera \(first): error: \(e.message)\n")
            return e.exitCode
        } catch {
            printError("tessera \(first): error: \(error)\n")
            return 1
        }
    }
}
