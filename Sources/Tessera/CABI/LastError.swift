#if canImport(Glibc)
import Glibc
#endif

/// The thread-local last-error message behind `tessera_last_error()`: one
/// malloc'd C string per thread, replaced by the next failing call on that
/// thread and freed when the thread exits.
enum LastError {
    static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k) { p in free(p) }
        return k
    }()

    static let empty: UnsafeMutablePointer<CChar> = strdup("")!

    static func set(_ message: String) {
        let old = pthread_getspecific(key)
        let copy = message.withCString { strdup($0) }
        pthread_setspecific(key, copy.map { UnsafeRawPointer($0) })
        free(old)
    }

    static var current: UnsafePointer<CChar> {
        if let p = pthread_getspecific(key) { return UnsafePointer(p.assumingMemoryBound(to: CChar.self)) }
        return UnsafePointer(empty)
    }
}
