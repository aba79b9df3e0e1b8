import CTesseraABI
#if canImport(Glibc)
import Glibc
#endif

/// An error the tool reports and exits on. Usage errors exit 2 and point at
/// `--help`; everything else (a failing C call, an unreadable image, a file
/// that cannot be written) exits 1.
struct CLIError: Error, CustomStringConvertible {
    var message: String
    var exitCode: Int32 = 1

    var description: String { message }

    static func usage(_ message: String) -> CLIError { CLIError(message: message, exitCode: 2) }

    /// A failing tessera_* call: the status's name and tessera_last_error(),
    /// read at once, since the next failing call on this thread replaces it.
    static func api(_ call: String, _ status: tessera_status) -> CLIError {
        let name = tessera_status_string(status).map { String(cString: $0) } ?? "unknown status"
        let detail = tessera_last_error().map { String(cString: $0) } ?? ""
        let macro = statusMacro(status)
        return CLIError(message: "\(call) failed: \(name) (\(macro)): \(detail.isEmpty ? "no message" : detail)")
    }

    static func statusMacro(_ status: tessera_status) -> String {
        switch status {
        case TESSERA_OK: return "TESSERA_OK"
        case TESSERA_ERR_INVALID_ARGUMENT: return "TESSERA_ERR_INVALID_ARGUMENT"
        case TESSERA_ERR_IO: return "TESSERA_ERR_IO"
        case TESSERA_ERR_FORMAT: return "TESSERA_ERR_FORMAT"
        case TESSERA_ERR_UNSUPPORTED: return "TESSERA_ERR_UNSUPPORTED"
        case TESSERA_ERR_UNAVAILABLE: return "TESSERA_ERR_UNAVAILABLE"
        case TESSERA_ERR_OUT_OF_MEMORY: return "TESSERA_ERR_OUT_OF_MEMORY"
        case TESSERA_ERR_BUSY: return "TESSERA_ERR_BUSY"
        case TESSERA_ERR_STATE: return "TESSERA_ERR_STATE"
        case TESSERA_ERR_INTERNAL: return "TESSERA_ERR_INTERNAL"
        default: return "status \(status)"
        }
    }
}

/// Throws `CLIError.api` unless `status` is TESSERA_OK.
@inline(__always)
func check(_ status: tessera_status, _ call: String) throws {
    if status != TESSERA_OK { throw CLIError.api(call, status) }
}

/// Writes to standard error (unbuffered), adding no newline.
func printError(_ text: String) {
    fputs(text, stderr)
}
