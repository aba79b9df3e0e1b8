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
/// As in Pillow (`libImaging/Resample.c`): separable, the horizontal pass
/// first into an 8-bit intermediate and then the vertical pass; taps in
/// fixed point with 22 fractional bits; each result rounded to nearest and
/// clamped to 0…255; a pass whose size does not change is skipped. The
/// result matches Pillow's (with `reducing_gap=None`, its default) byte for
/// byte.
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

    /// Resizes `src` (height × width × channels bytes) into `dst`
    /// (outHeight × outWidth × channels bytes). Equal sizes copy.
    public static func resize(_ src: UnsafePointer<UInt8>, width: Int, height: Int, channels: Int = 3,
                              into dst: UnsafeMutablePointer<UInt8>, outWidth: Int, outHeight: Int,
                              filter: Filter = defaultFilter) {
        precondition(width > 0 && height > 0 && outWidth > 0 && outHeight > 0 && channels > 0,
                     "ImageResize: sizes must be positive")
        let c = channels
        let needH = outWidth != width, needV = outHeight != height
        if !needH && !needV {
            dst.update(from: src, count: width * height * c)
            return
        }
        let half = 1 << (precisionBits - 1)
        let vt = needV ? taps(inSize: height, outSize: outHeight, filter: filter) : nil

        // Horizontal pass: into dst directly if no vertical pass follows,
        // else into an intermediate holding only the rows the vertical pass reads.
        var rowFirst = 0, rowEnd = height
        if let vt {
            rowFirst = vt.first[0]
            rowEnd = vt.first[outHeight - 1] + vt.count[outHeight - 1]
        }
        let tmpRows = rowEnd - rowFirst
        var tmp: [UInt8] = []
        var midWidth = width
        var midRowOffset = 0  // row r of the source is row r - midRowOffset of `mid`
        if needH {
            let ht = taps(inSize: width, outSize: outWidth, filter: filter)
            let rowBytes = outWidth * c
            let target: UnsafeMutablePointer<UInt8>
            if needV {
                tmp = [UInt8](repeating: 0, count: tmpRows * rowBytes)
                target = tmp.withUnsafeMutableBufferPointer { $0.baseAddress! }
            } else {
                target = dst
            }
            ht.taps.withUnsafeBufferPointer { tp in
                for y in rowFirst..<rowEnd {
                    let inRow = src + y * width * c
                    let outRow = target + (y - rowFirst) * rowBytes
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
            if !needV { return }
            midWidth = outWidth
            midRowOffset = rowFirst
        }
        guard let vt else { return }
        let rowBytes = midWidth * c
        let run = { (m: UnsafePointer<UInt8>) in
            vt.taps.withUnsafeBufferPointer { tp in
                for oy in 0..<outHeight {
                    let first = vt.first[oy] - midRowOffset, n = vt.count[oy]
                    let k = tp.baseAddress! + oy * vt.stride
                    let outRow = dst + oy * rowBytes
                    for i in 0..<rowBytes {
                        var acc = half
                        var p = m + first * rowBytes + i
                        for t in 0..<n {
                            acc += Int(p.pointee) * Int(k[t])
                            p += rowBytes
                        }
                        outRow[i] = clip8(acc)
                    }
                }
            }
        }
        if needH {
            tmp.withUnsafeBufferPointer { run($0.baseAddress!) }
        } else {
            run(src)
        }
    }

    /// Array form of `resize(_:width:height:channels:into:outWidth:outHeight:filter:)`.
    public static func resize(_ pixels: [UInt8], width: Int, height: Int, channels: Int = 3,
                              toWidth outWidth: Int, toHeight outHeight: Int,
                              filter: Filter = defaultFilter) -> [UInt8] {
        precondition(pixels.count == width * height * channels, "ImageResize: pixel count does not match the size")
        var out = [UInt8](repeating: 0, count: outWidth * outHeight * channels)
        pixels.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { d in
                resize(s.baseAddress!, width: width, height: height, channels: channels,
                       into: d.baseAddress!, outWidth: outWidth, outHeight: outHeight, filter: filter)
            }
        }
        return out
    }

    /// The size that makes the shorter side `shorter` and keeps the aspect
    /// ratio, the longer side truncated as torchvision's `Resize(int)` does
    /// (`int(shorter * long / short)`).
    public static func shorterSideSize(width: Int, height: Int, shorter: Int) -> (width: Int, height: Int) {
        if width <= height {
            return (shorter, max(1, shorter * height / width))
        }
        return (max(1, shorter * width / height), shorter)
    }

    /// The top-left corner of a centered crop, rounded as torchvision's
    /// `CenterCrop` does (`int(round((size - crop) / 2))`, ties to even).
    public static func centerCropOrigin(width: Int, height: Int, cropWidth: Int, cropHeight: Int) -> (x: Int, y: Int) {
        let x = (Double(width - cropWidth) / 2).rounded(.toNearestOrEven)
        let y = (Double(height - cropHeight) / 2).rounded(.toNearestOrEven)
        return (Int(x), Int(y))
    }

    /// Crops the centered cropWidth × cropHeight window (which must fit).
    public static func centerCrop(_ pixels: [UInt8], width: Int, height: Int, channels: Int = 3,
                                  cropWidth: Int, cropHeight: Int) -> [UInt8] {
        precondition(cropWidth <= width && cropHeight <= height && cropWidth > 0 && cropHeight > 0,
                     "ImageResize: the crop must fit in the image")
        let (x0, y0) = centerCropOrigin(width: width, height: height, cropWidth: cropWidth, cropHeight: cropHeight)
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
