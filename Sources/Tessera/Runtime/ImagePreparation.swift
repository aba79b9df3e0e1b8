import TesseraKernelCore

/// Photos of any size to a session's input, with the resizes the references
/// use (see `ImageResize` and `Preprocessing`): one implementation for the C
/// API, the Python binding and the CLI.
extension Session {
    enum ResizeMode { case stretch, coverCrop, model }

    /// The largest photo accepted, in pixels (a 16384 × 16384 image).
    static let maxPhotoPixels = 1 << 28

    /// The session's height × width × 3 bytes for one RGB8 image whose rows
    /// are `stride` bytes apart. `filter` nil: bicubic, or the model's own
    /// for `.model`.
    func prepareImage(_ rgb: UnsafePointer<UInt8>, height h: Int, width w: Int, stride: Int,
                      mode: ResizeMode, filter: ImageResize.Filter?) throws -> [UInt8] {
        var packed = [UInt8](repeating: 0, count: h * w * 3)
        packed.withUnsafeMutableBufferPointer { dst in
            for y in 0..<h { (dst.baseAddress! + y * w * 3).update(from: rgb + y * stride, count: w * 3) }
        }
        switch mode {
        case .stretch:
            return ImageResize.resize(packed, width: w, height: h, toWidth: width, toHeight: height, filter: filter ?? .bicubic)
        case .coverCrop:
            return ImageResize.resizeAndCenterCrop(packed, width: w, height: h, toWidth: width, toHeight: height,
                                                   filter: filter ?? .bicubic)
        case .model:
            var p = model.spec.preprocessing
            if p.resize == nil && p.crop == nil {
                return ImageResize.resize(packed, width: w, height: h, toWidth: width, toHeight: height, filter: filter ?? p.filter)
            }
            if let filter { p.filter = filter }
            let out = p.outputSize(height: h, width: w)
            guard out.height == height, out.width == width else {
                throw TesseraError.invalid("the model's preprocessing (\(p.source)) makes a \(out.height)x\(out.width) input from this \(h)x\(w) image, but the session is \(height)x\(width); create the session at \(out.height)x\(out.width), or use TESSERA_RESIZE_STRETCH or TESSERA_RESIZE_COVER_CROP")
            }
            return try p.apply(packed, height: h, width: w).pixels
        }
    }
}
