import CTesseraABI

/// Fills the public session info struct: what the session really runs, not
/// what was asked for (the variant and thread count resolved, the blocking
/// chosen, the blocks the plan executes).
enum SessionInfo {
    static func make(_ s: Session) -> tessera_session_info {
        var i = tessera_session_info()
        i.struct_size = MemoryLayout<tessera_session_info>.size
        i.batch = Int32(s.batch)
        i.height = Int32(s.height)
        i.width = Int32(s.width)
        i.num_threads = Int32(s.threadCount)
        i.isa = s.table.isa.rawValue
        withUnsafeMutableBytes(of: &i.isa_name) { ModelInfo.copyCString(s.table.name, into: $0) }
        i.gemm_kc = Int32(s.blocking.kc)
        i.gemm_mc = Int32(s.blocking.mc)
        withUnsafeMutableBytes(of: &i.blocking_source) { ModelInfo.copyCString(s.blockingSource, into: $0) }
        i.arena_bytes = s.arenaBytes
        i.outputs = s.outputs.finalBits
        i.layers_mask = s.outputs.layers.reduce(0) { $0 | (UInt64(1) << UInt64($1)) }
        i.blocks_run = Int32(s.plan.blocksRun)
        i.num_layers = Int32(s.model.spec.layers)
        i.num_tokens = Int32(s.tokens)
        i.num_ops = Int32(s.plan.ops.count)
        i.precision = s.precision == .int8 ? TESSERA_PRECISION_INT8 : TESSERA_PRECISION_FP32
        withUnsafeMutableBytes(of: &i.int8_kernel) { ModelInfo.copyCString(s.int8Tile?.name ?? "", into: $0) }
        i.int8_weight_bytes = s.model.quantizedBytes
        return i
    }
}
