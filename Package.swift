// swift-tools-version: 6.1
import PackageDescription

/// Kernels are compiled once per instruction set, each target with its own
/// `-target-cpu`, and linked into the one library; the rest is baseline x86-64.
func isaFlags(_ cpu: String) -> [SwiftSetting] {
    [.unsafeFlags(["-target-cpu", cpu, "-Ounchecked"])]
}

let package = Package(
    name: "Tessera",
    products: [
        .library(name: "tessera", type: .dynamic, targets: ["TesseraShared"]),
        .executable(name: "tessera-cli", targets: ["TesseraCLI"]),
        .executable(name: "tessera-gemm-bench", targets: ["TesseraGemmBench"]),
    ],
    targets: [
        .systemLibrary(name: "CTesseraABI"),
        .target(name: "CTesseraCPU"),
        // The int8 dot-product tiles (vpdpbusd, vpmaddubsw), one function per
        // CPU feature through target attributes; see tessera_int8.h.
        .target(name: "CTesseraInt8", cSettings: [.unsafeFlags(["-O3"])]),
        .target(name: "TesseraKernelCore", dependencies: ["CTesseraInt8"],
                swiftSettings: [.unsafeFlags(["-Ounchecked"])]),
        .target(name: "TesseraKernelsPortable", dependencies: ["TesseraKernelCore", "CTesseraCPU", "CTesseraInt8"],
                swiftSettings: [.unsafeFlags(["-Ounchecked"])]),
        .target(name: "TesseraKernelsAVX2", dependencies: ["TesseraKernelCore", "CTesseraCPU", "CTesseraInt8"],
                swiftSettings: isaFlags("haswell")),
        .target(name: "TesseraKernelsAVX512", dependencies: ["TesseraKernelCore", "CTesseraCPU", "CTesseraInt8"],
                swiftSettings: isaFlags("skylake-avx512")),
        .target(name: "Tessera",
                dependencies: ["CTesseraABI", "CTesseraCPU", "TesseraKernelCore",
                               "TesseraKernelsPortable", "TesseraKernelsAVX2",
                               "TesseraKernelsAVX512", "TesseraKernelsCheck"],
                linkerSettings: [.linkedLibrary("m")]),
        // The shipped .so: the core plus a statically linked Swift runtime, so
        // that C and Python hosts need no Swift toolchain.
        .target(name: "TesseraShared", dependencies: ["Tessera"], exclude: ["exports.map"],
                linkerSettings: [.unsafeFlags(["-static-stdlib", "-Xlinker",
                    "--version-script=\(Context.packageDirectory)/Sources/TesseraShared/exports.map"]),
                    .linkedLibrary("m")]),
        // PNG/JPEG decoding for the CLI only (system libpng + libjpeg-turbo);
        // every function has hidden visibility.
        .target(name: "CTesseraImageIO",
                linkerSettings: [.linkedLibrary("png"), .linkedLibrary("jpeg")]),
        .executableTarget(name: "TesseraCLI", dependencies: ["Tessera", "CTesseraABI", "CTesseraImageIO", "TesseraKernelCore"]),
        .executableTarget(name: "TesseraGemmBench",
                          dependencies: ["TesseraKernelCore", "TesseraKernelsPortable", "TesseraKernelsAVX2",
                                         "TesseraKernelsAVX512", "CTesseraCPU"],
                          swiftSettings: [.unsafeFlags(["-Ounchecked"])]),
        // The wide kernels' shapes built for AVX2, so that the AVX-512 code
        // paths' logic is checked on machines without AVX-512; in the library
        // too, so that the C and Python tests can run it (TESSERA_ISA only).
        .target(name: "TesseraKernelsCheck", dependencies: ["TesseraKernelCore", "CTesseraCPU", "CTesseraInt8"],
                swiftSettings: isaFlags("haswell")),
        .testTarget(name: "TesseraTests",
                    dependencies: ["Tessera", "TesseraKernelCore", "TesseraKernelsPortable",
                                   "TesseraKernelsAVX2", "TesseraKernelsAVX512",
                                   "TesseraKernelsCheck", "CTesseraABI",
                                   "TesseraCLI", "CTesseraImageIO"],
                    resources: []),
    ],
    swiftLanguageModes: [.v5]
)

// libFuzzer targets (fuzz/README.md), only when TESSERA_FUZZ=1: they have no
// main of their own (libFuzzer supplies it), so they link only in a build
// with -sanitize=fuzzer, e.g. fuzz/run.sh.
if Context.environment["TESSERA_FUZZ"] == "1" {
    package.targets += [
        .executableTarget(name: "TesseraFuzzLoader", dependencies: ["Tessera", "CTesseraABI"],
                          path: "fuzz/Sources/TesseraFuzzLoader"),
        .executableTarget(name: "TesseraFuzzSession", dependencies: ["Tessera", "CTesseraABI"],
                          path: "fuzz/Sources/TesseraFuzzSession"),
    ]
}
