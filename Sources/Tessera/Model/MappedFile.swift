#if canImport(Glibc)
import Glibc
#endif

/// A read-only memory map of a whole file; unmapped when released. (Or, for
/// loading from memory, a private heap copy of some bytes; freed when released.)
final class MappedFile {
    let path: String
    let base: UnsafeRawPointer?
    let size: Int
    /// False for a heap copy (loading from memory): pages must not be dropped.
    let isMapped: Bool

    init(path: String) throws {
        self.path = path
        isMapped = true
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw TesseraError.io("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw TesseraError.io("cannot stat \(path): \(String(cString: strerror(errno)))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw TesseraError.io("\(path) is not a regular file") }
        size = Int(st.st_size)
        if size == 0 { base = nil; return }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else { throw TesseraError.io("cannot map \(path): \(String(cString: strerror(errno)))") }
        base = UnsafeRawPointer(p)
    }

    /// A heap copy of `bytes` standing in for a file named `name` in messages.
    init(name: String, copying bytes: UnsafeRawBufferPointer) {
        path = name
        size = bytes.count
        isMapped = false
        guard size > 0, let src = bytes.baseAddress else { base = nil; return }
        let p = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 4096)  // as a mapping is
        p.copyMemory(from: src, byteCount: size)
        base = UnsafeRawPointer(p)
    }

    deinit {
        guard let base else { return }
        if isMapped { munmap(UnsafeMutableRawPointer(mutating: base), size) } else { base.deallocate() }
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: size) }
}

/// Reads a small text file whole, refusing anything over `limit` bytes.
func readSmallFile(_ path: String, limit: Int = 16 << 20) throws -> [UInt8] {
    let f = try MappedFile(path: path)
    guard f.size <= limit else { throw TesseraError.format("\(path) is \(f.size) bytes; expected at most \(limit)") }
    return Array(f.bytes)
}

func isDirectory(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
}

func fileExists(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0
}
