#if canImport(Glibc)
import Glibc
#endif
import CTesseraCPU
import TesseraKernelCore
import TesseraKernelsAVX2
import TesseraKernelsAVX512
import TesseraKernelsCheck
import TesseraKernelsPortable

/// What this machine offers: the best kernel variant it can run, the
/// cores this process may use, and the cache sizes that set GEMM blocking.
enum Machine {
    static let hasAVX2 = tessera_cpu_has_avx2_fma() != 0
    static let hasAVX512 = tessera_cpu_has_avx512() != 0
    static let availableCores = max(1, Int(tessera_cpu_available()))

    static var bestISA: KernelTable.ISA { hasAVX512 ? .avx512 : (hasAVX2 ? .avx2 : .portable) }

    static func supports(_ isa: KernelTable.ISA) -> Bool {
        switch isa {
        case .portable: return true
        case .avx2: return hasAVX2
        case .avx512: return hasAVX512
        }
    }

    /// The variant used when the caller does not choose: the best one, or a
    /// lower one named by TESSERA_ISA (portable, avx2, avx512). A name the
    /// CPU cannot run is ignored in favour of the best it can.
    static var defaultISA: KernelTable.ISA {
        if let p = getenv("TESSERA_ISA"), let isa = parseISA(String(cString: p)), supports(isa), isa < bestISA {
            return isa
        }
        return bestISA
    }

    /// The kernels a session runs when the caller does not choose: those of
    /// `defaultISA`, or the AVX-512 tile shapes built for AVX2 when
    /// TESSERA_ISA names them (for tests; needs AVX2).
    static var defaultTable: KernelTable {
        if hasAVX2, let p = getenv("TESSERA_ISA"), String(cString: p).lowercased() == checkVariantName {
            return TesseraKernelsCheck.VariantKernels.table
        }
        return table(defaultISA)
    }

    static let checkVariantName = "avx512-on-avx2"

    /// TESSERA_INT8_TILE: the int8 tile to run instead of the CPU's best,
    /// by the start of its name (e.g. "avx2" for the vpmaddubsw tile on a
    /// CPU with AVX-VNNI); for tests and measurements.
    static var environmentInt8Tile: String? {
        guard let p = getenv("TESSERA_INT8_TILE"), p.pointee != 0 else { return nil }
        return String(cString: p)
    }

    /// The int8 tile a table's sessions run: the one TESSERA_INT8_TILE names
    /// (nil when the table has none by that name), else the CPU's best.
    static func int8Tile(_ table: KernelTable) -> Int8Tile? {
        guard let name = environmentInt8Tile?.lowercased() else { return table.int8Tiles.first }
        return table.int8Tiles.first { $0.name.lowercased().hasPrefix(name) }
    }

    static func parseISA(_ s: String) -> KernelTable.ISA? {
        switch s.lowercased() {
        case "portable", "sse2", "baseline": return .portable
        case "avx2": return .avx2
        case "avx512", "avx-512": return .avx512
        default: return nil
        }
    }

    static func table(_ isa: KernelTable.ISA) -> KernelTable {
        switch isa {
        case .portable: return TesseraKernelsPortable.VariantKernels.table
        case .avx2: return TesseraKernelsAVX2.VariantKernels.table
        case .avx512: return TesseraKernelsAVX512.VariantKernels.table
        }
    }

    /// L1d and L2 sizes of cpu0 from sysfs; common defaults if unreadable.
    static let caches: (l1: Int, l2: Int) = {
        var l1 = 32 << 10, l2 = 512 << 10
        for index in 0..<8 {
            let base = "/sys/devices/system/cpu/cpu0/cache/index\(index)/"
            guard let level = readLine(base + "level"), let type = readLine(base + "type"),
                  let size = readLine(base + "size").flatMap(parseSize) else { continue }
            if level == "1" && (type == "Data" || type == "Unified") { l1 = size }
            if level == "2" { l2 = size }
        }
        return (l1, l2)
    }()

    static func readLine(_ path: String) -> String? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var buf = [CChar](repeating: 0, count: 64)
        guard fgets(&buf, 64, f) != nil else { return nil }
        let bytes = buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self).trimmingSpace()
    }

    static func parseSize(_ s: String) -> Int? {
        var digits = s
        var mult = 1
        if s.hasSuffix("K") { mult = 1 << 10; digits.removeLast() }
        else if s.hasSuffix("M") { mult = 1 << 20; digits.removeLast() }
        guard let v = Int(digits), v > 0 else { return nil }
        return v * mult
    }
}

extension String {
    func trimmingSpace() -> String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\n" || c == "\t" || c == "\r" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\n" || c == "\t" || c == "\r" { s.removeLast() }
        return String(s)
    }
}
