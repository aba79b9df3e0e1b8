import CTesseraABI
import CTesseraImageIO
import TesseraKernelCore
#if canImport(Glibc)
import Glibc
#endif

/// An 8-bit RGB image, interleaved, rows top to bottom.
struct RGBImage {
    var width: Int
    var height: Int
    var pixels: [UInt8]

    init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3, "RGBImage: pixel count does not match the size")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8) = (0, 0, 0)) {
        self.width = width
        self.height = height
        var p = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) { p[i * 3] = fill.0; p[i * 3 + 1] = fill.1; p[i * 3 + 2] = fill.2 }
        self.pixels = p
    }
}

/// How an image is brought to the session's input size.
struct ResizePolicy {
    /// Default: PIL's antialiased bicubic (Image.resize(size, BICUBIC)).
    var filter: ImageResize.Filter = ImageResize.defaultFilter
    /// Whether --resample chose the filter (else the mode's default).
    var filterGiven = false
    /// TESSERA_RESIZE_STRETCH (default): the whole image to H x W, the aspect
    /// ratio not kept; _COVER_CROP: the shorter side to cover H x W, the
    /// centre cropped; _MODEL: the model's own preprocessing.
    var mode: tessera_resize = TESSERA_RESIZE_STRETCH

    var description: String {
        switch mode {
        case TESSERA_RESIZE_COVER_CROP: return "\(filter.name) + center crop"
        case TESSERA_RESIZE_MODEL: return "the model's preprocessing" + (filterGiven ? " with \(filter.name)" : "")
        default: return filter.name
        }
    }

    static let helpText = """
        resampler: bicubic (default; PIL Image.resize BICUBIC:
        Keys a=-0.5, antialiased) or bilinear (PIL BILINEAR)
        """
}

enum ImageFile {
    /// Decodes a PNG or JPEG (recognised by its first bytes) to RGB8.
    static func load(_ path: String) throws -> RGBImage {
        var pixels: UnsafeMutablePointer<UInt8>?
        var w: Int32 = 0, h: Int32 = 0, format: Int32 = 0
        var err = [CChar](repeating: 0, count: 512)
        let status = tsr_image_decode_file(path, 0, &pixels, &w, &h, &format, &err, err.count)
        guard status == TSR_IMAGE_OK, let pixels else {
            let msg = String(decoding: err.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw CLIError(message: "cannot load image '\(path)': \(msg)")
        }
        defer { tsr_image_free(pixels) }
        let n = Int(w) * Int(h) * 3
        return RGBImage(width: Int(w), height: Int(h), pixels: Array(UnsafeBufferPointer(start: pixels, count: n)))
    }

    static func writePNG(_ image: RGBImage, to path: String) throws {
        var err = [CChar](repeating: 0, count: 512)
        let status = image.pixels.withUnsafeBufferPointer { p in
            tsr_image_write_png(path, p.baseAddress, Int32(image.width), Int32(image.height), &err, err.count)
        }
        guard status == TSR_IMAGE_OK else {
            throw CLIError(message: "cannot write '\(path)': \(String(cString: err))")
        }
    }

    static func writeJPEG(_ image: RGBImage, to path: String, quality: Int = 90) throws {
        var err = [CChar](repeating: 0, count: 512)
        let status = image.pixels.withUnsafeBufferPointer { p in
            tsr_image_write_jpeg(path, p.baseAddress, Int32(image.width), Int32(image.height), Int32(quality), &err, err.count)
        }
        guard status == TSR_IMAGE_OK else {
            throw CLIError(message: "cannot write '\(path)': \(String(cString: err))")
        }
    }

    /// Whether the file starts like a PNG or a JPEG (it is not decoded).
    static func looksLikeImage(_ path: String) -> Bool {
        guard let f = fopen(path, "rb") else { return false }
        defer { fclose(f) }
        var head = [UInt8](repeating: 0, count: 8)
        let n = fread(&head, 1, 8, f)
        return tsr_image_sniff(head, n) != TSR_IMAGE_FORMAT_UNKNOWN
    }

    /// What a directory holds for embedding: the regular, non-hidden files
    /// that start like a PNG or JPEG, sorted by name (byte order; paths are
    /// dir + "/" + name), and every other entry with why it is left out.
    struct Listing {
        var images: [String] = []
        var skipped: [(name: String, why: String)] = []
    }

    static func scan(_ dir: String) throws -> Listing {
        guard let d = opendir(dir) else {
            throw CLIError(message: "cannot read directory '\(dir)': \(String(cString: strerror(errno)))")
        }
        defer { closedir(d) }
        var listing = Listing()
        var names: [String] = []
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            if name.hasPrefix(".") { listing.skipped.append((name, "hidden")); continue }
            let path = joinPath(dir, name)
            var st = stat()
            guard stat(path, &st) == 0 else { listing.skipped.append((name, "cannot stat: \(String(cString: strerror(errno)))")); continue }
            guard (st.st_mode & S_IFMT) == S_IFREG else {
                listing.skipped.append((name, (st.st_mode & S_IFMT) == S_IFDIR ? "a directory (not searched)" : "not a regular file"))
                continue
            }
            if looksLikeImage(path) { names.append(name) } else { listing.skipped.append((name, "not a PNG or JPEG file")) }
        }
        let byName = { (a: String, b: String) in Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8)) }
        names.sort(by: byName)
        listing.skipped.sort { byName($0.name, $1.name) }
        listing.images = names.map { joinPath(dir, $0) }
        return listing
    }
}

func joinPath(_ dir: String, _ name: String) -> String {
    dir.hasSuffix("/") ? dir + name : dir + "/" + name
}

/// The last path component.
func baseName(_ path: String) -> String {
    var p = Substring(path)
    while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
    if let slash = p.lastIndex(of: "/") { return String(p[p.index(after: slash)...]) }
    return String(p)
}

/// Decodes `path` and brings it to the session's input size through the
/// library's tessera_preprocess_rgb8 (the one resize in the project).
func loadForSession(_ path: String, _ session: InferenceSession, _ policy: ResizePolicy) throws -> (original: RGBImage, input: RGBImage) {
    let image = try ImageFile.load(path)
    let input = try session.preprocess(image, policy)
    return (image, input)
}
