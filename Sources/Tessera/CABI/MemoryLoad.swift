import CTesseraABI

/// `tessera_model_load` for files already in memory: config.json,
/// preprocessor_config.json (optional) and model.safetensors as bytes.
/// Not part of the C ABI (package access, so not exported from the .so):
/// the fuzz targets use it to load hostile inputs without a file system
/// round trip, and it returns a real, registered handle that every
/// `tessera_*` function accepts and `tessera_model_free` releases.
package func tesseraModelLoadMemory(config: UnsafeRawBufferPointer, preprocessor: UnsafeRawBufferPointer?,
                                    safetensors: UnsafeRawBufferPointer,
                                    _ out: UnsafeMutablePointer<OpaquePointer?>?) -> tessera_status {
    guarded {
        guard let out else { throw TesseraError.invalid("out_model is NULL") }
        out.pointee = nil
        let model = try Model.load(config: config, preprocessor: preprocessor, safetensors: safetensors)
        out.pointee = Handles.register(ModelHandle(model), .model)
    }
}
