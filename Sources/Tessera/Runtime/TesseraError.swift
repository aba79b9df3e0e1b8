import CTesseraABI

/// The one error type inside the library; the C layer turns it into a status
/// and the thread's last-error message.
struct TesseraError: Error {
    let status: tessera_status
    let message: String

    static func invalid(_ m: String) -> TesseraError { .init(status: TESSERA_ERR_INVALID_ARGUMENT, message: m) }
    static func io(_ m: String) -> TesseraError { .init(status: TESSERA_ERR_IO, message: m) }
    static func format(_ m: String) -> TesseraError { .init(status: TESSERA_ERR_FORMAT, message: m) }
    static func unsupported(_ m: String) -> TesseraError { .init(status: TESSERA_ERR_UNSUPPORTED, message: m) }
    static func unavailable(_ m: String) -> TesseraError { .init(status: TESSERA_ERR_UNAVAILABLE, message: m) }
    static func outOfMemory(_ m: String) -> TesseraError { .init(status: TESSERA_ERR_OUT_OF_MEMORY, message: m) }
    static func state(_ m: String) -> TesseraError { .init(status: TESSERA_ERR_STATE, message: m) }
}

/// Overflow-checked size arithmetic for anything derived from outside input.
func checkedProduct(_ values: [Int], what: String) throws -> Int {
    var p = 1
    for v in values {
        guard v >= 0 else { throw TesseraError.format("\(what): negative dimension \(v)") }
        let (r, o) = p.multipliedReportingOverflow(by: v)
        guard !o else { throw TesseraError.format("\(what): size overflows (dimensions \(values))") }
        p = r
    }
    return p
}
