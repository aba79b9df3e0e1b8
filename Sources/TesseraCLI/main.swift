#if canImport(Glibc)
import Glibc
#endif

// The `tessera` command-line tool; see Tool.swift for the commands.
setvbuf(stdout, nil, _IOLBF, 0)
exit(Tool.main(Array(CommandLine.arguments.dropFirst())))
