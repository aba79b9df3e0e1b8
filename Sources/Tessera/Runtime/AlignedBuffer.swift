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
        let page = 4096, huge = 2 << 20
        let bytes = (raw + page - 1) / page * page
        // From 2 MiB up, the mapping starts on a 2 MiB boundary (a larger one
        // is trimmed at both ends) so that transparent huge pages can back
        // all of it. Linux aligns large anonymous mappings itself from 6.7
        // on; before, a buffer at an arbitrary page kept its first and last
        // 2 MiB in 4 KiB pages, where a GEMM's rows of C or A, each on its
        // own page, take a TLB miss per row of a tile (Xeon, one thread,
        // 1576 × 768 × 2304 all in 4 KiB pages: 4-5 % slower).
        let wide = bytes >= huge
        let mapped = wide ? bytes + huge : bytes
        let m = mmap(nil, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let m, m != MAP_FAILED else {
            throw TesseraError.outOfMemory("allocation of \(bytes) bytes failed: \(String(cString: strerror(errno)))")
        }
        var p = m
        if wide {
            let head = (huge - Int(bitPattern: m) % huge) % huge
            if head > 0 { munmap(m, head) }
            p = m + head
            let tail = mapped - head - bytes
            if tail > 0 { munmap(p + bytes, tail) }
            madvise(p, bytes, 14 /* MADV_HUGEPAGE */)
        }
        pointer = p.bindMemory(to: Float.self, capacity: max(floats, 1))
        count = floats
        mappedBytes = bytes
    }

    deinit { munmap(UnsafeMutableRawPointer(pointer), mappedBytes) }

    var bytes: Int { count * MemoryLayout<Float>.stride }
}
