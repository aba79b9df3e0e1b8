import CTesseraABI

/// Fills the public info struct from a loaded model.
enum ModelInfo {
    static func make(_ m: Model) -> tessera_model_info {
        let s = m.spec
        var i = tessera_model_info()
        i.struct_size = MemoryLayout<tessera_model_info>.size
        i.family = s.family.rawValue
        i.hidden_size = Int32(s.hidden)
        i.num_layers = Int32(s.layers)
        i.num_heads = Int32(s.heads)
        i.mlp_size = Int32(s.mlp)
        i.patch_size = Int32(s.patch)
        i.image_height = Int32(s.imageHeight)
        i.image_width = Int32(s.imageWidth)
        i.num_channels = Int32(s.channels)
        i.num_classes = Int32(s.classes)
        i.num_register_tokens = Int32(s.registers)
        i.num_prefix_tokens = Int32(s.prefixTokens)
        i.pos_resize = s.hasPositionTable ? s.posResize.rawValue : TESSERA_POS_RESIZE_NONE_ROPE
        let kernels = Machine.defaultTable
        i.isa = kernels.isa.rawValue
        i.image_mean = (s.mean.count > 0 ? s.mean[0] : 0, s.mean.count > 1 ? s.mean[1] : 0, s.mean.count > 2 ? s.mean[2] : 0)
        i.image_std = (s.std.count > 0 ? s.std[0] : 0, s.std.count > 1 ? s.std[1] : 0, s.std.count > 2 ? s.std[2] : 0)
        i.num_parameters = Int64(m.parameterCount)
        i.weight_bytes = m.weightBytes
        i.l1d_bytes = Machine.caches.l1
        i.l2_bytes = Machine.caches.l2
        withUnsafeMutableBytes(of: &i.isa_name) { copyCString(kernels.name, into: $0) }
        withUnsafeMutableBytes(of: &i.architecture) { copyCString(s.architecture, into: $0) }
        let chosen = BlockingChoice.blocking(for: s, table: kernels)
        i.gemm_kc = Int32(chosen.blocking.kc)
        i.gemm_mc = Int32(chosen.blocking.mc)
        withUnsafeMutableBytes(of: &i.blocking_source) { copyCString(chosen.source, into: $0) }
        let int8 = Machine.int8Tile(kernels) ?? kernels.int8Tiles.first
        withUnsafeMutableBytes(of: &i.int8_kernel) { copyCString(int8?.name ?? "", into: $0) }
        return i
    }

    /// Copies a string, truncated, always NUL-terminated.
    static func copyCString(_ s: String, into buf: UnsafeMutableRawBufferPointer) {
        let bytes = Array(s.utf8.prefix(buf.count - 1))
        for (k, b) in bytes.enumerated() { buf[k] = b }
        buf[bytes.count] = 0
    }
}
