#if canImport(Glibc)
import Glibc
#endif

/// The safetensors container: 8-byte little-endian header length, a JSON
/// header naming each tensor's dtype, shape and byte range, then the data.
/// Every number in the header is checked against the file before use.
struct SafeTensors {
    enum DType: String {
        case f32 = "F32", f16 = "F16", bf16 = "BF16", f64 = "F64"
        case u8 = "U8", i8 = "I8", i16 = "I16", i32 = "I32", i64 = "I64", bool = "BOOL"
        var size: Int {
            switch self {
            case .f64, .i64: 8
            case .f32, .i32: 4
            case .f16, .bf16, .i16: 2
            case .u8, .i8, .bool: 1
            }
        }
        var isFloat: Bool { self == .f32 || self == .f16 || self == .bf16 }
    }

    struct Tensor {
        let name: String
        let dtype: DType
        let shape: [Int]
        let count: Int
        /// Byte range inside the file.
        let offset: Int
        let byteCount: Int
    }

    static let maxHeaderBytes = 100 << 20
    static let maxRank = 8

    let file: MappedFile
    let tensors: [String: Tensor]
    let metadata: [String: String]

    init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    /// Reads the header of a mapped file (or of bytes in memory); `file.path` names it in messages.
    init(file: MappedFile) throws {
        self.file = file
        let path = file.path
        let bytes = file.bytes
        guard bytes.count >= 8 else {
            throw TesseraError.format("\(path): \(bytes.count) bytes is too short for a safetensors file (expected an 8-byte header length first)")
        }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n <= UInt64(SafeTensors.maxHeaderBytes) else {
            throw TesseraError.format("\(path): header length \(n) exceeds the limit of \(SafeTensors.maxHeaderBytes) bytes")
        }
        let headerLen = Int(n)
        guard headerLen >= 2, 8 + headerLen <= bytes.count else {
            throw TesseraError.format("\(path): header length \(headerLen) runs past the end of the \(bytes.count)-byte file (truncated?)")
        }
        let json: JSON
        do { json = try JSON.parse(Array(bytes[8..<(8 + headerLen)])) } catch let e as TesseraError {
            throw TesseraError.format("\(path): header: \(e.message)")
        }
        guard let members = json.members else { throw TesseraError.format("\(path): header is not a JSON object") }
        let dataStart = 8 + headerLen
        let dataSize = bytes.count - dataStart
        var tensors: [String: Tensor] = [:]
        var meta: [String: String] = [:]
        for (name, v) in members {
            if name == "__metadata__" {
                for (k, mv) in v.members ?? [] { if let s = mv.string { meta[k] = s } }
                continue
            }
            guard tensors[name] == nil else { throw TesseraError.format("\(path): tensor '\(name)' is listed twice") }
            guard let ds = v["dtype"]?.string else { throw TesseraError.format("\(path): tensor '\(name)' has no dtype") }
            guard let dt = DType(rawValue: ds) else { throw TesseraError.format("\(path): tensor '\(name)' has unknown dtype '\(ds)'") }
            guard let sh = v["shape"]?.array, sh.count <= SafeTensors.maxRank else {
                throw TesseraError.format("\(path): tensor '\(name)' has no shape or a rank above \(SafeTensors.maxRank)")
            }
            var shape: [Int] = []
            for d in sh {
                guard let x = d.int, x >= 0 else { throw TesseraError.format("\(path): tensor '\(name)' has an invalid dimension in its shape") }
                shape.append(x)
            }
            guard let offs = v["data_offsets"]?.array, offs.count == 2, let b = offs[0].int, let e = offs[1].int else {
                throw TesseraError.format("\(path): tensor '\(name)' has no valid data_offsets [begin, end]")
            }
            let count = try checkedProduct(shape, what: "\(path): tensor '\(name)'")
            let (bytesNeeded, o) = count.multipliedReportingOverflow(by: dt.size)
            guard !o else { throw TesseraError.format("\(path): tensor '\(name)' is too large") }
            guard b >= 0, e >= b, e <= dataSize else {
                throw TesseraError.format("\(path): tensor '\(name)' data_offsets [\(b), \(e)] lie outside the \(dataSize)-byte data section (truncated file?)")
            }
            guard e - b == bytesNeeded else {
                throw TesseraError.format("\(path): tensor '\(name)' holds \(e - b) bytes but \(dt.rawValue) \(shape) needs \(bytesNeeded)")
            }
            tensors[name] = Tensor(name: name, dtype: dt, shape: shape, count: count, offset: dataStart + b, byteCount: e - b)
        }
        // No two tensors may share bytes.
        let sorted = tensors.values.filter { $0.byteCount > 0 }.sorted { $0.offset < $1.offset }
        for (x, y) in zip(sorted, sorted.dropFirst()) where x.offset + x.byteCount > y.offset {
            throw TesseraError.format("\(path): tensors '\(x.name)' and '\(y.name)' overlap in the file")
        }
        self.tensors = tensors
        self.metadata = meta
    }

    /// Converts a float tensor to fp32 into `dst` (count floats).
    func readFloats(_ t: Tensor, into dst: UnsafeMutablePointer<Float>) {
        guard let base = file.base else { return }
        let src = base + t.offset
        switch t.dtype {
        case .f32:
            UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: t.count * 4)
        case .f16:
            for i in 0..<t.count {
                let bits = src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                dst[i] = Float(Float16(bitPattern: bits))
            }
        case .bf16:
            for i in 0..<t.count {
                let bits = src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                dst[i] = Float(bitPattern: UInt32(bits) << 16)
            }
        default:
            break
        }
    }

    /// Drops the file pages of a tensor already converted from this process's
    /// memory (they stay in the page cache), so that loading does not hold the
    /// file and the converted weights in memory at once.
    func release(_ t: Tensor) {
        // Only for a file mapping: on a heap copy MADV_DONTNEED would zero the
        // pages, which the rounding below extends past this tensor and the copy.
        guard file.isMapped, let base = file.base, t.byteCount > 0 else { return }
        let page = 4096
        let start = t.offset / page * page
        let end = min(file.size, (t.offset + t.byteCount + page - 1) / page * page)
        madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
    }
}
