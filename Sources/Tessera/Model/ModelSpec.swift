import CTesseraABI
import TesseraKernelCore

/// Everything about a model's shape and conventions that the planner and
/// executor need, independent of where the weights came from.
struct ModelSpec {
    enum Family: Int32 { case vit = 1, deit = 2, dinov2 = 3, dinov3 = 4 }
    enum Naming { case huggingFace(prefix: String), timm }
    enum Head { case none, cls, clsAndDistillation }

    var family: Family
    var naming: Naming
    var architecture: String
    var hidden = 0
    var layers = 0
    var heads = 0
    var mlp = 0
    var patch = 0
    var channels = 3
    var imageHeight = 0
    var imageWidth = 0
    var classes = 0
    var head: Head = .none
    /// Token order: CLS, distillation (DeiT), registers, patches.
    var hasDistillation = false
    var registers = 0
    /// Leading prefix tokens that have an entry in the position table.
    var positionedPrefix = 1
    /// The position table's patch grid is posGrid × posGrid.
    var posGrid = 0
    var layerScale = false
    var qkvBias = true
    var eps: Float = 1e-6
    var posResize: PositionResize.Mode = .bicubic
    /// 2-D RoPE base period (DINOv3): no position table, q and k of the
    /// patch tokens rotated in every block instead.
    var ropeTheta: Float? = nil
    /// SwiGLU MLP: down(silu(gate x) ⊙ up x); `mlp` is the gate's width.
    var gatedMLP = false
    /// Which projections carry a bias (DINOv3 configures each; an absent one is zero).
    struct Biases { var query = true, key = true, value = true, proj = true, mlp = true }
    var biases = Biases()
    var mean: [Float] = [0.485, 0.456, 0.406]
    var std: [Float] = [0.229, 0.224, 0.225]
    var labels: [Int: String] = [:]
    /// The reference pipeline's resize and crop (tessera_preprocess_rgb8's MODEL mode).
    var preprocessing = Preprocessing()

    var prefixTokens: Int { 1 + (hasDistillation ? 1 : 0) + registers }
    var headDim: Int { hidden / heads }
    /// A learned position table added to the tokens (every family but DINOv3).
    var hasPositionTable: Bool { ropeTheta == nil }

    /// Limits checked before anything is allocated.
    static let maxLayers = 512
    static let maxHidden = 16384
    static let maxHeads = 1024
    static let maxPatch = 1024
    static let maxRegisters = 1024
    static let maxImageSide = 65536
    /// Reported as int32 in tessera_model_info; far above any real classifier.
    static let maxClasses = 1 << 24

    func validate() throws {
        func check(_ ok: Bool, _ m: @autoclosure () -> String) throws {
            if !ok { throw TesseraError.format("config: \(m())") }
        }
        try check(layers >= 1 && layers <= ModelSpec.maxLayers, "num_hidden_layers is \(layers); expected 1...\(ModelSpec.maxLayers)")
        try check(hidden >= 1 && hidden <= ModelSpec.maxHidden, "hidden_size is \(hidden); expected 1...\(ModelSpec.maxHidden)")
        try check(heads >= 1 && heads <= ModelSpec.maxHeads, "num_attention_heads is \(heads); expected 1...\(ModelSpec.maxHeads)")
        try check(hidden % heads == 0, "hidden_size \(hidden) is not divisible by num_attention_heads \(heads)")
        try check(mlp >= 1 && mlp <= 16 * ModelSpec.maxHidden, "MLP size is \(mlp); expected 1...\(16 * ModelSpec.maxHidden)")
        try check(patch >= 1 && patch <= ModelSpec.maxPatch, "patch_size is \(patch); expected 1...\(ModelSpec.maxPatch)")
        try check(channels >= 1 && channels <= 16, "num_channels is \(channels); expected 1...16")
        try check(classes >= 0 && classes <= ModelSpec.maxClasses, "the classifier has \(classes) classes; expected at most \(ModelSpec.maxClasses)")
        try check(registers >= 0 && registers <= ModelSpec.maxRegisters, "num_register_tokens is \(registers); expected 0...\(ModelSpec.maxRegisters)")
        try check(imageHeight >= patch && imageHeight <= ModelSpec.maxImageSide && imageWidth >= patch && imageWidth <= ModelSpec.maxImageSide,
                  "image size \(imageHeight)x\(imageWidth) must be at least the patch size \(patch) and at most \(ModelSpec.maxImageSide)")
        try check(eps.isFinite && eps > 0, "layer_norm_eps must be a positive number")
        if let theta = ropeTheta {
            try check(theta.isFinite && theta > 0, "rope_theta must be a positive number")
            try check(headDim % 4 == 0, "2-D RoPE needs a head size divisible by 4; hidden_size \(hidden) / \(heads) heads is \(headDim)")
        }
        try check(mean.count == channels && std.count == channels && std.allSatisfy { $0 != 0 && $0.isFinite } && mean.allSatisfy(\.isFinite),
                  "image mean/std must have \(channels) finite values, std non-zero")
    }
}
