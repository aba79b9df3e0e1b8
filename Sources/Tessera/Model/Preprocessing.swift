import TesseraKernelCore

/// How the model's reference pipeline turns a photo into its input, read
/// from `preprocessor_config.json` (transformers' image processors) or the
/// timm config's `pretrained_cfg`; used by `tessera_preprocess_rgb8` in the
/// MODEL mode.
struct Preprocessing {
    enum Resize: Equatable {
        /// The shorter side to this many pixels, the longer one in proportion.
        case shorterSide(Int)
        /// Both sides to these sizes.
        case exact(height: Int, width: Int)
    }
    var resize: Resize?
    var crop: (height: Int, width: Int)?
    var filter: ImageResize.Filter = .bicubic
    var rounding: ImageResize.CropRounding = .floor
    /// Where the settings come from, for messages.
    var source = "no preprocessing config (the session's size, stretched)"

    /// transformers: `do_resize` + `size` ({"shortest_edge"} or {"height",
    /// "width"}), `resample` (2 bilinear, 3 bicubic), `do_center_crop` +
    /// `crop_size`; crop origin `(size − crop) // 2`.
    static func huggingFace(_ j: JSON?) throws -> Preprocessing {
        var p = Preprocessing()
        guard let j else { return p }
        p.source = "preprocessor_config.json"
        p.rounding = .floor
        func positive(_ v: JSON?, _ what: String) throws -> Int? {
            guard let v else { return nil }
            guard let i = v.int, i >= 1, i <= ModelSpec.maxImageSide else {
                throw TesseraError.format("preprocessor_config.json: \(what) must be an integer in 1...\(ModelSpec.maxImageSide)")
            }
            return i
        }
        if j["do_resize"]?.bool ?? true, let size = j["size"] {
            if let s = try positive(size["shortest_edge"], "size.shortest_edge") {
                p.resize = .shorterSide(s)
            } else if let h = try positive(size["height"], "size.height"), let w = try positive(size["width"], "size.width") {
                p.resize = .exact(height: h, width: w)
            } else if let s = try positive(size, "size") {
                p.resize = .exact(height: s, width: s)
            }
        }
        if j["do_center_crop"]?.bool ?? false, let c = j["crop_size"] {
            if let h = try positive(c["height"], "crop_size.height"), let w = try positive(c["width"], "crop_size.width") {
                p.crop = (h, w)
            } else if let s = try positive(c, "crop_size") {
                p.crop = (s, s)
            }
        }
        switch j["resample"]?.int ?? 3 {
        case 2: p.filter = .bilinear
        case 3: p.filter = .bicubic
        case let r: throw TesseraError.unsupported("preprocessor_config.json: resample \(r) is not supported; expected 2 (bilinear) or 3 (bicubic)")
        }
        return p
    }

    /// timm's eval transform: the shorter side to floor(size / crop_pct),
    /// then the centre `input_size` (torchvision's rounding), or a plain
    /// resize when crop_mode is "squash".
    static func timm(_ cfg: JSON?, height: Int, width: Int) throws -> Preprocessing {
        var p = Preprocessing()
        guard let cfg else { return p }
        p.source = "pretrained_cfg"
        p.rounding = .nearestEven
        let pct = cfg["crop_pct"]?.double ?? 0.875
        guard pct.isFinite, pct > 0.05, pct <= 1.0 else {
            throw TesseraError.format("config.json: pretrained_cfg.crop_pct is \(pct); expected a number in (0.05, 1]")
        }
        switch cfg["interpolation"]?.string ?? "bicubic" {
        case "bicubic": p.filter = .bicubic
        case "bilinear": p.filter = .bilinear
        case let f: throw TesseraError.unsupported("config.json: pretrained_cfg.interpolation \"\(f)\" is not supported; expected bicubic or bilinear")
        }
        if cfg["crop_mode"]?.string == "squash" {
            p.resize = .exact(height: Int(Double(height) / pct), width: Int(Double(width) / pct))
        } else {
            p.resize = .shorterSide(Int(Double(min(height, width)) / pct))
        }
        p.crop = (height, width)
        return p
    }

    /// The size this pipeline produces from an image of `height` × `width`.
    func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        if let crop { return crop }
        switch resize {
        case .shorterSide(let s)?:
            let r = ImageResize.shorterSideSize(width: width, height: height, shorter: s)
            return (r.height, r.width)
        case .exact(let h, let w)?: return (h, w)
        case nil: return (height, width)
        }
    }

    /// Runs the pipeline on a tightly packed RGB8 image.
    func apply(_ pixels: [UInt8], height: Int, width: Int) throws -> (pixels: [UInt8], height: Int, width: Int) {
        var img = pixels, h = height, w = width
        switch resize {
        case .shorterSide(let s)?:
            let r = ImageResize.shorterSideSize(width: w, height: h, shorter: s)
            img = ImageResize.resize(img, width: w, height: h, toWidth: r.width, toHeight: r.height, filter: filter)
            (h, w) = (r.height, r.width)
        case .exact(let th, let tw)?:
            img = ImageResize.resize(img, width: w, height: h, toWidth: tw, toHeight: th, filter: filter)
            (h, w) = (th, tw)
        case nil: break
        }
        if let crop {
            guard crop.height <= h, crop.width <= w else {
                throw TesseraError.invalid("the model's preprocessing (\(source)) crops \(crop.height)x\(crop.width) from a \(h)x\(w) resize of the image; the crop does not fit")
            }
            img = ImageResize.centerCrop(img, width: w, height: h, cropWidth: crop.width, cropHeight: crop.height, rounding: rounding)
            (h, w) = crop
        }
        return (img, h, w)
    }
}
