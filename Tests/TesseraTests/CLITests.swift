import Foundation
import XCTest
import CTesseraImageIO
@testable import TesseraCLI

// Tests of the command-line tool's parts that are not the command line
// itself (tests/cli/run.sh drives the built binary): patch matching, image
// decoding and encoding, the .npy writer and argument parsing.

private let fixtureRoot: String = {
    var path = #filePath
    for _ in 0..<2 { path = String(path[..<path.lastIndex(of: "/")!]) }
    return path + "/Fixtures"
}()

/// Deterministic pseudo-random floats in [-1, 1).
private struct Rand {
    var s: UInt64
    mutating func next() -> Float {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17
        return Float(s % 2_000_000) / 1_000_000 - 1
    }
}

final class MatcherTests: XCTestCase {
    /// B is A's rows permuted, each scaled (cosine ignores length) and
    /// slightly perturbed: mutual nearest neighbours recover the permutation.
    func testRecoversAPermutation() {
        let n = 40, dim = 16
        var r = Rand(s: 12345)
        let a = (0..<(n * dim)).map { _ in r.next() }
        let perm = (0..<n).map { ($0 * 17 + 5) % n }  // 17 is coprime with 40
        var b = [Float](repeating: 0, count: n * dim)
        for i in 0..<n {
            let scale = Float(1 + i % 3)
            for k in 0..<dim { b[perm[i] * dim + k] = scale * a[i * dim + k] + 0.01 * r.next() }
        }
        let matches = Matcher.match(a, rowsA: n, b, rowsB: n, dim: dim, ratio: 1)
        XCTAssertEqual(matches.count, n)
        for m in matches {
            XCTAssertEqual(m.b, perm[m.a])
            XCTAssertGreaterThan(m.similarity, 0.99)
        }
        XCTAssertEqual(matches.map { $0.a }, Array(0..<n), "sorted by A's index")
    }

    /// Hand-made 2-D features whose answer is known.
    func testMutualityAndRatioTest() {
        // A0 → B0 (both ways). A1 and A2 both prefer B1, which prefers A1:
        // A2 has no mutual match. B2 and B3 are unit vectors at -30° and
        // -60°; A3 at -44° is nearest B2 (cos 14°) but nearly as close to B3
        // (cos 16°): (A3, B2) is mutual, and fails a 0.8 ratio test
        // (distance ratio 0.876).
        func unit(_ degrees: Float) -> [Float] {
            let r = degrees * .pi / 180
            return [cos(r), sin(r)]
        }
        let a: [Float] = [1, 0] + [0, 1] + [0.3, 0.95] + unit(-44)
        let b: [Float] = [1, 0.05] + [0, 1] + unit(-30) + unit(-60)
        let plain = Matcher.match(a, rowsA: 4, b, rowsB: 4, dim: 2, ratio: 1)
        XCTAssertEqual(plain.map { [$0.a, $0.b] }, [[0, 0], [1, 1], [3, 2]])
        let ratio = Matcher.match(a, rowsA: 4, b, rowsB: 4, dim: 2, ratio: 0.8)
        XCTAssertEqual(ratio.map { [$0.a, $0.b] }, [[0, 0], [1, 1]])
    }

    func testSimilaritiesAndNormalization() {
        var x: [Float] = [3, 4, 0, 0, 0, 0, 1, 2, 2]
        Matcher.l2Normalize(&x, rows: 3, dim: 3)
        XCTAssertEqual(x[0], 0.6, accuracy: 1e-6)
        XCTAssertEqual(x[1], 0.8, accuracy: 1e-6)
        XCTAssertEqual(Array(x[3..<6]), [0, 0, 0], "a zero row stays zero")
        XCTAssertEqual(x[8], 2.0 / 3.0, accuracy: 1e-6)
        // Dot products against a naive loop, on sizes that are not multiples of 8.
        var r = Rand(s: 99)
        for dim in [1, 7, 8, 9, 33] {
            let a = (0..<(3 * dim)).map { _ in r.next() }, b = (0..<(5 * dim)).map { _ in r.next() }
            let s = Matcher.similarities(a, rowsA: 3, b, rowsB: 5, dim: dim)
            for i in 0..<3 { for j in 0..<5 {
                var want: Float = 0
                for k in 0..<dim { want += a[i * dim + k] * b[j * dim + k] }
                XCTAssertEqual(s[i * 5 + j], want, accuracy: 1e-5)
            } }
        }
    }

    func testEmptyAndDegenerateInputs() {
        XCTAssertEqual(Matcher.match([], rowsA: 0, [1, 0], rowsB: 1, dim: 2).count, 0)
        // One row each: always mutual; the ratio test needs a second candidate.
        XCTAssertEqual(Matcher.match([1, 0], rowsA: 1, [0, 1], rowsB: 1, dim: 2, ratio: 0.5).count, 1)
    }

    func testStrongestAndPatchCenters() {
        let m = [PatchMatch(a: 0, b: 0, similarity: 0.5), PatchMatch(a: 1, b: 1, similarity: 0.9),
                 PatchMatch(a: 2, b: 2, similarity: 0.7)]
        XCTAssertEqual(Matcher.strongest(m, limit: 2).map { $0.a }, [1, 2])
        XCTAssertEqual(Matcher.strongest(m, limit: 0).count, 0)
        let c = Matcher.patchCenter(5, gridWidth: 4, patch: 14)  // row 1, column 1
        XCTAssertEqual(c.x, 21)
        XCTAssertEqual(c.y, 21)
    }

    func testLinesAreDrawnEndToEnd() {
        var canvas = Canvas(width: 20, height: 10)
        canvas.line(1, 8, 18, 2, (255, 0, 0))
        XCTAssertEqual(canvas.get(1, 8)!.0, 255)
        XCTAssertEqual(canvas.get(18, 2)!.0, 255)
        // One pixel per column of an x-major line.
        for x in 1...18 {
            XCTAssertEqual((0..<10).filter { canvas.get(x, $0)!.0 == 255 }.count, 1, "column \(x)")
        }
        canvas.line(-5, -5, 30, 30, (0, 255, 0))  // clipped, no crash
        XCTAssertEqual(canvas.get(5, 5)!.1, 255)
    }
}

final class ImageIOTests: XCTestCase {
    private let dir = fixtureRoot + "/images/"

    private func decode(_ path: String, maxPixels: UInt64 = 0) -> (status: Int32, image: RGBImage?, error: String) {
        var px: UnsafeMutablePointer<UInt8>?
        var w: Int32 = 0, h: Int32 = 0, format: Int32 = 0
        var err = [CChar](repeating: 0, count: 256)
        let st = tsr_image_decode_file(path, maxPixels, &px, &w, &h, &format, &err, err.count)
        defer { tsr_image_free(px) }
        let msg = String(cString: err)
        guard st == TSR_IMAGE_OK, let px else { return (st, nil, msg) }
        XCTAssertTrue(msg.isEmpty)
        let n = Int(w) * Int(h) * 3
        return (st, RGBImage(width: Int(w), height: Int(h), pixels: Array(UnsafeBufferPointer(start: px, count: n))), msg)
    }

    private func temp(_ name: String) -> String {
        NSTemporaryDirectory() + "tessera-imageio-\(getpid())-\(name)"
    }

    /// Every fixture decodes to the RGB bytes Pillow (or, for 16-bit PNG,
    /// libpng's documented scaling) gives.
    func testFixturesDecodeToTheExpectedRGB() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "manifest.json"))
        let manifest = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let images = try XCTUnwrap(manifest["images"] as? [[String: Any]])
        var names = Set<String>()
        for e in images {
            let file = try XCTUnwrap(e["file"] as? String)
            names.insert(file)
            let expected = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + (try XCTUnwrap(e["expected"] as? String)))))
            let tolerance = try XCTUnwrap(e["tolerance"] as? Int)
            let r = decode(dir + file)
            let img = try XCTUnwrap(r.image, "\(file): \(r.error)")
            XCTAssertEqual(img.width, e["width"] as? Int, file)
            XCTAssertEqual(img.height, e["height"] as? Int, file)
            XCTAssertEqual(img.pixels.count, expected.count, file)
            var worst = 0
            for i in 0..<min(img.pixels.count, expected.count) { worst = max(worst, abs(Int(img.pixels[i]) - Int(expected[i]))) }
            XCTAssertLessThanOrEqual(worst, tolerance, "\(file): max difference \(worst)")
        }
        // The layouts the decoder promises to handle.
        for f in ["gray.png", "palette.png", "palette_trns.png", "rgba.png", "gray_alpha.png", "gray16.png",
                  "rgb16.png", "rgba16.png", "gray.jpg", "rgb.jpg", "cmyk.jpg"] {
            XCTAssertTrue(names.contains(f), "fixture lacks \(f)")
        }
    }

    func testFormatIsSniffedNotTakenFromTheName() throws {
        let misnamed = temp("really-a-png.jpg")
        try FileManager.default.copyItem(atPath: dir + "rgb.png", toPath: misnamed)
        defer { unlink(misnamed) }
        var px: UnsafeMutablePointer<UInt8>?
        var w: Int32 = 0, h: Int32 = 0, format: Int32 = 0
        var err = [CChar](repeating: 0, count: 256)
        XCTAssertEqual(tsr_image_decode_file(misnamed, 0, &px, &w, &h, &format, &err, err.count), TSR_IMAGE_OK)
        tsr_image_free(px)
        XCTAssertEqual(format, TSR_IMAGE_FORMAT_PNG)
    }

    func testErrorsAreReportedNotFatal() throws {
        // Truncated JPEG: libjpeg would warn and pad with gray; here it is an error.
        let jpeg = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "rgb.jpg")))
        let png = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "rgb.png")))
        let cases: [(String, [UInt8], Int32, String)] = [
            ("truncated.jpg", Array(jpeg.prefix(jpeg.count / 2)), TSR_IMAGE_ERR_FORMAT, "truncated"),
            ("header-only.jpg", Array(jpeg.prefix(40)), TSR_IMAGE_ERR_FORMAT, "JPEG"),
            ("truncated.png", Array(png.prefix(png.count / 2)), TSR_IMAGE_ERR_FORMAT, "PNG"),
            ("corrupt.png", Array(png.prefix(33)) + [UInt8](repeating: 0x41, count: 200), TSR_IMAGE_ERR_FORMAT, "PNG"),
            ("text.png", Array("not an image at all\n".utf8), TSR_IMAGE_ERR_FORMAT, "not a PNG or JPEG"),
            ("empty.jpg", [], TSR_IMAGE_ERR_FORMAT, "empty"),
        ]
        for (name, bytes, status, fragment) in cases {
            let path = temp(name)
            XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)), path)
            defer { unlink(path) }
            let r = decode(path)
            XCTAssertEqual(r.status, status, "\(name): \(r.error)")
            XCTAssertNil(r.image, name)
            XCTAssertTrue(r.error.contains(fragment), "\(name): '\(r.error)' lacks '\(fragment)'")
        }
        let missing = decode(temp("does-not-exist.png"))
        XCTAssertEqual(missing.status, TSR_IMAGE_ERR_IO)
        XCTAssertTrue(missing.error.contains("No such file"), missing.error)
        XCTAssertEqual(decode(NSTemporaryDirectory()).status, TSR_IMAGE_ERR_IO, "a directory")
    }

    func testTooLargeIsRefusedBeforeDecoding() {
        for f in ["rgb.png", "rgb.jpg"] {
            let r = decode(dir + f, maxPixels: 100)  // the fixtures have 192 pixels
            XCTAssertEqual(r.status, TSR_IMAGE_ERR_TOO_LARGE, f)
            XCTAssertTrue(r.error.contains("limit"), r.error)
            XCTAssertEqual(decode(dir + f, maxPixels: 192).status, TSR_IMAGE_OK, f)
        }
    }

    func testPNGRoundTrip() throws {
        var px = [UInt8](repeating: 0, count: 7 * 5 * 3)
        for i in px.indices { px[i] = UInt8((i * 37) % 256) }
        let image = RGBImage(width: 7, height: 5, pixels: px)
        let path = temp("roundtrip.png")
        defer { unlink(path) }
        try ImageFile.writePNG(image, to: path)
        let back = try ImageFile.load(path)
        XCTAssertEqual(back.width, 7)
        XCTAssertEqual(back.height, 5)
        XCTAssertEqual(back.pixels, px)
        XCTAssertThrowsError(try ImageFile.writePNG(image, to: "/nonexistent-dir/x.png"))
    }

    func testJPEGRoundTripIsClose() throws {
        var px = [UInt8](repeating: 0, count: 32 * 16 * 3)
        for y in 0..<16 { for x in 0..<32 { for c in 0..<3 { px[(y * 32 + x) * 3 + c] = UInt8(x * 5 + c * 20 + y * 2) } } }
        let path = temp("roundtrip.jpg")
        defer { unlink(path) }
        try ImageFile.writeJPEG(RGBImage(width: 32, height: 16, pixels: px), to: path, quality: 95)
        let back = try ImageFile.load(path)
        XCTAssertEqual(back.width, 32)
        let worst = zip(back.pixels, px).map { abs(Int($0) - Int($1)) }.max()!
        XCTAssertLessThan(worst, 16)
    }

    func testLoadErrorNamesTheFile() {
        XCTAssertThrowsError(try ImageFile.load("/nonexistent/cat.jpg")) { e in
            let msg = (e as? CLIError)?.message ?? ""
            XCTAssertTrue(msg.contains("/nonexistent/cat.jpg"), msg)
        }
    }
}

final class CLIPartsTests: XCTestCase {
    func testNPYHeader() {
        for shape in [[3, 48], [0, 5], [7], [100_000, 1024]] {
            let h = NPY.header(shape: shape)
            XCTAssertEqual(Array(h.prefix(8)), [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
            XCTAssertEqual(h.count % 64, 0, "data starts aligned")
            XCTAssertEqual(Int(h[8]) | Int(h[9]) << 8, h.count - 10)
            XCTAssertEqual(h.last, 0x0A)
            let dict = String(decoding: h[10...], as: UTF8.self)
            XCTAssertTrue(dict.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': ("), dict)
        }
        XCTAssertTrue(String(decoding: NPY.header(shape: [7]), as: UTF8.self).contains("(7,)"))
        XCTAssertTrue(String(decoding: NPY.header(shape: [3, 48]), as: UTF8.self).contains("(3, 48)"))
        let file = NPY.encode([1, -2.5], shape: [1, 2])
        XCTAssertEqual(Array(file.suffix(8)), [0, 0, 0x80, 0x3F, 0, 0, 0x20, 0xC0])
    }

    func testSizeParsing() {
        XCTAssertEqual(parseSize("224")?.height, 224)
        XCTAssertEqual(parseSize("224")?.width, 224)
        XCTAssertEqual(parseSize("42x70")?.height, 42)
        XCTAssertEqual(parseSize("42X70")?.width, 70)
        for bad in ["", "x", "0", "-14", "14x", "x14", "14x14x14", "abc", "14.0"] {
            XCTAssertNil(parseSize(bad), bad)
        }
    }

    func testArgumentParsing() throws {
        let spec = RunCommand.spec
        let p = try ArgumentParser.parse(["model", "a.png", "--top=3", "--size", "42x70", "b.jpg", "--crop"], for: spec)
        XCTAssertEqual(p.positionals, ["model", "a.png", "b.jpg"])
        XCTAssertEqual(try p.int("--top", default: 5, min: 1), 3)
        XCTAssertEqual(try p.size("--size")?.width, 70)
        XCTAssertTrue(p.has("--crop"))
        XCTAssertEqual(try ArgumentParser.parse(["m", "x", "-k", "2"], for: spec).int("--top", default: 5), 2)
        XCTAssertTrue(try ArgumentParser.parse(["--help"], for: spec).helpRequested)
        XCTAssertEqual(try ArgumentParser.parse(["m", "--", "--odd-name.png"], for: spec).positionals, ["m", "--odd-name.png"])

        func usageError(_ args: [String], _ fragment: String) {
            XCTAssertThrowsError(try {
                let p = try ArgumentParser.parse(args, for: spec)
                _ = try p.int("--top", default: 5, min: 1)
                _ = try p.size("--size")
            }()) { e in
                let err = e as? CLIError
                XCTAssertEqual(err?.exitCode, 2, "\(args)")
                XCTAssertTrue(err?.message.contains(fragment) ?? false, "\(args): \(err?.message ?? "")")
            }
        }
        usageError(["m"], "IMAGE")
        usageError(["m", "a.png", "--bogus"], "unknown option '--bogus'")
        usageError(["m", "a.png", "--top"], "needs a value")
        usageError(["m", "a.png", "--top", "zero"], "expected an integer")
        usageError(["m", "a.png", "--top", "0"], ">= 1")
        usageError(["m", "a.png", "--size", "10x"], "HxW")
        usageError(["m", "a.png", "--crop=yes"], "takes no value")
        XCTAssertThrowsError(try ArgumentParser.parse(["m", "d", "extra"], for: BenchCommand.spec))
    }

    func testEveryCommandHasHelp() {
        for c in Tool.commands {
            let h = c.spec.help
            XCTAssertTrue(h.hasPrefix("usage: tessera \(c.spec.name) "), h)
            XCTAssertTrue(h.contains("--help"))
            for o in c.spec.options { XCTAssertTrue(h.contains(o.name), "\(c.spec.name) help lacks \(o.name)") }
        }
    }

    func testSoftmaxAndTopK() {
        let p = RunCommand.softmax([1, 2, 3, 1000])
        XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-6)
        XCTAssertEqual(p[3], 1, accuracy: 1e-6)
        XCTAssertEqual(RunCommand.topK([0.1, 0.5, 0.5, 0.2], 3), [1, 2, 3])
    }

    func testFormatting() {
        XCTAssertEqual(fixed(3.14159, 3), "3.142")
        XCTAssertEqual(fixed(-0.00001, 2), "0.00")
        XCTAssertEqual(fixed(-1.5, 0), "-2")
        XCTAssertEqual(fixed(2.0, 1), "2.0")
        XCTAssertEqual(grouped(1234567), "1,234,567")
        XCTAssertEqual(grouped(999), "999")
        XCTAssertEqual(bytesText(512 * 1024), "512 KiB")
        XCTAssertEqual(bytesText(1536 * 1024), "1.5 MiB")
        XCTAssertEqual(EmbedCommand.namesPath(for: "out/embeddings.npy"), "out/embeddings.txt")
        XCTAssertEqual(baseName("/a/b/c.png"), "c.png")
    }
}
