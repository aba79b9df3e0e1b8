#if canImport(Glibc)
import Glibc
#endif

/// NumPy's .npy format, version 1.0, for float32 arrays: the magic
/// "\x93NUMPY", version 1.0, a little-endian uint16 header length, an ASCII
/// dict {'descr': '<f4', 'fortran_order': False, 'shape': (...), } padded
/// with spaces and ending in '\n' so that the data starts at a multiple of
/// 64 bytes, then the values, little-endian, C order.
enum NPY {
    /// The header; `length` pads it to exactly that many bytes (a multiple
    /// of 64 at least as long as it needs), so that it can be rewritten in
    /// place once the final shape is known.
    static func header(shape: [Int], length: Int? = nil) -> [UInt8] {
        let dims: String
        switch shape.count {
        case 0: dims = "()"
        case 1: dims = "(\(shape[0]),)"
        default: dims = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        var dict = "{'descr': '<f4', 'fortran_order': False, 'shape': \(dims), }"
        let prefix = 10  // magic (6) + version (2) + header length (2)
        let unpadded = prefix + dict.utf8.count + 1
        var pad = (64 - unpadded % 64) % 64
        if let length, length > unpadded + pad { pad = length - unpadded }
        dict += String(repeating: " ", count: pad) + "\n"
        let n = dict.utf8.count
        precondition(n <= 65535, "NPY: header too long")
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(n & 0xff), UInt8(n >> 8)] + Array(dict.utf8)
    }

    /// Little-endian float32 bytes.
    static func bytes(_ values: [Float]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(values.count * 4)
        for v in values {
            let b = v.bitPattern.littleEndian
            out.append(UInt8(truncatingIfNeeded: b))
            out.append(UInt8(truncatingIfNeeded: b >> 8))
            out.append(UInt8(truncatingIfNeeded: b >> 16))
            out.append(UInt8(truncatingIfNeeded: b >> 24))
        }
        return out
    }

    /// The whole file for `values` of `shape`.
    static func encode(_ values: [Float], shape: [Int]) -> [UInt8] {
        precondition(shape.reduce(1, *) == values.count, "NPY: shape does not match the values")
        return header(shape: shape) + bytes(values)
    }
}

/// A file written through a temporary name and renamed into place on
/// `commit()`, so that a failed run leaves no half-written output.
final class AtomicFile {
    let path: String
    let temporary: String
    private var file: UnsafeMutablePointer<FILE>?

    init(path: String) throws {
        self.path = path
        self.temporary = path + ".partial"
        guard let f = fopen(temporary, "wb") else {
            throw CLIError(message: "cannot create '\(temporary)': \(String(cString: strerror(errno)))")
        }
        file = f
    }

    func write(_ bytes: [UInt8]) throws {
        guard let f = file else { return }
        let n = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        guard n == bytes.count else {
            throw CLIError(message: "cannot write '\(temporary)': \(String(cString: strerror(errno)))")
        }
    }

    /// Overwrites bytes at the start of the file (a header rewritten with
    /// the final shape), then continues at the end.
    func rewriteStart(_ bytes: [UInt8]) throws {
        guard let f = file else { return }
        guard fseek(f, 0, SEEK_SET) == 0 else { throw CLIError(message: "cannot seek in '\(temporary)'") }
        try write(bytes)
        guard fseek(f, 0, SEEK_END) == 0 else { throw CLIError(message: "cannot seek in '\(temporary)'") }
    }

    func commit() throws {
        guard let f = file else { return }
        file = nil
        guard fclose(f) == 0 else {
            unlink(temporary)
            throw CLIError(message: "cannot write '\(temporary)': \(String(cString: strerror(errno)))")
        }
        guard rename(temporary, path) == 0 else {
            let e = String(cString: strerror(errno))
            unlink(temporary)
            throw CLIError(message: "cannot rename '\(temporary)' to '\(path)': \(e)")
        }
    }

    deinit {
        if let f = file {
            fclose(f)
            unlink(temporary)
        }
    }
}

/// Writes a whole small file at once (atomically).
func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    let f = try AtomicFile(path: path)
    try f.write(bytes)
    try f.commit()
}
