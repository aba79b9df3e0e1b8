import XCTest
@testable import Tessera
import TesseraKernelCore
import TesseraKernelsAVX2
import TesseraKernelsAVX512
import TesseraKernelsCheck
import TesseraKernelsPortable

/// Deterministic pseudo-random floats for kernel tests.
struct TestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E3779B97F4A7C15 | 1 }
    mutating func next() -> Float {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return Float(state % 2_000_001) / 1_000_000 - 1
    }
    mutating func array(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in next() * scale } }
}

/// The kernel tables this CPU can run, plus the AVX-512 shapes built for AVX2.
func kernelVariants() -> [(String, KernelTable)] {
    var v: [(String, KernelTable)] = [("portable", TesseraKernelsPortable.VariantKernels.table)]
    if Machine.hasAVX2 {
        v.append(("avx2", TesseraKernelsAVX2.VariantKernels.table))
        v.append(("avx512-on-avx2", TesseraKernelsCheck.VariantKernels.table))
    }
    if Machine.hasAVX512 { v.append(("avx512", TesseraKernelsAVX512.VariantKernels.table)) }
    return v
}

let fixturesDir: String = {
    var path = #filePath
    for _ in 0..<2 { path = String(path[..<path.lastIndex(of: "/")!]) }
    return path + "/Fixtures"
}()

func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    var m: Float = 0
    for i in a.indices { m = max(m, abs(a[i] - b[i])) }
    return m
}

func cosine(_ a: [Float], _ b: [Float]) -> Double {
    var ab = 0.0, aa = 0.0, bb = 0.0
    for i in a.indices { ab += Double(a[i]) * Double(b[i]); aa += Double(a[i]) * Double(a[i]); bb += Double(b[i]) * Double(b[i]) }
    return ab / (aa.squareRoot() * bb.squareRoot() + 1e-30)
}

/// Reads a float or uint8 tensor of a reference file.
func referenceTensor(_ file: SafeTensors, _ name: String) -> [Float]? {
    guard let t = file.tensors[name] else { return nil }
    if t.dtype == .u8 {
        let base = file.file.base! + t.offset
        return (0..<t.count).map { Float(base.load(fromByteOffset: $0, as: UInt8.self)) }
    }
    var out = [Float](repeating: 0, count: t.count)
    out.withUnsafeMutableBufferPointer { file.readFloats(t, into: $0.baseAddress!) }
    return out
}

func referenceBytes(_ file: SafeTensors, _ name: String) -> [UInt8]? {
    guard let t = file.tensors[name], t.dtype == .u8 else { return nil }
    return Array(UnsafeRawBufferPointer(start: file.file.base! + t.offset, count: t.count))
}

func listDirectory(_ path: String) -> [String] {
    guard let d = opendir(path) else { return [] }
    defer { closedir(d) }
    var names: [String] = []
    while let e = readdir(d) {
        let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}
