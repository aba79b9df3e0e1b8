import CTesseraABI

/// Thin owners of the C API's handles. Everything goes through tessera_*
/// functions from include/tessera.h; every failing call becomes a CLIError
/// carrying the status name and tessera_last_error().

final class LoadedModel {
    let pointer: OpaquePointer
    let path: String
    let info: tessera_model_info

    init(path: String) throws {
        var handle: OpaquePointer?
        try check(tessera_model_load(path, &handle), "tessera_model_load(\"\(path)\")")
        guard let handle else { throw CLIError(message: "tessera_model_load returned no model") }
        var info = tessera_model_info()
        info.struct_size = MemoryLayout<tessera_model_info>.size
        let status = tessera_model_get_info(handle, &info)
        if status != TESSERA_OK {
            let error = CLIError.api("tessera_model_get_info", status)
            tessera_model_free(handle)
            throw error
        }
        self.pointer = handle
        self.path = path
        self.info = info
    }

    deinit { tessera_model_free(pointer) }

    var patch: Int { Int(info.patch_size) }
    var hidden: Int { Int(info.hidden_size) }
    var classes: Int { Int(info.num_classes) }
    var trainedHeight: Int { Int(info.image_height) }
    var trainedWidth: Int { Int(info.image_width) }

    /// config.json's id2label entry, or nil.
    func label(_ index: Int) -> String? {
        tessera_model_label(pointer, Int32(index)).map { String(cString: $0) }
    }

    /// A label for printing: the model's, or "class <i>".
    func displayLabel(_ index: Int) -> String { label(index) ?? "class \(index)" }

    /// Checks a requested input size against the patch and fills in the
    /// trained size when none was given.
    func resolveSize(_ requested: (height: Int, width: Int)?, option: String = "--size") throws -> (height: Int, width: Int) {
        guard let r = requested else { return (trainedHeight, trainedWidth) }
        for (what, v) in [("height", r.height), ("width", r.width)] where v % patch != 0 {
            let lower = v / patch * patch, upper = lower + patch
            let hint = lower > 0 ? "\(lower) or \(upper)" : "\(upper)"
            throw CLIError.usage("\(option) \(r.height)x\(r.width): the \(what) \(v) is not a multiple of the model's patch size \(patch) (try \(hint))")
        }
        return r
    }
}

/// Options a command may set on a session.
struct SessionSettings {
    var batch = 1
    var height = 0
    var width = 0
    var threads = 0
    var isa: tessera_isa = TESSERA_ISA_AUTO
    var precision: tessera_precision = TESSERA_PRECISION_FP32
    /// Bit k: keep block k's output.
    var layersMask: UInt64 = 0
    /// tessera_session_options.outputs: 0 for every final output.
    var outputs: UInt32 = 0

    /// Asks for block `layer`'s output alone: the session stops after it.
    mutating func onlyLayer(_ layer: Int) {
        layersMask = UInt64(1) << UInt64(layer)
        outputs = UInt32(TESSERA_OUTPUTS_EXPLICIT)
    }

    /// Asks for these final outputs alone.
    mutating func only(_ finals: tessera_output...) {
        outputs = finals.reduce(UInt32(TESSERA_OUTPUTS_EXPLICIT)) { $0 | (1 << UInt32($1)) }
    }
}

final class InferenceSession {
    let pointer: OpaquePointer
    let model: LoadedModel
    let batch: Int
    let height: Int
    let width: Int

    init(model: LoadedModel, settings s: SessionSettings) throws {
        var options = tessera_session_default_options_current()
        options.batch = Int32(s.batch)
        options.height = Int32(s.height)
        options.width = Int32(s.width)
        options.num_threads = Int32(s.threads)
        options.isa = s.isa
        options.precision = s.precision
        options.layers_mask = s.layersMask
        options.outputs = s.outputs
        var handle: OpaquePointer?
        try check(tessera_session_create(model.pointer, &options, &handle),
                  "tessera_session_create(batch \(s.batch), \(s.height)x\(s.width))")
        guard let handle else { throw CLIError(message: "tessera_session_create returned no session") }
        self.pointer = handle
        self.model = model
        self.batch = s.batch
        self.height = s.height > 0 ? s.height : model.trainedHeight
        self.width = s.width > 0 ? s.width : model.trainedWidth
    }

    deinit { tessera_session_free(pointer) }

    var arenaBytes: Int { tessera_session_arena_bytes(pointer) }

    /// What the session really runs.
    func info() throws -> tessera_session_info {
        var i = tessera_session_info()
        i.struct_size = MemoryLayout<tessera_session_info>.size
        try check(tessera_session_get_info(pointer, &i), "tessera_session_get_info")
        return i
    }

    /// Bytes of one uint8 RGB input image.
    var imageBytes: Int { height * width * 3 }

    /// One decoded image brought to the session's size by the library.
    func preprocess(_ image: RGBImage, _ policy: ResizePolicy) throws -> RGBImage {
        let resample = !policy.filterGiven ? TESSERA_RESAMPLE_DEFAULT
            : policy.filter == .bilinear ? TESSERA_RESAMPLE_BILINEAR : TESSERA_RESAMPLE_BICUBIC
        var out = [UInt8](repeating: 0, count: imageBytes)
        try image.pixels.withUnsafeBufferPointer { src in
            try out.withUnsafeMutableBufferPointer { dst in
                try check(tessera_preprocess_rgb8(pointer, src.baseAddress, image.height, image.width, 0, policy.mode, resample,
                                                  dst.baseAddress, dst.count),
                          "tessera_preprocess_rgb8(\(image.height)x\(image.width) to \(height)x\(width))")
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    /// Runs `images` uint8 RGB NHWC images (packed back to back in `nhwc`).
    func run(rgb8 nhwc: [UInt8], images: Int) throws {
        precondition(nhwc.count >= images * imageBytes, "input buffer too small")
        try nhwc.withUnsafeBufferPointer { p in
            try check(tessera_run_rgb8(pointer, p.baseAddress, images), "tessera_run_rgb8(\(images) image\(images == 1 ? "" : "s"))")
        }
    }

    /// The shape of an output of the last run.
    func shape(_ which: tessera_output) throws -> [Int] {
        var dims: [Int64] = [0, 0, 0, 0]
        var rank: Int32 = 0
        try check(tessera_output_shape(pointer, which, &dims, &rank), "tessera_output_shape(\(outputName(which)))")
        return dims.prefix(Int(rank)).map { Int($0) }
    }

    /// Copies an output of the last run.
    func output(_ which: tessera_output) throws -> (shape: [Int], values: [Float]) {
        let dims = try shape(which)
        let n = dims.reduce(1, *)
        var values = [Float](repeating: 0, count: n)
        try values.withUnsafeMutableBufferPointer { p in
            try check(tessera_output_copy(pointer, which, p.baseAddress, n), "tessera_output_copy(\(outputName(which)))")
        }
        return (dims, values)
    }
}

func outputName(_ which: tessera_output) -> String {
    switch which {
    case TESSERA_OUTPUT_LOGITS: return "TESSERA_OUTPUT_LOGITS"
    case TESSERA_OUTPUT_EMBEDDING: return "TESSERA_OUTPUT_EMBEDDING"
    case TESSERA_OUTPUT_PATCH_TOKENS: return "TESSERA_OUTPUT_PATCH_TOKENS"
    case TESSERA_OUTPUT_REGISTER_TOKENS: return "TESSERA_OUTPUT_REGISTER_TOKENS"
    default: return "TESSERA_OUTPUT_LAYER(\(Int(which) - Int(TESSERA_OUTPUT_LAYER_BASE)))"
    }
}

/// Names for the enumerations of tessera.h.
enum Names {
    static func family(_ f: tessera_family) -> String {
        switch f {
        case TESSERA_FAMILY_VIT: return "ViT"
        case TESSERA_FAMILY_DEIT: return "DeiT"
        case TESSERA_FAMILY_DINOV2: return "DINOv2"
        case TESSERA_FAMILY_DINOV3: return "DINOv3"
        default: return "unknown (\(f))"
        }
    }

    static func posResize(_ p: tessera_pos_resize) -> String {
        switch p {
        case TESSERA_POS_RESIZE_BICUBIC:
            return "bicubic: size=, a=-0.75, no antialias (HF ViT/DeiT/Dinov2Model)"
        case TESSERA_POS_RESIZE_BICUBIC_ANTIALIAS:
            return "bicubic-antialias: size=, a=-0.5, antialias (timm, HF Dinov2 with registers)"
        case TESSERA_POS_RESIZE_BICUBIC_OFFSET:
            return "bicubic-offset: scale_factor=(n+0.1)/M, a=-0.75 (original DINOv2 hub)"
        case TESSERA_POS_RESIZE_NONE_ROPE:
            return "none: no position table; 2-D RoPE over the session's patch grid (DINOv3)"
        default: return "unknown (\(p))"
        }
    }

    static func isa(_ i: tessera_isa) -> String {
        switch i {
        case TESSERA_ISA_AUTO: return "auto"
        case TESSERA_ISA_PORTABLE: return "portable"
        case TESSERA_ISA_AVX2: return "avx2"
        case TESSERA_ISA_AVX512: return "avx512"
        default: return "unknown (\(i))"
        }
    }

    /// Parses an --isa value.
    static func parseISA(_ s: String) throws -> tessera_isa {
        switch s.lowercased() {
        case "auto": return TESSERA_ISA_AUTO
        case "portable": return TESSERA_ISA_PORTABLE
        case "avx2": return TESSERA_ISA_AVX2
        case "avx512": return TESSERA_ISA_AVX512
        default: throw CLIError.usage("--isa \(s): expected auto, portable, avx2 or avx512")
        }
    }
}

/// A fixed-size C char array (a tuple) as a String.
func cString<T>(_ tuple: T) -> String {
    withUnsafeBytes(of: tuple) { raw in
        let bytes = raw.bindMemory(to: UInt8.self)
        let end = bytes.firstIndex(of: 0) ?? bytes.count
        return String(decoding: bytes[..<end], as: UTF8.self)
    }
}
