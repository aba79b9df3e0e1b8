/// Resampling of 8-bit interleaved images (HWC, e.g. RGB8), done exactly the
/// way Pillow's `Image.resize` does it, so that an image Tessera resizes gives
/// the same pixels — and so the same embedding — as the Python pipelines
/// people compare against.
///
/// The default is `.bicubic`: Pillow's `Image.resize(size, Image.BICUBIC)`
/// (which is also what Hugging Face image processors call): Keys' cubic
/// convolution with a = −0.5, antialiased — when shrinking, the filter's
/// support is widened by the shrink factor — with each output's taps
/// normalized to sum to one. `.bilinear` is Pillow's `BILINEAR`: the triangle
/// filter, antialiased in the same way.
///
/// As in Pillow (`libImaging/Resample.c`): separable, one 1-D pass into an
/// 8-bit intermediate and then the other (horizontal first, except that
/// Pillow 13 runs the vertical pass first when the height shrinks by more
/// than twice as many pixels as the width: see `PassOrder`); taps in fixed
/// point with 22 fractional bits; each result rounded to nearest and clamped
/// to 0…255; a pass whose size does not change is skipped. The result
/// matches Pillow 13's (with `reducing_gap=None`, its default) byte for
/// byte; Pillow 12 and earlier always ran horizontal first, which gives
/// slightly different pixels in the cases where the orders differ (a few
/// levels, more on noise-like content; `PassOrder.horizontalFirst`).
public enum ImageResize {
    public enum Filter: Sendable, CustomStringConvertible {
        /// Keys cubic, a = −0.5, support 2, antialiased (Pillow `BICUBIC`). The default.
        case bicubic
        /// Triangle, support 1, antialiased (Pillow `BILINEAR`).
        case bilinear

        public var description: String {
            switch self {
            case .bicubic: return "bicubic (Keys a=-0.5, antialiased; as PIL Image.resize BICUBIC)"
            case .bilinear: return "bilinear (triangle, antialiased; as PIL Image.resize BILINEAR)"
            }
        }

        /// Short name, as used on command lines: "bicubic" or "bilinear".
        public var name: String {
            switch self {
            case .bicubic: return "bicubic"
            case .bilinear: return "bilinear"
            }
        }

        public init?(name: String) {
            switch name.lowercased() {
            case "bicubic", "cubic": self = .bicubic
            case "bilinear", "linear", "triangle": self = .bilinear
            default: return nil
            }
        }

        var support: Double {
            switch self {
            case .bicubic: return 2
            case .bilinear: return 1
            }
        }

        func weight(_ v: Double) -> Double {
            let x = v < 0 ? -v : v
            switch self {
            case .bicubic:
                let a = -0.5
                if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
                if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
                return 0
            case .bilinear:
                return x < 1 ? 1 - x : 0
            }
        }
    }

    /// The resampler used when none is named.
    public static let defaultFilter: Filter = .bicubic

    /// Fixed-point fraction bits of the taps (Pillow's PRECISION_BITS).
    static let precisionBits = 32 - 8 - 2

    /// Taps of a 1-D resize: output i reads inputs first[i] ..< first[i] + count[i]
    /// with weights taps[i * stride ..< i * stride + count[i]].
    struct Taps {
        var first: [Int]
        var count: [Int]
        var taps: [Int32]
        var stride: Int
    }

    /// Pillow's `precompute_coeffs` followed by `normalize_coeffs_8bpc`.
    static func taps(inSize: Int, outSize: Int, filter: Filter) -> Taps {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = filter.support * filterScale
        let stride = Int(support.rounded(.up)) * 2 + 1
        var result = Taps(first: [Int](repeating: 0, count: outSize), count: [Int](repeating: 0, count: outSize),
                          taps: [Int32](repeating: 0, count: outSize * stride), stride: stride)
        var w = [Double](repeating: 0, count: stride)
        let inverse = 1 / filterScale
        let one = Double(1 << precisionBits)
        for o in 0..<outSize {
            let center = (Double(o) + 0.5) * scale
            // C's (int) cast truncates toward zero.
            let lo = max(Int((center - support + 0.5).rounded(.towardZero)), 0)
            let hi = min(Int((center + support + 0.5).rounded(.towardZero)), inSize)
            let n = max(hi - lo, 0)
            var sum = 0.0
            for k in 0..<n {
                let v = filter.weight((Double(k + lo) - center + 0.5) * inverse)
                w[k] = v
                sum += v
            }
            for k in 0..<n {
                let v = sum != 0 ? w[k] / sum : w[k]
                result.taps[o * stride + k] = Int32((v < 0 ? v * one - 0.5 : v * one + 0.5).rounded(.towardZero))
            }
            result.first[o] = lo
            result.count[o] = n
        }
        return result
    }

    @inline(__always)
    static func clip8(_ acc: Int) -> UInt8 {
        let v = acc >> precisionBits
        return v < 0 ? 0 : v > 255 ? 255 : UInt8(truncatingIfNeeded: v)
    }

    /// Which 1-D pass runs first when both dimensions change. The 8-bit
    /// intermediate is rounded, so the order changes some pixels.
    public enum PassOrder: Sendable {
        /// Pillow 13's choice (the default): vertical first when the height
        /// shrinks by more than twice as many pixels as the width does,
        /// (inHeight − outHeight) > 2 (inWidth − outWidth); otherwise
        /// horizontal first.
        case pillow
        /// Always horizontal first (Pillow 12 and earlier).
        case horizontalFirst
        /// Always vertical first.
        case verticalFirst

        /// Whether the vertical pass runs first for this resize.
        public func runsVerticalFirst(width: Int, height: Int, outWidth: Int, outHeight: Int) -> Bool {
            switch self {
            case .pillow: return outHeight < height && (height - outHeight) > 2 * (width - outWidth)
            case .horizontalFirst: return false
            case .verticalFirst: return true
            }
        }
    }

    /// Resizes `src` (height × width × channels bytes) into `dst`
    /// (outHeight × outWidth × channels bytes). Equal sizes copy.
    public static func resize(_ src: UnsafePointer<UInt8>, width: Int, height: Int, channels: Int = 3,
                              into dst: UnsafeMutablePointer<UInt8>, outWidth: Int, outHeight: Int,
                              filter: Filter = defaultFilter, order: PassOrder = .pillow) {
        precondition(width > 0 && height > 0 && outWidth > 0 && outHeight > 0 && channels > 0,
                     "ImageResize: sizes must be positive")
        let c = channels
        let needH = outWidth != width, needV = outHeight != height
        switch (needH, needV) {
        case (false, false):
            dst.update(from: src, count: width * height * c)
        case (true, false):
            let ht = taps(inSize: width, outSize: outWidth, filter: filter)
            horizontalPass(src, width: width, rows: 0..<height, channels: c, taps: ht, outWidth: outWidth, into: dst)
        case (false, true):
            let vt = taps(inSize: height, outSize: outHeight, filter: filter)
            verticalPass(src, rowBytes: width * c, firstRow: 0, taps: vt, outHeight: outHeight, into: dst)
        case (true, true):
            let ht = taps(inSize: width, outSize: outWidth, filter: filter)
            let vt = taps(inSize: height, outSize: outHeight, filter: filter)
            if order.runsVerticalFirst(width: width, height: height, outWidth: outWidth, outHeight: outHeight) {
                var tmp = [UInt8](repeating: 0, count: width * outHeight * c)
                tmp.withUnsafeMutableBufferPointer { t in
                    verticalPass(src, rowBytes: width * c, firstRow: 0, taps: vt, outHeight: outHeight, into: t.baseAddress!)
                    horizontalPass(t.baseAddress!, width: width, rows: 0..<outHeight, channels: c, taps: ht,
                                   outWidth: outWidth, into: dst)
                }
            } else {
                // Only the rows the vertical pass reads.
                let first = vt.first[0]
                let end = vt.first[outHeight - 1] + vt.count[outHeight - 1]
                var tmp = [UInt8](repeating: 0, count: (end - first) * outWidth * c)
                tmp.withUnsafeMutableBufferPointer { t in
                    horizontalPass(src, width: width, rows: first..<end, channels: c, taps: ht,
                                   outWidth: outWidth, into: t.baseAddress!)
                    verticalPass(t.baseAddress!, rowBytes: outWidth * c, firstRow: first, taps: vt,
                                 outHeight: outHeight, into: dst)
                }
            }
        }
    }

    /// Resamples rows `rows` of `src` (width × channels bytes a row) to
    /// outWidth; output row r − rows.lowerBound goes to `dst`.
    static func horizontalPass(_ src: UnsafePointer<UInt8>, width: Int, rows: Range<Int>, channels c: Int,
                               taps ht: Taps, outWidth: Int, into dst: UnsafeMutablePointer<UInt8>) {
        let half = 1 << (precisionBits - 1)
        let rowBytes = outWidth * c
        ht.taps.withUnsafeBufferPointer { tp in
            for y in rows {
                let inRow = src + y * width * c
                let outRow = dst + (y - rows.lowerBound) * rowBytes
                for ox in 0..<outWidth {
                    let first = ht.first[ox], n = ht.count[ox]
                    let k = tp.baseAddress! + ox * ht.stride
                    for ch in 0..<c {
                        var acc = half
                        var p = inRow + first * c + ch
                        for t in 0..<n {
                            acc += Int(p.pointee) * Int(k[t])
                            p += c
                        }
                        outRow[ox * c + ch] = clip8(acc)
                    }
                }
            }
        }
    }

    /// Resamples the columns of `src` (rowBytes a row; its row 0 is source
    /// row `firstRow`) to outHeight rows.
    static func verticalPass(_ src: UnsafePointer<UInt8>, rowBytes: Int, firstRow: Int, taps vt: Taps,
                             outHeight: Int, into dst: UnsafeMutablePointer<UInt8>) {
        let half = 1 << (precisionBits - 1)
        vt.taps.withUnsafeBufferPointer { tp in
            for oy in 0..<outHeight {
                let first = vt.first[oy] - firstRow, n = vt.count[oy]
                let k = tp.baseAddress! + oy * vt.stride
                let outRow = dst + oy * rowBytes
                for i in 0..<rowBytes {
                    var acc = half
                    var p = src + first * rowBytes + i
                    for t in 0..<n {
                        acc += Int(p.pointee) * Int(k[t])
                        p += rowBytes
                    }
                    outRow[i] = clip8(acc)
                }
            }
        }
    }

    /// Array form of `resize(_:width:height:channels:into:outWidth:outHeight:filter:)`.
    public static func resize(_ pixels: [UInt8], width: Int, height: Int, channels: Int = 3,
                              toWidth outWidth: Int, toHeight outHeight: Int,
                              filter: Filter = defaultFilter, order: PassOrder = .pillow) -> [UInt8] {
        precondition(pixels.count == width * height * channels, "ImageResize: pixel count does not match the size")
        var out = [UInt8](repeating: 0, count: outWidth * outHeight * channels)
        pixels.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { d in
                resize(s.baseAddress!, width: width, height: height, channels: channels,
                       into: d.baseAddress!, outWidth: outWidth, outHeight: outHeight, filter: filter, order: order)
            }
        }
        return out
    }

    /// The size that makes the shorter side `shorter` and keeps the aspect
    /// ratio, the longer side truncated as torchvision's `Resize(int)` and
    /// transformers' `get_resize_output_image_size` do
    /// (`int(shorter * long / short)`, a float division).
    public static func shorterSideSize(width: Int, height: Int, shorter: Int) -> (width: Int, height: Int) {
        func long(_ l: Int, _ s: Int) -> Int { max(1, Int(Double(shorter * l) / Double(s))) }
        return width <= height ? (shorter, long(height, width)) : (long(width, height), shorter)
    }

    /// How a centered crop's odd leftover pixel is placed.
    public enum CropRounding: Sendable {
        /// torchvision's `CenterCrop` (timm): `int(round((size − crop) / 2))`, ties to even.
        case nearestEven
        /// transformers' `center_crop`: `(size − crop) // 2`.
        case floor
    }

    /// The top-left corner of a centered crop.
    public static func centerCropOrigin(width: Int, height: Int, cropWidth: Int, cropHeight: Int,
                                        rounding: CropRounding = .nearestEven) -> (x: Int, y: Int) {
        switch rounding {
        case .nearestEven:
            let x = (Double(width - cropWidth) / 2).rounded(.toNearestOrEven)
            let y = (Double(height - cropHeight) / 2).rounded(.toNearestOrEven)
            return (Int(x), Int(y))
        case .floor:
            return ((width - cropWidth) / 2, (height - cropHeight) / 2)
        }
    }

    /// Crops the centered cropWidth × cropHeight window (which must fit).
    public static func centerCrop(_ pixels: [UInt8], width: Int, height: Int, channels: Int = 3,
                                  cropWidth: Int, cropHeight: Int, rounding: CropRounding = .nearestEven) -> [UInt8] {
        precondition(cropWidth <= width && cropHeight <= height && cropWidth > 0 && cropHeight > 0,
                     "ImageResize: the crop must fit in the image")
        let (x0, y0) = centerCropOrigin(width: width, height: height, cropWidth: cropWidth, cropHeight: cropHeight,
                                        rounding: rounding)
        var out = [UInt8](repeating: 0, count: cropWidth * cropHeight * channels)
        for y in 0..<cropHeight {
            let s = ((y0 + y) * width + x0) * channels
            let d = y * cropWidth * channels
            for i in 0..<(cropWidth * channels) { out[d + i] = pixels[s + i] }
        }
        return out
    }

    /// Resizes the shorter side to cover the target, then crops the center:
    /// the aspect ratio is kept and nothing is padded (like torchvision's
    /// Resize + CenterCrop, with Pillow's filter).
    public static func resizeAndCenterCrop(_ pixels: [UInt8], width: Int, height: Int, channels: Int = 3,
                                           toWidth outWidth: Int, toHeight outHeight: Int,
                                           filter: Filter = defaultFilter) -> [UInt8] {
        // The smallest scale at which the image covers the target.
        let sx = Double(outWidth) / Double(width), sy = Double(outHeight) / Double(height)
        var w = outWidth, h = outHeight
        if sx >= sy {
            h = max(outHeight, Int((Double(height) * sx).rounded()))
        } else {
            w = max(outWidth, Int((Double(width) * sy).rounded()))
        }
        let resized = resize(pixels, width: width, height: height, channels: channels,
                             toWidth: w, toHeight: h, filter: filter)
        return centerCrop(resized, width: w, height: h, channels: channels, cropWidth: outWidth, cropHeight: outHeight)
    }
}
