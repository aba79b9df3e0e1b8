import CTesseraABI
import Synchronization

/// Boxes behind the opaque C handles. Every live handle's address is in a
/// registry, so a freed, foreign or mistyped pointer is refused before it is
/// ever dereferenced.
final class ModelHandle {
    let model: Model
    init(_ m: Model) { model = m }
}

final class SessionHandle {
    let session: Session
    /// Keeps the model alive while the session lives, even if the caller
    /// frees the model first.
    let modelHandle: ModelHandle
    init(_ s: Session, _ m: ModelHandle) { session = s; modelHandle = m }
}

enum Handles {
    enum Kind { case model, session }
    static let live = Mutex<[UInt: Kind]>([:])

    static func register(_ object: AnyObject, _ kind: Kind) -> OpaquePointer {
        let p = Unmanaged.passRetained(object).toOpaque()
        live.withLock { $0[UInt(bitPattern: p)] = kind }
        return OpaquePointer(p)
    }

    static func model(_ p: OpaquePointer?, _ what: String = "model") throws -> ModelHandle {
        guard let p else { throw TesseraError.invalid("\(what) is NULL") }
        guard live.withLock({ $0[UInt(bitPattern: UnsafeRawPointer(p))] }) == .model else {
            throw TesseraError.invalid("\(what) is not a live tessera_model (freed, or not from tessera_model_load)")
        }
        return Unmanaged<ModelHandle>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
    }

    static func session(_ p: OpaquePointer?) throws -> SessionHandle {
        guard let p else { throw TesseraError.invalid("session is NULL") }
        guard live.withLock({ $0[UInt(bitPattern: UnsafeRawPointer(p))] }) == .session else {
            throw TesseraError.invalid("session is not a live tessera_session (freed, or not from tessera_session_create)")
        }
        return Unmanaged<SessionHandle>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
    }

    /// Unregisters and releases; false if the pointer was not a live handle of that kind.
    @discardableResult
    static func free(_ p: OpaquePointer?, _ kind: Kind) -> Bool {
        guard let p else { return false }
        let key = UInt(bitPattern: UnsafeRawPointer(p))
        let was = live.withLock { table -> Bool in
            guard table[key] == kind else { return false }
            table[key] = nil
            return true
        }
        if was { Unmanaged<AnyObject>.fromOpaque(UnsafeRawPointer(p)).release() }
        return was
    }
}

/// Runs a C entry point's body: errors become a status and the thread's
/// last-error message.
@inline(__always)
func guarded(_ body: () throws -> Void) -> tessera_status {
    do {
        try body()
        return TESSERA_OK
    } catch let e as TesseraError {
        LastError.set(e.message)
        return e.status
    } catch {
        LastError.set("internal error: \(error)")
        return TESSERA_ERR_INTERNAL
    }
}
