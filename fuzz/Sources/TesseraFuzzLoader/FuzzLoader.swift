// libFuzzer target for the model loader (see fuzz/README.md).
//
// Input layout (all little-endian; lengths are clamped to what is left):
//   u32 config_len | u32 preprocessor_len | config.json | preprocessor_config.json | model.safetensors (the rest)
// preprocessor_len 0 means no preprocessor_config.json.
//
// The bytes go through the same code as tessera_model_load after the files
// are read (tesseraModelLoadMemory: package access, not exported). A model
// that loads is then queried through the C API, and if it is small enough to
// run quickly, a session at its trained size runs one image and every output
// is read back. Any trap, sanitizer report, hang or out-of-memory is a finding;
// so is a status outside the header's codes or a failure without a message.
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

func checkStatus(_ st: tessera_status, _ call: String) {
    guard st >= TESSERA_OK && st <= TESSERA_ERR_INTERNAL else { finding("\(call) returned \(st)") }
    if st == TESSERA_ERR_INTERNAL { finding("\(call): internal error: \(String(cString: tessera_last_error()))") }
    if st != TESSERA_OK && tessera_last_error()[0] == 0 { finding("\(call) failed (\(st)) without a message") }
}

func le32(_ p: UnsafeRawBufferPointer, _ at: Int) -> Int {
    var v = 0
    for i in 0..<4 where at + i < p.count { v |= Int(p[at + i]) << (8 * i) }
    return v
}

/// Runs a loaded model once at its trained size, if that is cheap.
func exercise(_ model: OpaquePointer) {
    var info = tessera_model_info()
    info.struct_size = MemoryLayout<tessera_model_info>.size
    checkStatus(tessera_model_get_info(model, &info), "tessera_model_get_info")
    for i in [-1, 0, Int32(info.num_classes) - 1, Int32(info.num_classes), Int32.max] {
        if let l = tessera_model_label(model, Int32(i)) { _ = strlen(l) }
    }
    let p = Int(info.patch_size), d = Int(info.hidden_size), layers = Int(info.num_layers)
    guard p > 0 else { finding("loaded with patch size \(p)") }
    let grid = (Int(info.image_height) / p) * (Int(info.image_width) / p)
    let tokens = Int(info.num_prefix_tokens) + grid
    // Rough flop count of one image; skip models too slow for a fuzz iteration.
    let perLayer = tokens * tokens * d * 2 + tokens * d * (4 * d + 2 * Int(info.mlp_size))
    let cost = layers * perLayer + grid * d * Int(info.num_channels) * p * p
    guard tokens <= 2048, cost <= 20_000_000 else { return }

    var o = tessera_session_default_options_current()
    o.num_threads = 1
    o.max_arena_bytes = 64 << 20
    o.layers_mask = layers >= 64 ? ~0 : (UInt64(1) << UInt64(layers)) - 1
    var s: OpaquePointer?
    let st = tessera_session_create(model, &o, &s)
    checkStatus(st, "tessera_session_create")
    guard st == TESSERA_OK, let s else { return }
    defer { tessera_session_free(s) }
    let c = Int(info.num_channels), h = Int(info.image_height), w = Int(info.image_width)
    var px = [Float](repeating: 0, count: c * h * w)
    for i in px.indices { px[i] = Float(i % 7) * 0.25 - 0.75 }
    let r = tessera_run_f32(s, px, 1)
    checkStatus(r, "tessera_run_f32")
    if r != TESSERA_OK { finding("run of a loadable model at its trained size failed: \(String(cString: tessera_last_error()))") }
    var outputs: [tessera_output] = [TESSERA_OUTPUT_LOGITS, TESSERA_OUTPUT_EMBEDDING, TESSERA_OUTPUT_PATCH_TOKENS,
                                     TESSERA_OUTPUT_REGISTER_TOKENS]
    for k in 0..<min(layers, 64) { outputs.append(TESSERA_OUTPUT_LAYER_BASE + Int32(k)) }
    for which in outputs {
        var shape = [Int64](repeating: 0, count: 4)
        var rank: Int32 = 0
        let ss = tessera_output_shape(s, which, &shape, &rank)
        checkStatus(ss, "tessera_output_shape")
        guard ss == TESSERA_OK else { continue }
        let n = Int(shape.reduce(1, *))
        var dst = [Float](repeating: 0, count: n)
        checkStatus(tessera_output_copy(s, which, &dst, n), "tessera_output_copy")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLoader(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let all = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size)
    var at = 8
    let cfgLen = min(le32(all, 0), max(0, all.count - at))
    let config = UnsafeRawBufferPointer(rebasing: all[min(at, all.count)..<min(at, all.count) + cfgLen])
    at = min(at + cfgLen, all.count)
    let preLen = min(le32(all, 4), all.count - at)
    let pre = preLen > 0 ? UnsafeRawBufferPointer(rebasing: all[at..<at + preLen]) : nil
    at += preLen
    let weights = UnsafeRawBufferPointer(rebasing: all[at...])

    var model: OpaquePointer?
    let st = tesseraModelLoadMemory(config: config, preprocessor: pre, safetensors: weights, &model)
    checkStatus(st, "load")
    if st == TESSERA_OK {
        guard let model else { finding("load returned OK and no model") }
        exercise(model)
        tessera_model_free(model)
    } else if model != nil {
        finding("load failed and returned a model")
    }
    return 0
}
