import CTesseraABI
import Synchronization
import TesseraKernelCore

/// A model fixed to one input shape: the plan, its arena, the position
/// embedding resized to the patch grid, and the threads. One run at a time.
final class Session {
    let model: Model
    let batch: Int
    let height: Int
    let width: Int
    let gridH: Int
    let gridW: Int
    let tokens: Int
    let table: KernelTable
    let blocking: GemmBlocking
    /// "tuned", "cached", "formula" or "environment" (BlockingChoice).
    let blockingSource: String
    /// What the plan produces.
    let outputs: OutputRequest
    /// The arithmetic of the blocks' Linear layers.
    let precision: Precision
    /// The int8 tile the int8 GEMMs run (int8 sessions only): picked by the
    /// CPU's features among those the variant's vectors can finish.
    let int8Tile: Int8Tile?
    /// Rows of quantized activations per block of the int8 GEMM: half of L2.
    private let int8RowBlock: Int
    let plan: Plan
    private let pool: ThreadPool
    private let arena: AlignedBuffer
    /// [positionedPrefix + gridH * gridW, hidden]; nil without a position table.
    private let positions: AlignedBuffer?
    /// RoPE cos then sin, each [gridH * gridW, headDim] (DINOv3), for this grid.
    private let rope: AlignedBuffer?
    private let scratchStride: Int
    private let profile: OpProfile?
    /// The chunk counter of the current parallel region (reset before each);
    /// an owning object, so that a failed init frees it too.
    private let counter = ChunkCounter()
    let busy = Atomic<Bool>(false)
    /// Images in the last successful run; 0 before any.
    private(set) var lastImages = 0

    /// Tokens per image at most (DINOv2 at 896x896 has 4,097).
    static let maxTokens = 1 << 20

    struct Options {
        var batch = 1
        var height = 0
        var width = 0
        var threads = 0
        var layers: Set<Int> = []
        /// Final outputs to compute; nil: every one the model has.
        var finals: Set<FinalOutput>? = nil
        var maxArenaBytes = 0
        var isa: KernelTable.ISA? = nil
        /// A kernel table to run instead of the ISA's (tests: the AVX-512
        /// shapes built for AVX2).
        var kernels: KernelTable? = nil
        var precision = Precision.fp32
    }

    enum Precision: String {
        /// Everything in fp32, as the reference.
        case fp32
        /// qkv, proj, fc1 and fc2 in int8: weights per channel, activations
        /// per row; attention, norms and the rest in fp32.
        case int8
    }

    init(model: Model, options o: Options) throws {
        let s = model.spec
        self.model = model
        guard o.batch >= 1, o.batch <= 4096 else { throw TesseraError.invalid("batch is \(o.batch); expected 1...4096") }
        let h = o.height == 0 ? s.imageHeight : o.height
        let w = o.width == 0 ? s.imageWidth : o.width
        guard h > 0, w > 0, h <= ModelSpec.maxImageSide, w <= ModelSpec.maxImageSide else {
            throw TesseraError.invalid("image size \(o.height)x\(o.width) is invalid; expected 0 (the trained size \(s.imageHeight)x\(s.imageWidth)) or 1...\(ModelSpec.maxImageSide)")
        }
        guard h % s.patch == 0, w % s.patch == 0 else {
            throw TesseraError.invalid("image size \(h)x\(w) is not a multiple of the patch size \(s.patch); expected e.g. \(h / s.patch * s.patch + (h % s.patch == 0 ? 0 : s.patch))x\(w / s.patch * s.patch + (w % s.patch == 0 ? 0 : s.patch))")
        }
        guard o.threads >= 0, o.threads <= 256 else { throw TesseraError.invalid("num_threads is \(o.threads); expected 0 (all available cores) or 1...256") }
        var request = OutputRequest.everything(s, layers: o.layers)
        if let finals = o.finals { request.finals = finals }
        try request.validate(s)
        outputs = request
        let kernels = o.kernels ?? o.isa.map(Machine.table) ?? Machine.defaultTable
        guard Machine.supports(kernels.isa) else {
            throw TesseraError.unsupported("kernel variant \(kernels.isa.name) requested but this CPU does not support it; best available: \(Machine.bestISA.name)")
        }
        batch = o.batch; height = h; width = w
        gridH = h / s.patch; gridW = w / s.patch
        tokens = s.prefixTokens + gridH * gridW
        table = kernels
        let chosen = BlockingChoice.blocking(for: s, table: table)
        blocking = chosen.blocking
        blockingSource = chosen.source
        let threads = o.threads == 0 ? Machine.availableCores : o.threads

        // Sizes from the options: check them before allocating anything.
        guard tokens <= Session.maxTokens else {
            throw TesseraError.invalid("a \(h)x\(w) image makes \(tokens) tokens; expected at most \(Session.maxTokens)")
        }
        let rows = try checkedProduct([batch, tokens], what: "session")
        let activation = try checkedProduct([rows, max(3 * s.hidden, (s.gatedMLP ? 2 : 1) * s.mlp)], what: "session activations")
        guard activation < (1 << 40) else { throw TesseraError.outOfMemory("a \(batch)x\(h)x\(w) session would need more than 4 TiB of activations") }
        let perThread = max(blocking.scratchFloats, Int8GemmArgs.scratchFloats,
                            AttentionArgs.scratchFloats(tokens: tokens, headDim: s.headDim, mr: table.gemmMR, nr: table.gemmNR))
        scratchStride = (perThread + 15) / 16 * 16
        precision = o.precision
        var quantized: QuantizedWeights? = nil
        if o.precision == .int8 {
            guard let tile = Machine.int8Tile(table) else {
                throw TesseraError.unsupported("int8 tile \"\(Machine.environmentInt8Tile ?? "")\" (TESSERA_INT8_TILE) is not available with the \(table.name) kernels on this CPU; available: \(table.int8Tiles.map { $0.name }.joined(separator: ", "))")
            }
            int8Tile = tile
            guard s.mlp < 65536, s.hidden < 65536 else {
                throw TesseraError.unsupported("int8 needs Linear depths below 65536 (int32 sums); this model has \(max(s.mlp, s.hidden))")
            }
            quantized = try model.quantized()
        } else {
            int8Tile = nil
            try model.prepareFP32()
        }
        int8RowBlock = max(Int8Tile.rowQuantum, Machine.caches.l2 / 2 / Int8Layout.rowBytes(max(s.hidden, s.mlp)))
        let plan = Plan.build(spec: s, weights: model.weights, batch: batch, gridH: gridH, gridW: gridW,
                              outputs: request, scratchFloats: scratchStride * threads, int8: quantized)
        let arenaBytes = plan.arenaFloats * 4
        if o.maxArenaBytes > 0 && arenaBytes > o.maxArenaBytes {
            throw TesseraError.outOfMemory("the session needs a \(arenaBytes)-byte arena; max_arena_bytes is \(o.maxArenaBytes)")
        }
        self.plan = plan
        arena = try AlignedBuffer(floats: plan.arenaFloats)
        if s.hasPositionTable {
            let table = try AlignedBuffer(floats: (s.positionedPrefix + gridH * gridW) * s.hidden)
            try Session.preparePositions(model: model, gridH: gridH, gridW: gridW, into: table.pointer)
            positions = table
        } else {
            positions = nil
        }
        if let theta = s.ropeTheta {
            let n = RopeTable.floats(gridH: gridH, gridW: gridW, headDim: s.headDim)
            let tables = try AlignedBuffer(floats: 2 * n)
            RopeTable.build(gridH: gridH, gridW: gridW, headDim: s.headDim, theta: theta,
                            cosTable: tables.pointer, sinTable: tables.pointer + n)
            rope = tables
        } else {
            rope = nil
        }
        pool = try ThreadPool(threads: threads)
        profile = OpProfile(labels: plan.labels)
    }

    deinit { pool.shutdown() }

    /// A zeroed chunk counter for the next parallel region.
    func freshCounter() -> UnsafeMutablePointer<Int> {
        counter.pointer.pointee = 0
        return counter.pointer
    }

    final class ChunkCounter {
        let pointer = UnsafeMutablePointer<Int>.allocate(capacity: 8)
        deinit { pointer.deallocate() }
    }

    var arenaBytes: Int { arena.bytes }
    var threadCount: Int { pool.count }

    /// Copies the prefix positions and resizes the patch grid as the family's
    /// reference does; an unchanged grid is copied as is (as the references do).
    static func preparePositions(model: Model, gridH: Int, gridW: Int, into dst: UnsafeMutablePointer<Float>) throws {
        let s = model.spec
        let d = s.hidden
        let table = model.weights.positions!
        dst.update(from: table, count: s.positionedPrefix * d)
        let src = table + s.positionedPrefix * d
        let out = dst + s.positionedPrefix * d
        if gridH == s.posGrid && gridW == s.posGrid {
            out.update(from: src, count: gridH * gridW * d)
        } else {
            let scratch = try AlignedBuffer(floats: PositionResize.scratchFloats(rows: s.posGrid, outCols: gridW, dim: d))
            PositionResize.resize(src, rows: s.posGrid, cols: s.posGrid, dim: d, outRows: gridH, outCols: gridW,
                                  mode: s.posResize, into: out, scratch: scratch.pointer)
        }
    }

    func pointer(_ b: Plan.BufferID) -> UnsafeMutablePointer<Float> { arena.pointer + plan.buffers[b].offset }

    enum Input {
        case float(UnsafePointer<Float>)
        case rgb8(UnsafePointer<UInt8>)
    }

    /// Executes the plan on `images` images. No heap allocation happens here.
    func run(_ input: Input, images: Int) throws {
        guard images >= 1, images <= batch else {
            throw TesseraError.invalid("images is \(UInt(bitPattern: images)); expected 1...\(batch) (the session's batch)")
        }
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            throw TesseraError(status: TESSERA_ERR_BUSY, message: "the session is already running on another thread; use one session per thread")
        }
        defer { busy.store(false, ordering: .releasing) }
        lastImages = 0
        let executor = Executor(session: self, images: images, input: input)
        pool.busy {
            if let profile {
                for (i, op) in plan.ops.enumerated() {
                    let t0 = OpProfile.now()
                    executor.execute(op)
                    profile.add(i, OpProfile.now() - t0)
                }
                profile.finishRun()
            } else {
                for op in plan.ops { executor.execute(op) }
            }
        }
        lastImages = images
    }

    // MARK: Execution

    struct Executor {
        let session: Session
        let images: Int
        let input: Input

        func execute(_ op: Plan.Op) {
            let s = session, sp = s.model.spec
            switch op {
            case .normalize(let dst):
                guard case .rgb8(let px) = input else { return }
                let m = (sp.mean[0], sp.mean[1], sp.mean[2]), sd = (sp.std[0], sp.std[1], sp.std[2])
                var job = NormalizeJob(pixels: px, out: s.pointer(dst), images: images, height: s.height,
                                       width: s.width, mean: m, std: sd)
                s.pool.run(&job) { ctx, t, n in
                    let j = ctx.assumingMemoryBound(to: NormalizeJob.self).pointee
                    let plane = j.height * j.width
                    for b in (t * j.images / n)..<((t + 1) * j.images / n) {
                        ImageOps.normalizeRGB8(j.pixels + b * plane * 3, height: j.height, width: j.width,
                                               mean: j.mean, std: j.std, into: j.out + b * plane * 3)
                    }
                }
            case .embed(let staged, let cols, let dst):
                embed(staged: staged, cols: cols, dst: dst)
            case .layerNorm(let l):
                var job = KernelJob(table: s.table,
                                    args: LayerNormArgs(x: s.pointer(l.src), y: s.pointer(l.dst), rows: images * l.tokens, n: sp.hidden,
                                                        ldx: sp.hidden, ldy: sp.hidden, weight: l.weights.weight,
                                                        bias: l.weights.bias, eps: sp.eps))
                s.pool.run(&job) { ctx, t, n in
                    let j = ctx.assumingMemoryBound(to: KernelJob<LayerNormArgs>.self)
                    j.pointee.table.layerNorm(j.pointee.args, t, n)
                }
            case .linear(let l):
                gemm(m: images * l.tokens, n: l.n, k: l.k, a: s.pointer(l.src), lda: l.k, b: l.weights.packed, c: s.pointer(l.dst), ldc: l.n,
                     epilogue: epilogue(l))
            case .quantize(let src, let dst, let tokens, let k):
                var job = KernelJob(table: s.table,
                                    args: QuantizeArgs(x: s.pointer(src), ldx: k, rows: images * tokens, k: k,
                                                       levels: s.int8Tile!.levels, rotation: Int8Rotation.block(k: k),
                                                       buffer: s.pointer(dst)))
                s.pool.run(&job) { ctx, t, n in
                    let j = ctx.assumingMemoryBound(to: KernelJob<QuantizeArgs>.self)
                    j.pointee.table.quantizeRows(j.pointee.args, t, n)
                }
            case .linearInt8(let l, let weights):
                var job = KernelJob(table: s.table,
                                    args: Int8GemmArgs(m: images * l.tokens, n: l.n, k: l.k, a: s.pointer(l.src), b: weights, tile: s.int8Tile!,
                                                       c: s.pointer(l.dst), ldc: l.n, epilogue: epilogue(l),
                                                       rowBlock: s.int8RowBlock, scratch: s.pointer(s.plan.scratch),
                                                       scratchStride: s.scratchStride, counter: s.freshCounter()))
                s.pool.run(&job) { ctx, t, n in
                    let j = ctx.assumingMemoryBound(to: KernelJob<Int8GemmArgs>.self)
                    j.pointee.table.int8Gemm(j.pointee.args, t, n)
                }
            case .attention(let qkv, let dst, let queries):
                var job = KernelJob(table: s.table,
                                    args: AttentionArgs(qkv: s.pointer(qkv), ldqkv: 3 * sp.hidden, out: s.pointer(dst),
                                                        ldo: sp.hidden, batch: images, tokens: s.tokens, heads: sp.heads,
                                                        headDim: sp.headDim, scale: 1 / Float(sp.headDim).squareRoot(),
                                                        blocking: s.blocking, scratch: s.pointer(s.plan.scratch), scratchStride: s.scratchStride,
                                                        counter: s.freshCounter(), queries: queries))
                s.pool.run(&job) { ctx, t, n in
                    let j = ctx.assumingMemoryBound(to: KernelJob<AttentionArgs>.self)
                    j.pointee.table.attention(j.pointee.args, t, n)
                }
            case .rope(let qkv):
                let tables = s.rope!.pointer, n = RopeTable.floats(gridH: s.gridH, gridW: s.gridW, headDim: sp.headDim)
                var job = KernelJob(table: s.table,
                                    args: RopeArgs(qkv: s.pointer(qkv), ld: 3 * sp.hidden, images: images, tokens: s.tokens,
                                                   prefix: sp.prefixTokens, heads: sp.heads, headDim: sp.headDim,
                                                   kOffset: sp.hidden, cos: tables, sin: tables + n))
                s.pool.run(&job) { ctx, t, n in
                    let j = ctx.assumingMemoryBound(to: KernelJob<RopeArgs>.self)
                    j.pointee.table.rope(j.pointee.args, t, n)
                }
            case .prefixRows(let src, let dst, let prefix):
                let d = sp.hidden, from = s.pointer(src), to = s.pointer(dst)
                for b in 0..<images { (to + b * prefix * d).update(from: from + b * s.tokens * d, count: prefix * d) }
            case .swiglu(let src, let dst, let tokens):
                var job = KernelJob(table: s.table,
                                    args: SwiGLUArgs(x: s.pointer(src), ldx: 2 * sp.mlp, y: s.pointer(dst), ldy: sp.mlp,
                                                     rows: images * tokens, n: sp.mlp))
                s.pool.run(&job) { ctx, t, n in
                    let j = ctx.assumingMemoryBound(to: KernelJob<SwiGLUArgs>.self)
                    j.pointee.table.swiglu(j.pointee.args, t, n)
                }
            case .head(let h):
                gemm(m: images, n: sp.classes, k: sp.hidden, a: s.pointer(h.src) + h.token * sp.hidden,
                     lda: h.tokens * sp.hidden, b: h.weights.packed, c: s.pointer(h.dst), ldc: sp.classes,
                     epilogue: GemmEpilogue(bias: h.weights.bias, scale: h.scale,
                                            addend: h.addend.map { UnsafePointer(s.pointer($0)) }, ldAddend: sp.classes))
            }
        }

        /// A Linear op's epilogue: its bias, activation, layer scale and residual.
        func epilogue(_ l: Plan.Linear) -> GemmEpilogue {
            GemmEpilogue(bias: l.weights.bias, activation: l.activation, scale: l.scale,
                         addend: l.addend.map { UnsafePointer(session.pointer($0)) }, ldAddend: l.n)
        }

        func gemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>,
                  c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: GemmEpilogue) {
            let s = session
            var job = KernelJob(table: s.table,
                                args: GemmArgs(m: m, n: n, k: k, a: a, lda: lda, b: b, c: c, ldc: ldc, epilogue: epilogue,
                                               blocking: s.blocking, scratch: s.pointer(s.plan.scratch),
                                               scratchStride: s.scratchStride, counter: s.freshCounter()))
            s.pool.run(&job) { ctx, t, n in
                let j = ctx.assumingMemoryBound(to: KernelJob<GemmArgs>.self)
                j.pointee.table.gemm(j.pointee.args, t, n)
            }
        }

        /// Patches → GEMM with the patch weight, + bias + position; then the
        /// prefix tokens (CLS, distillation, registers) with their positions.
        func embed(staged: Plan.BufferID, cols: Plan.BufferID, dst: Plan.BufferID) {
            let s = session, sp = s.model.spec
            let d = sp.hidden
            let c = sp.channels
            let imageFloats = c * s.height * s.width
            let x = s.pointer(dst)
            let patches = s.pointer(cols)
            let patchK = c * sp.patch * sp.patch
            let pos = s.positions.map { UnsafePointer($0.pointer) }
            let w = s.model.weights
            for b in 0..<images {
                let img: UnsafePointer<Float>
                switch input {
                case .float(let p): img = p + b * imageFloats
                case .rgb8: img = UnsafePointer(s.pointer(staged)) + b * imageFloats
                }
                ImageOps.im2col(img, channels: c, height: s.height, width: s.width, patch: sp.patch, into: patches)
                let row0 = x + (b * s.tokens + sp.prefixTokens) * d
                gemm(m: s.gridH * s.gridW, n: d, k: patchK, a: patches, lda: patchK,
                     b: w.patch.packed, c: row0, ldc: d,
                     epilogue: GemmEpilogue(bias: w.patch.bias, addend: pos.map { $0 + sp.positionedPrefix * d }, ldAddend: d))
                // Prefix tokens.
                let base = x + b * s.tokens * d
                var j = 0
                base.update(from: w.cls, count: d); j += 1
                if let dist = w.distillation { (base + j * d).update(from: dist, count: d); j += 1 }
                if let registers = w.registers { (base + j * d).update(from: registers, count: sp.registers * d) }
                for t in 0..<(pos == nil ? 0 : sp.positionedPrefix) {
                    let row = base + t * d, p = pos! + t * d
                    for i in 0..<d { row[i] += p[i] }
                }
            }
        }
    }

    /// Kernel arguments with the session's kernel table, handed to the pool
    /// by pointer. (Not generic: a closure stored under a generic type would
    /// be reabstracted through a heap-allocated thunk.)
    struct KernelJob<Args> {
        let table: KernelTable
        var args: Args
    }

    struct NormalizeJob {
        let pixels: UnsafePointer<UInt8>
        let out: UnsafeMutablePointer<Float>
        let images: Int, height: Int, width: Int
        let mean: (Float, Float, Float), std: (Float, Float, Float)
    }

    // MARK: Outputs

    /// Where an output lies in the arena: its first float, its shape (rank
    /// 2 or 3) and strides in floats. Fixed-size, so that reading it
    /// allocates nothing.
    struct OutputLayout {
        let data: UnsafePointer<Float>
        let rank: Int
        /// Unused dimensions: size 1, stride 0.
        let shape: (Int, Int, Int)
        let strides: (Int, Int, Int)

        init(_ data: UnsafePointer<Float>, _ shape: (Int, Int, Int?), _ strides: (Int, Int, Int?)) {
            self.data = data
            rank = shape.2 == nil ? 2 : 3
            self.shape = (shape.0, shape.1, shape.2 ?? 1)
            self.strides = (strides.0, strides.1, strides.2 ?? 0)
        }

        var dims: [Int] { rank == 2 ? [shape.0, shape.1] : [shape.0, shape.1, shape.2] }
        var count: Int { shape.0 * shape.1 * shape.2 }
    }

    /// An output of the last run where it lies in the arena; valid until the
    /// next run.
    func outputView(_ which: tessera_output) throws -> OutputLayout {
        guard lastImages > 0 else { throw TesseraError.state("no output yet: call tessera_run_f32 or tessera_run_rgb8 first") }
        let s = model.spec, b = lastImages, d = s.hidden
        if Int(which) >= Int(TESSERA_OUTPUT_LAYER_BASE) {
            let k = Int(which) - Int(TESSERA_OUTPUT_LAYER_BASE)
            guard k < s.layers else {
                throw TesseraError.unavailable("layer \(k) does not exist; the model has layers 0...\(s.layers - 1)")
            }
            guard let buffer = plan.layerOutputs[k] else {
                throw TesseraError.unavailable("layer \(k) was not requested; set bit \(k) of layers_mask when creating the session")
            }
            return OutputLayout(UnsafePointer(pointer(buffer)), (b, tokens, d), (tokens * d, d, 1))
        }
        guard let final = FinalOutput(rawValue: which) else {
            throw TesseraError.invalid("unknown output \(which); expected TESSERA_OUTPUT_LOGITS, _EMBEDDING, _PATCH_TOKENS, _REGISTER_TOKENS or TESSERA_OUTPUT_LAYER(0...\(s.layers - 1))")
        }
        guard final.exists(in: s) else {
            throw TesseraError.unavailable(final == .logits ? "the model has no classifier head, so no logits" : "the model has no register tokens")
        }
        guard outputs.finals.contains(final) else {
            let asked = outputs.finals.sorted().map(\.cName).joined(separator: ", ")
            throw TesseraError.unavailable("\(final.cName) was not asked for: this session computes \(asked.isEmpty ? "no final output" : asked)\(outputs.layers.isEmpty ? "" : " and layers \(outputs.layers.sorted())"); create the session with options->outputs 0 (every output) or with TESSERA_OUTPUT_BIT(\(final.cName)) set")
        }
        let all = UnsafePointer(pointer(plan.finalTokens)), image = plan.finalTokensPerImage * d
        switch final {
        case .logits:
            return OutputLayout(UnsafePointer(pointer(plan.logits)), (b, s.classes, nil), (s.classes, 1, nil))
        case .embedding:
            return OutputLayout(all, (b, d, nil), (image, 1, nil))
        case .patchTokens:
            return OutputLayout(all + s.prefixTokens * d, (b, gridH * gridW, d), (image, d, 1))
        case .registerTokens:
            return OutputLayout(all + (s.prefixTokens - s.registers) * d, (b, s.registers, d), (image, d, 1))
        }
    }

    /// Shape of an output of the last run (rank 2 or 3).
    func outputShape(_ which: tessera_output) throws -> [Int] {
        try outputView(which).dims
    }

    /// Copies an output into `dst`, which holds `capacity` floats, densely.
    func copyOutput(_ which: tessera_output, into dst: UnsafeMutablePointer<Float>, capacity: Int) throws {
        let v = try outputView(which)
        let need = v.count
        guard capacity >= need else {
            throw TesseraError.invalid("destination holds \(capacity) floats; the output \(v.dims) needs \(need)")
        }
        // Within an image every output is contiguous; images are `strides.0` apart.
        let perImage = need / v.shape.0
        for i in 0..<v.shape.0 { (dst + i * perImage).update(from: v.data + i * v.strides.0, count: perImage) }
    }
}
