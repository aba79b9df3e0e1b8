#if canImport(Glibc)
import Glibc
#endif
import CTesseraABI
import TesseraKernelCore

// The C interface: argument checks, handles and statuses only; every
// signature is checked against include/tessera.h by `@c @implementation`.

private let versionString: UnsafeMutablePointer<CChar> = strdup(TESSERA_VERSION_STRING)!

private let statusNames: [tessera_status: String] = [
    TESSERA_OK: "ok", TESSERA_ERR_INVALID_ARGUMENT: "invalid argument", TESSERA_ERR_IO: "I/O error",
    TESSERA_ERR_FORMAT: "malformed model file", TESSERA_ERR_UNSUPPORTED: "unsupported",
    TESSERA_ERR_UNAVAILABLE: "output unavailable", TESSERA_ERR_OUT_OF_MEMORY: "out of memory",
    TESSERA_ERR_BUSY: "session busy", TESSERA_ERR_STATE: "invalid state", TESSERA_ERR_INTERNAL: "internal error",
]
private let statusStrings: [tessera_status: UnsafeMutablePointer<CChar>] = statusNames.mapValues { strdup($0)! }
private let unknownStatus: UnsafeMutablePointer<CChar> = strdup("unknown status")!

@c @implementation
public func tessera_version() -> UnsafePointer<CChar>? { UnsafePointer(versionString) }

@c @implementation
public func tessera_last_error() -> UnsafePointer<CChar>? { LastError.current }

@c @implementation
public func tessera_status_string(_ status: tessera_status) -> UnsafePointer<CChar>? {
    UnsafePointer(statusStrings[status] ?? unknownStatus)
}

@c @implementation
public func tessera_model_load(_ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> tessera_status {
    guarded {
        guard let out else { throw TesseraError.invalid("out_model is NULL") }
        out.pointee = nil
        guard let path else { throw TesseraError.invalid("path is NULL") }
        let model = try Model.load(path: String(cString: path))
        out.pointee = Handles.register(ModelHandle(model), .model)
    }
}

@c @implementation
public func tessera_model_free(_ model: OpaquePointer?) {
    Handles.free(model, .model)
}

@c @implementation
public func tessera_model_get_info(_ model: OpaquePointer?, _ out: UnsafeMutablePointer<tessera_model_info>?) -> tessera_status {
    guarded {
        let m = try Handles.model(model).model
        guard let out else { throw TesseraError.invalid("out_info is NULL") }
        var info = ModelInfo.make(m)
        try fillInfo(&info, into: out, name: "tessera_model_info", minimum: MemoryLayout<tessera_model_info>.offset(of: \.family)! + 4)
    }
}

@c @implementation
public func tessera_model_label(_ model: OpaquePointer?, _ index: Int32) -> UnsafePointer<CChar>? {
    guard let m = try? Handles.model(model).model else { return nil }
    return m.label(Int(index))
}

@c @implementation
public func tessera_session_default_options() -> tessera_session_options_48 {
    // The first 48 bytes of the current defaults.
    var d = defaultOptions()
    var o = tessera_session_options_48()
    withUnsafeMutableBytes(of: &o) { dst in withUnsafeBytes(of: &d) { dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[..<dst.count])) } }
    o.struct_size = MemoryLayout<tessera_session_options_48>.size
    return o
}

@c @implementation
public func tessera_session_options_init(_ options: UnsafeMutablePointer<tessera_session_options>?,
                                         _ structSize: Int) -> tessera_status {
    guarded {
        guard let options else { throw TesseraError.invalid("options is NULL") }
        let minimum = MemoryLayout<tessera_session_options>.offset(of: \.batch)! + 4
        guard structSize >= minimum, structSize <= 1 << 16 else {
            throw TesseraError.invalid("struct_size is \(structSize); expected sizeof(tessera_session_options) (\(MemoryLayout<tessera_session_options>.size) in this library's header), at least \(minimum)")
        }
        var d = defaultOptions()
        let raw = UnsafeMutableRawPointer(options)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: structSize)
        withUnsafeBytes(of: &d) { src in
            raw.copyMemory(from: src.baseAddress!, byteCount: min(structSize, src.count))
        }
        raw.storeBytes(of: structSize, as: Int.self)
    }
}

/// The defaults, as this library's struct.
func defaultOptions() -> tessera_session_options {
    var o = tessera_session_options()
    o.struct_size = MemoryLayout<tessera_session_options>.size
    o.batch = 1
    o.precision = TESSERA_PRECISION_FP32
    return o
}

@c @implementation
public func tessera_session_create(_ model: OpaquePointer?, _ options: UnsafePointer<tessera_session_options>?,
                                   _ out: UnsafeMutablePointer<OpaquePointer?>?) -> tessera_status {
    guarded {
        guard let out else { throw TesseraError.invalid("out_session is NULL") }
        out.pointee = nil
        let mh = try Handles.model(model)
        var o = Session.Options()
        if let options {
            let v = try sessionOptions(options)
            o.batch = Int(v.batch)
            o.height = Int(v.height)
            o.width = Int(v.width)
            o.threads = Int(v.num_threads)
            guard v.height >= 0, v.width >= 0 else {
                throw TesseraError.invalid("height/width are \(v.height)x\(v.width); expected 0 (the trained size) or a positive multiple of the patch size")
            }
            for k in 0..<64 where v.layers_mask & (UInt64(1) << UInt64(k)) != 0 { o.layers.insert(k) }
            if v.outputs != 0 {
                o.finals = try OutputRequest.decode(v.outputs, layers: o.layers, spec: mh.model.spec).finals
            }
            o.maxArenaBytes = v.max_arena_bytes
            switch v.precision {
            case TESSERA_PRECISION_FP32: o.precision = .fp32
            case TESSERA_PRECISION_INT8: o.precision = .int8
            default: throw TesseraError.invalid("options->precision is \(v.precision); expected TESSERA_PRECISION_FP32 (0) or TESSERA_PRECISION_INT8 (1)")
            }
            guard v.reserved == 0 else { throw TesseraError.invalid("options->reserved is \(v.reserved); expected 0") }
            if v.isa != TESSERA_ISA_AUTO {
                guard let isa = KernelTable.ISA(rawValue: v.isa) else {
                    throw TesseraError.invalid("options->isa is \(v.isa); expected TESSERA_ISA_AUTO, _PORTABLE, _AVX2 or _AVX512")
                }
                o.isa = isa
            }
        }
        let session = try Session(model: mh.model, options: o)
        out.pointee = Handles.register(SessionHandle(session, mh), .session)
    }
}

/// The caller's options over the defaults, as far as its struct_size
/// reaches: a program built against an older header (a shorter struct)
/// gets the defaults for the fields it does not know; a newer, longer one
/// is accepted when the fields this library does not know are zero.
func sessionOptions(_ p: UnsafePointer<tessera_session_options>) throws -> tessera_session_options {
    let size = MemoryLayout<tessera_session_options>.size
    let given = UnsafeRawPointer(p).loadUnaligned(as: Int.self)
    let minimum = MemoryLayout<tessera_session_options>.offset(of: \.batch)! + 4
    guard given >= minimum, given <= 1 << 16 else {
        throw TesseraError.invalid("options->struct_size is \(given); expected \(minimum)...\(size) (sizeof(tessera_session_options), from tessera_session_options_init()), or larger with the fields past \(size) zero")
    }
    if given > size {
        let extra = UnsafeRawBufferPointer(start: UnsafeRawPointer(p) + size, count: given - size)
        if let at = extra.firstIndex(where: { $0 != 0 }) {
            throw TesseraError.unsupported("options->struct_size is \(given) and byte \(size + at) is set; this library knows the first \(size) bytes of tessera_session_options (a newer tessera.h asks for something it cannot do)")
        }
    }
    // Whole fields only: a struct_size that ends inside a field leaves it default.
    typealias O = tessera_session_options
    let ends = [MemoryLayout<O>.offset(of: \.batch)! + 4, MemoryLayout<O>.offset(of: \.height)! + 4,
                MemoryLayout<O>.offset(of: \.width)! + 4, MemoryLayout<O>.offset(of: \.num_threads)! + 4,
                MemoryLayout<O>.offset(of: \.layers_mask)! + 8, MemoryLayout<O>.offset(of: \.max_arena_bytes)! + 8,
                MemoryLayout<O>.offset(of: \.isa)! + 4, MemoryLayout<O>.offset(of: \.outputs)! + 4,
                MemoryLayout<O>.offset(of: \.precision)! + 4, MemoryLayout<O>.offset(of: \.reserved)! + 4]
    let known = ends.filter { $0 <= given }.max()!
    var v = defaultOptions()
    withUnsafeMutableBytes(of: &v) { dst in
        dst.copyMemory(from: UnsafeRawBufferPointer(start: UnsafeRawPointer(p), count: known))
    }
    v.struct_size = size
    return v
}

@c @implementation
public func tessera_session_free(_ session: OpaquePointer?) {
    Handles.free(session, .session)
}

@c @implementation
public func tessera_session_arena_bytes(_ session: OpaquePointer?) -> Int {
    (try? Handles.session(session).session.arenaBytes) ?? 0
}

@c @implementation
public func tessera_session_get_info(_ session: OpaquePointer?, _ out: UnsafeMutablePointer<tessera_session_info>?) -> tessera_status {
    guarded {
        let s = try Handles.session(session).session
        guard let out else { throw TesseraError.invalid("out_info is NULL") }
        var info = SessionInfo.make(s)
        try fillInfo(&info, into: out, name: "tessera_session_info", minimum: MemoryLayout<tessera_session_info>.offset(of: \.batch)! + 4)
    }
}

/// Copies an info struct the library fills into the caller's, up to the
/// caller's struct_size (an older header's struct is shorter), and sets
/// struct_size to the bytes written.
func fillInfo<T>(_ info: inout T, into out: UnsafeMutablePointer<T>, name: String, minimum: Int) throws {
    let given = UnsafeRawPointer(out).loadUnaligned(as: Int.self)
    let size = MemoryLayout<T>.size
    guard given >= minimum else {
        throw TesseraError.invalid("out_info->struct_size is \(given); set it to sizeof(\(name)) (\(size))")
    }
    let n = min(given, size)
    withUnsafeMutableBytes(of: &info) { src in
        src.storeBytes(of: n, as: Int.self)
        UnsafeMutableRawPointer(out).copyMemory(from: src.baseAddress!, byteCount: n)
    }
}

@c @implementation
public func tessera_run_f32(_ session: OpaquePointer?, _ nchw: UnsafePointer<Float>?, _ images: Int) -> tessera_status {
    guarded {
        let s = try Handles.session(session).session
        guard let nchw else { throw TesseraError.invalid("nchw is NULL") }
        try s.run(.float(nchw), images: images)
    }
}

@c @implementation
public func tessera_run_rgb8(_ session: OpaquePointer?, _ nhwc: UnsafePointer<UInt8>?, _ images: Int) -> tessera_status {
    guarded {
        let s = try Handles.session(session).session
        guard let nhwc else { throw TesseraError.invalid("nhwc is NULL") }
        guard s.model.spec.channels == 3 else {
            throw TesseraError.invalid("tessera_run_rgb8 needs a 3-channel model; this one has \(s.model.spec.channels) channels (use tessera_run_f32)")
        }
        try s.run(.rgb8(nhwc), images: images)
    }
}

@c @implementation
public func tessera_output_shape(_ session: OpaquePointer?, _ which: tessera_output,
                                 _ shape: UnsafeMutablePointer<Int64>?, _ rank: UnsafeMutablePointer<Int32>?) -> tessera_status {
    guarded {
        let s = try Handles.session(session).session
        guard let shape else { throw TesseraError.invalid("shape is NULL") }
        guard let rank else { throw TesseraError.invalid("out_rank is NULL") }
        let dims = try s.outputShape(which)
        for i in 0..<4 { shape[i] = i < dims.count ? Int64(dims[i]) : 1 }
        rank.pointee = Int32(dims.count)
    }
}

@c @implementation
public func tessera_output_copy(_ session: OpaquePointer?, _ which: tessera_output,
                                _ dst: UnsafeMutablePointer<Float>?, _ dstFloats: Int) -> tessera_status {
    guarded {
        let s = try Handles.session(session).session
        guard let dst else { throw TesseraError.invalid("dst is NULL") }
        try s.copyOutput(which, into: dst, capacity: dstFloats)
    }
}

@c @implementation
public func tessera_output_view(_ session: OpaquePointer?, _ which: tessera_output, _ data: UnsafeMutablePointer<UnsafePointer<Float>?>?,
                                _ shape: UnsafeMutablePointer<Int64>?, _ strides: UnsafeMutablePointer<Int64>?,
                                _ rank: UnsafeMutablePointer<Int32>?) -> tessera_status {
    guarded {
        let s = try Handles.session(session).session
        guard let data else { throw TesseraError.invalid("out_data is NULL") }
        data.pointee = nil
        guard let shape else { throw TesseraError.invalid("shape is NULL") }
        guard let strides else { throw TesseraError.invalid("strides is NULL") }
        guard let rank else { throw TesseraError.invalid("out_rank is NULL") }
        let v = try s.outputView(which)
        (shape[0], shape[1], shape[2], shape[3]) = (Int64(v.shape.0), Int64(v.shape.1), Int64(v.shape.2), 1)
        (strides[0], strides[1], strides[2], strides[3]) = (Int64(v.strides.0), Int64(v.strides.1), Int64(v.strides.2), 0)
        rank.pointee = Int32(v.rank)
        data.pointee = v.data
    }
}

@c @implementation
public func tessera_preprocess_rgb8(_ session: OpaquePointer?, _ rgb: UnsafePointer<UInt8>?, _ height: Int, _ width: Int,
                                    _ stride: Int, _ mode: tessera_resize, _ resample: tessera_resample,
                                    _ out: UnsafeMutablePointer<UInt8>?, _ outBytes: Int) -> tessera_status {
    guarded {
        let s = try Handles.session(session).session
        guard let rgb else { throw TesseraError.invalid("rgb is NULL") }
        guard let out else { throw TesseraError.invalid("out is NULL") }
        let h = height, w = width  // size_t: beyond Int.max they arrive negative
        guard h >= 1, w >= 1, h <= ModelSpec.maxImageSide, w <= ModelSpec.maxImageSide, h * w <= Session.maxPhotoPixels else {
            throw TesseraError.invalid("the image is \(UInt(bitPattern: height))x\(UInt(bitPattern: width)) (height x width); expected 1...\(ModelSpec.maxImageSide) each and at most \(Session.maxPhotoPixels) pixels")
        }
        let rowBytes = w * 3
        let st = stride == 0 ? rowBytes : stride
        guard st >= rowBytes, st <= 1 << 24 else {
            throw TesseraError.invalid("stride is \(UInt(bitPattern: stride)); expected 0 (width * 3 = \(rowBytes)) or at least \(rowBytes) bytes")
        }
        let need = s.height * s.width * 3
        guard outBytes >= need else {
            throw TesseraError.invalid("out holds \(outBytes) bytes; the session's input is \(s.height)x\(s.width)x3 = \(need) bytes")
        }
        let m: Session.ResizeMode
        switch mode {
        case TESSERA_RESIZE_STRETCH: m = .stretch
        case TESSERA_RESIZE_COVER_CROP: m = .coverCrop
        case TESSERA_RESIZE_MODEL: m = .model
        default: throw TesseraError.invalid("mode is \(mode); expected TESSERA_RESIZE_STRETCH, _COVER_CROP or _MODEL")
        }
        let filter: ImageResize.Filter?
        switch resample {
        case TESSERA_RESAMPLE_DEFAULT: filter = nil
        case TESSERA_RESAMPLE_BICUBIC: filter = .bicubic
        case TESSERA_RESAMPLE_BILINEAR: filter = .bilinear
        default: throw TesseraError.invalid("resample is \(resample); expected TESSERA_RESAMPLE_DEFAULT, _BICUBIC or _BILINEAR")
        }
        let pixels = try s.prepareImage(rgb, height: h, width: w, stride: st, mode: m, filter: filter)
        pixels.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: need) }
    }
}
