// libFuzzer target for sessions and runs (see fuzz/README.md).
//
// Valid tiny models from Tests/Fixtures (or $TESSERA_FIXTURES) are loaded once;
// each input then chooses a model, session options, a run and output reads:
//
//   off  size  field
//    0    1    model index (mod the number of fixtures)
//    1    1    flags A: 1 options=NULL, 2 raw batch, 4 raw height/width, 8 raw threads,
//                       16 raw max_arena_bytes, 32 raw struct_size, 64 uint8 input, 128 raw images
//    2    1    flags B: 1 raw layers_mask, 2 raw isa, 4 fresh model freed before the run,
//                       8 run twice, 16 read outputs before any run, 32 second run with the other input kind,
//                       64 explicit outputs (TESSERA_OUTPUTS_EXPLICIT | bits 8..11 of the isa field),
//                       128 raw outputs (the isa field's 32 bits)
//    3    4    batch        (i32; sane: 1 + v % 3)
//    7    4    height       (i32; sane: patch * (v % 9), 0 = trained size)
//   11    4    width        (i32; sane: as height)
//   15    4    num_threads  (i32; sane: v % 3)
//   19    8    layers_mask  (u64; sane: v & the model's layers)
//   27    8    max_arena_bytes (u64; sane: 0 or a small cap when v % 4 == 0)
//   35    4    isa          (i32; sane: v % 3 = auto, portable, avx2)
//   39    1    struct_size  (raw only: the byte as struct_size; then batch, height and
//                             width are sane, since the arena cap may lie past it. The
//                             options lie at the start of 256 readable bytes whose tail
//                             is zero, or set when the byte is odd)
//   40    8    images       (u64; sane: 1 + v % batch)
//   48    4    precision    (i32; sane: v & 1 = fp32 or int8; raw when bit 4 is set)
//   52    2    options_init (u16; bit 15: tessera_session_options_init with size v % 300
//                             into 256 bytes, NULL past them: the status must match the
//                             size and nothing past the size may change)
//   54    1    output requests n (mod 9), then per request: u8 kind, i8 capacity delta, i32 raw which
//   ...        pixel bytes (repeated to fill the input; float inputs use them as float bit patterns)
//
// Memory and time are bounded: max_arena_bytes is always capped at 256 MiB
// (0 becomes the cap), and runs happen only when the input is at most 4 Mi
// floats and the run at most ~4e8 flops (large sizes are still created).
// A trap, sanitizer report, hang or OOM is a finding, as is a status outside
// the header's codes, a failure without a message, a valid call that fails,
// an undersized copy that succeeds, or non-finite outputs from uint8 input;
// also a borrowed view (tessera_output_view) that disagrees with the copy, or
// session info (read with the struct_size byte as its struct_size into 256
// bytes) that writes past that size or reports another arena or batch.
#if canImport(Glibc)
import Glibc
#endif
import CTesseraABI
import Tessera

@inline(never)
func finding(_ what: String) -> Never {
    fputs("FINDING: \(what)\n", stderr)
    abort()
}

func message() -> String { String(cString: tessera_last_error()) }

@discardableResult
func check(_ st: tessera_status, _ call: String) -> tessera_status {
    guard st >= TESSERA_OK && st <= TESSERA_ERR_INTERNAL else { finding("\(call) returned \(st)") }
    if st == TESSERA_ERR_INTERNAL { finding("\(call): internal error: \(message())") }
    if st != TESSERA_OK && tessera_last_error()[0] == 0 { finding("\(call) failed (\(st)) without a message") }
    return st
}

func expect(_ st: tessera_status, _ want: tessera_status, _ call: String) {
    check(st, call)
    if st != want { finding("\(call) returned \(st), expected \(want): \(message())") }
}

struct Fixture {
    let path: String
    let model: OpaquePointer
    let info: tessera_model_info
}

let fixtures: [Fixture] = {
    var root = #filePath
    for _ in 0..<4 { root = String(root[..<root.lastIndex(of: "/")!]) }
    let dir = getenv("TESSERA_FIXTURES").map { String(cString: $0) } ?? root + "/Tests/Fixtures"
    var out: [Fixture] = []
    for name in ["vit_hf", "dinov2_reg_hf", "deit_distilled_hf", "vit_timm", "dinov2_hf_f16", "dinov3_swiglu_timm", "dinov3_hf"] {
        let path = dir + "/" + name
        var m: OpaquePointer?
        guard tessera_model_load(path, &m) == TESSERA_OK, let m else {
            fputs("TesseraFuzzSession: cannot load \(path): \(message())\n", stderr)
            exit(2)
        }
        var info = tessera_model_info()
        info.struct_size = MemoryLayout<tessera_model_info>.size
        guard tessera_model_get_info(m, &info) == TESSERA_OK else { exit(2) }
        out.append(Fixture(path: path, model: m, info: info))
    }
    return out
}()

struct Reader {
    let b: UnsafeRawBufferPointer
    var i = 0
    mutating func u8() -> UInt8 { defer { i += 1 }; return i < b.count ? b[i] : 0 }
    mutating func u16() -> UInt16 { UInt16(u8()) | UInt16(u8()) << 8 }
    mutating func u32() -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(u8()) << (8 * UInt32($1)) } }
    mutating func u64() -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(u8()) << (8 * UInt64($1)) } }
    mutating func i32() -> Int32 { Int32(bitPattern: u32()) }
    var rest: UnsafeRawBufferPointer { i < b.count ? UnsafeRawBufferPointer(rebasing: b[i...]) : UnsafeRawBufferPointer(start: nil, count: 0) }
}

let arenaCap = 256 << 20
let maxInputFloats = 4 << 20
let maxRunFlops = 4e8

/// Fills `n` elements from the fuzz bytes (cyclically), or a fixed pattern if there are none.
func fill<T>(_ p: UnsafeMutablePointer<T>, _ n: Int, _ src: UnsafeRawBufferPointer) {
    let raw = UnsafeMutableRawPointer(p)
    let bytes = n * MemoryLayout<T>.stride
    if src.isEmpty {
        for k in 0..<bytes { raw.storeBytes(of: UInt8(truncatingIfNeeded: k &* 37), toByteOffset: k, as: UInt8.self) }
        return
    }
    var k = 0
    while k < bytes {
        let c = min(src.count, bytes - k)
        (raw + k).copyMemory(from: src.baseAddress!, byteCount: c)
        k += c
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSession(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var r = Reader(b: UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    let fx = fixtures[Int(r.u8()) % fixtures.count]
    let a = r.u8(), bflags = r.u8()
    let info = fx.info
    let patch = Int(info.patch_size), layers = Int(info.num_layers)

    let batchV = r.i32(), hV = r.i32(), wV = r.i32(), thV = r.i32()
    let maskV = r.u64(), arenaV = r.u64(), isaV = r.i32(), ssV = r.u8(), imagesV = r.u64()
    let precisionV = r.i32(), initSizeV = r.u16()
    var o = tessera_session_default_options_current()
    // tessera_session_options_init with any size into a 256-byte buffer:
    // within it, only the size it is given may be written.
    if initSizeV & 0x8000 != 0 {
        var probe = [UInt8](repeating: 0xA5, count: 256)
        let size = Int(initSizeV) % 300
        let st = probe.withUnsafeMutableBytes { raw in
            size <= 256 ? tessera_session_options_init(raw.baseAddress!.assumingMemoryBound(to: tessera_session_options.self), size)
                        : tessera_session_options_init(nil, size)
        }
        let valid = size >= 12 && size <= 256
        if valid != (st == TESSERA_OK) { fatalError("tessera_session_options_init(\(size)) returned \(st)") }
        if valid && probe[size...].contains(where: { $0 != 0xA5 }) { fatalError("tessera_session_options_init(\(size)) wrote past the size") }
    }
    o.batch = a & 2 != 0 ? batchV : 1 + Int32(UInt32(bitPattern: batchV) % 3)
    o.height = a & 4 != 0 ? hV : Int32(patch) * Int32(UInt32(bitPattern: hV) % 9)
    o.width = a & 4 != 0 ? wV : Int32(patch) * Int32(UInt32(bitPattern: wV) % 9)
    o.num_threads = a & 8 != 0 ? thV : Int32(UInt32(bitPattern: thV) % 3)
    o.layers_mask = bflags & 1 != 0 ? maskV : maskV & ((UInt64(1) << UInt64(layers)) - 1)
    var arena = a & 16 != 0 ? Int(truncatingIfNeeded: arenaV) : (arenaV % 4 == 0 ? Int(arenaV % (1 << 20)) : 0)
    if arena <= 0 || arena > arenaCap { arena = arenaCap }
    o.max_arena_bytes = arena
    o.isa = bflags & 2 != 0 ? isaV : Int32(UInt32(bitPattern: isaV) % 3)
    // fp32 or int8 mostly; any value when the low bits say so.
    o.precision = precisionV & 0x10 != 0 ? precisionV : precisionV & 1
    if bflags & 128 != 0 {
        o.outputs = UInt32(bitPattern: isaV)
    } else if bflags & 64 != 0 {
        o.outputs = UInt32(TESSERA_OUTPUTS_EXPLICIT) | (UInt32(bitPattern: isaV) >> 8) & 0xF
    }
    if a & 32 != 0 {
        // A raw struct_size: fields past it take their defaults, the arena
        // cap among them, so the sizes stay small here.
        o.struct_size = Int(ssV)
        o.batch = 1 + Int32(UInt32(bitPattern: batchV) % 3)
        o.height = Int32(patch) * Int32(UInt32(bitPattern: hV) % 9)
        o.width = Int32(patch) * Int32(UInt32(bitPattern: wV) % 9)
    }
    let optionsNull = a & 1 != 0
    let sane = a & (2 | 4 | 8 | 16 | 32) == 0 && bflags & (1 | 2 | 64 | 128) == 0 && precisionV & 0x10 == 0

    var model = fx.model
    var fresh: OpaquePointer? = nil
    if bflags & 4 != 0 {
        expect(tessera_model_load(fx.path, &fresh), TESSERA_OK, "tessera_model_load")
        model = fresh!
    }
    var session: OpaquePointer?
    let created: tessera_status
    if optionsNull {
        // NULL options mean the defaults, which have no arena cap; the fixtures are tiny.
        created = check(tessera_session_create(model, nil, &session), "tessera_session_create(NULL options)")
    } else {
        // The options at the start of 256 readable bytes, as a caller with a
        // longer struct (a newer header) would pass them; the tail is zero,
        // or set when the struct_size byte is odd.
        var longer = [UInt8](repeating: 0, count: 256)
        withUnsafeBytes(of: &o) { src in longer.withUnsafeMutableBytes { dst in dst.copyMemory(from: src) } }
        if ssV & 1 != 0 { longer[255] = 1 }
        created = longer.withUnsafeBytes { raw in
            check(tessera_session_create(model, raw.baseAddress!.assumingMemoryBound(to: tessera_session_options.self),
                                         &session), "tessera_session_create")
        }
    }
    if let fresh { tessera_model_free(fresh) }  // the session keeps the model alive
    if sane && (optionsNull || arenaV % 4 != 0) && created != TESSERA_OK {
        finding("session with sane options failed: \(message())")
    }
    guard created == TESSERA_OK, let s = session else {
        if session != nil { finding("failed session_create returned a session") }
        return 0
    }
    defer { tessera_session_free(s) }
    if tessera_session_arena_bytes(s) == 0 { finding("a session with a zero-byte arena") }
    checkSessionInfo(s, structSize: Int(ssV), batch: optionsNull ? 1 : Int(o.batch))

    let batch = optionsNull ? 1 : Int(o.batch)
    let h = optionsNull || o.height == 0 ? Int(info.image_height) : Int(o.height)
    let w = optionsNull || o.width == 0 ? Int(info.image_width) : Int(o.width)
    let c = Int(info.num_channels)
    let images = a & 128 != 0 ? Int(truncatingIfNeeded: imagesV) : 1 + Int(imagesV % UInt64(batch))

    // Requests, decoded up front so that the pixel bytes are what remains.
    let nOut = Int(r.u8()) % 9
    var requests: [(tessera_output, Int)] = []
    for _ in 0..<nOut {
        let kind = r.u8(), delta = Int(Int8(bitPattern: r.u8())), rawWhich = r.i32()
        let which: tessera_output
        switch kind % 10 {
        case 0...3: which = Int32(kind % 10)
        case 4...6: which = TESSERA_OUTPUT_LAYER_BASE + Int32(Int(kind / 10) % (layers + 1))
        case 7: which = 4
        case 8: which = -1
        default: which = rawWhich
        }
        requests.append((which, kind & 0x80 != 0 ? delta : delta % 3))
    }
    let pixels = r.rest

    func readOutputs(expectRun: Bool) {
        for (which, delta) in requests {
            var shape = [Int64](repeating: -7, count: 4)
            var rank: Int32 = -7
            let st = check(tessera_output_shape(s, which, &shape, &rank), "tessera_output_shape(\(which))")
            var need = 0
            if st == TESSERA_OK {
                guard expectRun, rank == 2 || rank == 3, shape.allSatisfy({ $0 >= 1 }) else {
                    finding("output_shape(\(which)) gave rank \(rank) shape \(shape)")
                }
                need = Int(shape.reduce(1, *))
            } else if !expectRun && st != TESSERA_ERR_STATE {
                finding("output_shape before any run returned \(st)")
            }
            let capacity = max(0, need + delta)
            let dst = UnsafeMutablePointer<Float>.allocate(capacity: max(capacity, 1))
            defer { dst.deallocate() }
            let cs = check(tessera_output_copy(s, which, dst, capacity), "tessera_output_copy(\(which))")
            if st == TESSERA_OK {
                if capacity >= need && cs != TESSERA_OK { finding("copy of \(need) floats into \(capacity) failed: \(message())") }
                if capacity < need && cs != TESSERA_ERR_INVALID_ARGUMENT { finding("copy into too small a buffer returned \(cs)") }
                if cs == TESSERA_OK && a & 64 != 0 {
                    for k in 0..<need where !dst[k].isFinite { finding("non-finite output \(dst[k]) at \(k) of output \(which) from uint8 input") }
                }
            } else if cs != st {
                finding("output_shape(\(which)) returned \(st) but output_copy \(cs)")
            }
            checkView(s, which, shapeStatus: st, shape: shape, rank: rank,
                      copied: cs == TESSERA_OK ? UnsafePointer(dst) : nil, nullArg: delta)
        }
    }

    if bflags & 16 != 0 { readOutputs(expectRun: false) }

    // Out-of-range image counts are refused before the input is read.
    var one: Float = 0, byte: UInt8 = 0
    expect(tessera_run_f32(s, &one, 0), TESSERA_ERR_INVALID_ARGUMENT, "tessera_run_f32(0 images)")
    expect(tessera_run_rgb8(s, &byte, batch + 1), TESSERA_ERR_INVALID_ARGUMENT, "tessera_run_rgb8(batch + 1)")
    expect(tessera_run_f32(s, nil, 1), TESSERA_ERR_INVALID_ARGUMENT, "tessera_run_f32(NULL)")

    let validImages = images >= 1 && images <= batch
    let perImage = c * h * w
    var n = 1  // an invalid count must be refused before the input is read
    if validImages {
        guard perImage <= maxInputFloats / images else { return 0 }
        // Legitimate but slow work (e.g. 33024x32 = 16,513 tokens, O(T^2) attention)
        // is not a finding: run only what takes well under a second under ASan.
        let tokens = Double(Int(info.num_prefix_tokens) + (h / patch) * (w / patch))
        let d = Double(info.hidden_size), mlp = Double(info.mlp_size)
        let flops = Double(images) * Double(layers) * (4 * tokens * tokens * d + 2 * tokens * d * (4 * d + 2 * mlp))
        guard flops <= maxRunFlops else { return 0 }
        n = images * perImage
    }
    func run(rgb: Bool) {
        let st: tessera_status
        if rgb {
            let px = UnsafeMutablePointer<UInt8>.allocate(capacity: max(n, 1))
            defer { px.deallocate() }
            fill(px, n, pixels)
            st = check(tessera_run_rgb8(s, px, images), "tessera_run_rgb8")
        } else {
            let px = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
            defer { px.deallocate() }
            fill(px, n, pixels)
            st = check(tessera_run_f32(s, px, images), "tessera_run_f32")
        }
        if validImages && st != TESSERA_OK { finding("run of \(images) images on a batch-\(batch) session failed: \(message())") }
        if !validImages && st != TESSERA_ERR_INVALID_ARGUMENT { finding("run of \(images) images on a batch-\(batch) session returned \(st)") }
    }
    checkPreprocess(s, pixels, sessionBytes: h * w * 3)
    let rgb = a & 64 != 0
    run(rgb: rgb)
    if validImages { readOutputs(expectRun: true) }
    if bflags & 8 != 0 { run(rgb: rgb); if validImages { readOutputs(expectRun: true) } }
    if bflags & 32 != 0 { run(rgb: !rgb) }
    return 0
}

/// tessera_output_view agrees with tessera_output_shape/_copy: same status,
/// shape and values (read through the strides); NULL arguments are refused.
func checkView(_ s: OpaquePointer, _ which: tessera_output, shapeStatus: tessera_status, shape: [Int64], rank: Int32,
               copied: UnsafePointer<Float>?, nullArg: Int) {
    var data: UnsafePointer<Float>? = nil
    var vshape = [Int64](repeating: -7, count: 4), strides = [Int64](repeating: -7, count: 4)
    var vrank: Int32 = -7
    if nullArg == 1 || nullArg == -1 {
        // One NULL argument, chosen by the sign: refused, never dereferenced.
        let st = nullArg == 1 ? check(tessera_output_view(s, which, nil, &vshape, &strides, &vrank), "tessera_output_view(NULL data)")
                              : check(tessera_output_view(s, which, &data, &vshape, nil, &vrank), "tessera_output_view(NULL strides)")
        if st != TESSERA_ERR_INVALID_ARGUMENT { finding("output_view with a NULL argument returned \(st)") }
        return
    }
    let st = check(tessera_output_view(s, which, &data, &vshape, &strides, &vrank), "tessera_output_view(\(which))")
    guard st == shapeStatus else { finding("output_shape(\(which)) returned \(shapeStatus) but output_view \(st)") }
    guard st == TESSERA_OK else {
        if data != nil { finding("a failed output_view left a pointer") }
        return
    }
    guard let data, vrank == rank, vshape == shape else { finding("output_view(\(which)) shape \(vshape) rank \(vrank), output_shape \(shape) rank \(rank)") }
    guard let copied else { return }
    var k = 0
    let r = Int(rank)
    let d0 = Int(shape[0]), d1 = r == 3 ? Int(shape[1]) : 1, d2 = Int(shape[r - 1])
    for i in 0..<d0 {
        for j in 0..<d1 {
            for l in 0..<d2 {
                let at = i * Int(strides[0]) + (r == 3 ? j * Int(strides[1]) : 0) + l * Int(strides[r - 1])
                let a = data[at], b = copied[k]
                if a.bitPattern != b.bitPattern { finding("output_view(\(which)) [\(i),\(j),\(l)] = \(a), the copy has \(b)") }
                k += 1
            }
        }
    }
}

/// Session info read with a caller's struct_size: refused below the
/// minimum, else written up to min(struct_size, sizeof) and no further.
func checkSessionInfo(_ s: OpaquePointer, structSize: Int, batch: Int) {
    let full = MemoryLayout<tessera_session_info>.size
    let minimum = MemoryLayout<tessera_session_info>.offset(of: \.batch)! + 4
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: 256, alignment: 16)
    defer { buffer.deallocate() }
    for size in [structSize, full] {
        memset(buffer, 0xA5, 256)
        buffer.storeBytes(of: size, as: Int.self)
        let st = check(tessera_session_get_info(s, buffer.assumingMemoryBound(to: tessera_session_info.self)), "tessera_session_get_info")
        if size < minimum {
            if st != TESSERA_ERR_INVALID_ARGUMENT { finding("session_get_info with struct_size \(size) returned \(st)") }
            continue
        }
        if st != TESSERA_OK { finding("session_get_info with struct_size \(size) failed: \(message())") }
        let written = min(size, full)
        if buffer.load(as: Int.self) != written { finding("session_get_info set struct_size \(buffer.load(as: Int.self)), expected \(written)") }
        for k in written..<256 where buffer.load(fromByteOffset: k, as: UInt8.self) != 0xA5 {
            finding("session_get_info with struct_size \(size) wrote byte \(k)")
        }
        if size >= full {
            let info = buffer.load(as: tessera_session_info.self)
            if Int(info.arena_bytes) != tessera_session_arena_bytes(s) || Int(info.batch) != batch || info.num_threads < 1 {
                finding("session_get_info: arena \(info.arena_bytes) batch \(info.batch) threads \(info.num_threads)")
            }
        }
    }
}

/// tessera_preprocess_rgb8 on a small image made of the input's pixel bytes:
/// size, stride, mode, resample and the output's room from its first bytes.
/// Valid modes with enough room must succeed; anything else must be refused.
func checkPreprocess(_ s: OpaquePointer, _ bytes: UnsafeRawBufferPointer, sessionBytes: Int) {
    guard bytes.count >= 5 else { return }
    let ph = 1 + Int(bytes[0]) % 48, pw = 1 + Int(bytes[1]) % 48
    let mode = Int32(bytes[2] % 5), resample = Int32(bytes[3] % 5) - 1
    let stride = bytes[4] & 1 != 0 ? 0 : pw * 3 + Int(bytes[4] % 5) - 1
    let short = bytes[4] & 2 != 0 ? 1 : 0
    let rowBytes = stride == 0 ? pw * 3 : max(stride, pw * 3)
    let img = UnsafeMutablePointer<UInt8>.allocate(capacity: ph * rowBytes)
    defer { img.deallocate() }
    fill(img, ph * rowBytes, bytes)
    let room = max(sessionBytes - short, 1)
    let out = UnsafeMutablePointer<UInt8>.allocate(capacity: room)
    defer { out.deallocate() }
    let st = check(tessera_preprocess_rgb8(s, img, ph, pw, stride, mode, resample, out, sessionBytes - short),
                   "tessera_preprocess_rgb8")
    let valid = (1...2).contains(mode) && (0...2).contains(resample) && short == 0 && (stride == 0 || stride >= pw * 3)
    if valid && st != TESSERA_OK { finding("preprocess \(ph)x\(pw) stride \(stride) mode \(mode) failed: \(message())") }
    if st != TESSERA_OK && st != TESSERA_ERR_INVALID_ARGUMENT { finding("preprocess returned \(st)") }
    if !valid && mode != 3 && st == TESSERA_OK { finding("preprocess accepted mode \(mode) resample \(resample) stride \(stride) short \(short)") }
}
