#if canImport(Glibc)
import Glibc
#endif

/// A zeroed, page-aligned block of floats for weights and arenas, mapped
/// straight from the kernel and returned to it on release.
///
/// Not jemalloc: Debian's libjemalloc uses 2.6 KB of initial-exec TLS, more
/// than glibc keeps for libraries loaded with dlopen, so a libtessera.so
/// linked against it fails to load from Python ("cannot allocate memory in
/// static TLS block"). Whole-page mappings give the alignment and the
/// prompt return of memory that jemalloc was wanted for.
final class AlignedBuffer {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    private let mappedBytes: Int

    init(floats: Int) throws {
        let (raw, o) = max(floats, 1).multipliedReportingOverflow(by: MemoryLayout<Float>.stride)
        guard !o, raw < (1 << 46) else { throw TesseraError.outOfMemory("cannot allocate \(floats) floats") }
        let page = 4096
        let bytes = (raw + page - 1) / page * page
        let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let p, p != MAP_FAILED else {
            throw TesseraError.outOfMemory("allocation of \(bytes) bytes failed: \(String(cString: strerror(errno)))")
        }
        if bytes >= (2 << 20) { madvise(p, bytes, 14 /* MADV_HUGEPAGE */) }
        pointer = p.bindMemory(to: Float.self, capacity: max(floats, 1))
        count = floats
        mappedBytes = bytes
    }

    deinit { munmap(UnsafeMutableRawPointer(pointer), mappedBytes) }

    var bytes: Int { count * MemoryLayout<Float>.stride }
}
