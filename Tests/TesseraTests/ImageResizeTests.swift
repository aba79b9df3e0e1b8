import Foundation
import XCTest
import TesseraKernelCore

/// ImageResize against Pillow's Image.resize on the committed fixture
/// (Tests/Fixtures/resize, made by scripts/make_resize_fixture.py), plus the
/// properties any antialiased, normalized resampler must have.
final class ImageResizeTests: XCTestCase {
    private static let dir: String = {
        var path = #filePath
        for _ in 0..<2 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path + "/Fixtures/resize/"
    }()

    private func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.dir + name)))
    }

    private struct Diff { var max = 0; var count = 0 }

    private func diff(_ a: [UInt8], _ b: [UInt8]) -> Diff {
        var d = Diff()
        for i in a.indices {
            let v = abs(Int(a[i]) - Int(b[i]))
            d.max = max(d.max, v)
            if v > 0 { d.count += 1 }
        }
        return d
    }

    /// Deterministic pseudo-random bytes.
    private func noise(_ n: Int, seed: UInt32) -> [UInt8] {
        var s = seed | 1
        return (0..<n).map { _ in
            s ^= s << 13; s ^= s >> 17; s ^= s << 5
            return UInt8(truncatingIfNeeded: s >> 7)
        }
    }

    func testMatchesPillow() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.dir + "manifest.json"))
        let manifest = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let source = try XCTUnwrap(manifest["source"] as? [String: Any])
        let sw = try XCTUnwrap(source["width"] as? Int), sh = try XCTUnwrap(source["height"] as? Int)
        let src = try bytes(try XCTUnwrap(source["file"] as? String))
        XCTAssertEqual(src.count, sw * sh * 3)
        let entries = try XCTUnwrap(manifest["resized"] as? [[String: Any]])
        XCTAssertGreaterThanOrEqual(entries.count, 12)
        var seen = Set<String>()
        for e in entries {
            let file = try XCTUnwrap(e["file"] as? String)
            let w = try XCTUnwrap(e["width"] as? Int), h = try XCTUnwrap(e["height"] as? Int)
            let filter = try XCTUnwrap(ImageResize.Filter(name: try XCTUnwrap(e["filter"] as? String)))
            let expected = try bytes(file)
            XCTAssertEqual(expected.count, w * h * 3, file)
            let got = ImageResize.resize(src, width: sw, height: sh, toWidth: w, toHeight: h, filter: filter)
            let d = diff(got, expected)
            // The contract: within one level of Pillow. In fact the fixed-point
            // arithmetic is Pillow's, so the bytes are identical.
            XCTAssertLessThanOrEqual(d.max, 1, "\(file): max difference \(d.max)")
            XCTAssertEqual(d.count, 0, "\(file): \(d.count) bytes differ from Pillow (max \(d.max))")
            seen.insert("\(filter.name) \(w)x\(h)")
        }
        // The sizes the fixture promises: a shrink, an enlargement, the identity.
        for s in ["bicubic 16x11", "bicubic 50x40", "bicubic 37x23", "bilinear 16x11"] {
            XCTAssertTrue(seen.contains(s), "fixture lacks \(s)")
        }
    }

    func testPassOrderFollowsPillow13() {
        let o = ImageResize.PassOrder.pillow
        // Height shrinks by more than twice the width's shrink: vertical first.
        XCTAssertTrue(o.runsVerticalFirst(width: 37, height: 23, outWidth: 40, outHeight: 10))
        XCTAssertTrue(o.runsVerticalFirst(width: 64, height: 64, outWidth: 41, outHeight: 16))
        // The boundary (64 - 16 == 2 * (64 - 40)) and below it: horizontal first.
        XCTAssertFalse(o.runsVerticalFirst(width: 64, height: 64, outWidth: 40, outHeight: 16))
        XCTAssertFalse(o.runsVerticalFirst(width: 37, height: 23, outWidth: 16, outHeight: 11))
        // Enlarging the height: horizontal first.
        XCTAssertFalse(o.runsVerticalFirst(width: 37, height: 23, outWidth: 50, outHeight: 40))
        XCTAssertFalse(ImageResize.PassOrder.horizontalFirst.runsVerticalFirst(width: 37, height: 23, outWidth: 40, outHeight: 10))
    }

    func testIdentityWhenSizesAreEqual() {
        for (w, h) in [(1, 1), (37, 23), (5, 64)] {
            let img = noise(w * h * 3, seed: UInt32(w * 131 + h))
            for filter in [ImageResize.Filter.bicubic, .bilinear] {
                XCTAssertEqual(ImageResize.resize(img, width: w, height: h, toWidth: w, toHeight: h, filter: filter), img)
            }
        }
    }

    func testDefaultIsBicubicAntialias() {
        XCTAssertEqual(ImageResize.defaultFilter, .bicubic)
        let img = noise(37 * 23 * 3, seed: 7)
        XCTAssertEqual(ImageResize.resize(img, width: 37, height: 23, toWidth: 16, toHeight: 11),
                       ImageResize.resize(img, width: 37, height: 23, toWidth: 16, toHeight: 11, filter: .bicubic))
    }

    func testConstantImageStaysConstant() {
        // Taps are normalized, so a flat image stays flat at any scale.
        for value: UInt8 in [0, 1, 128, 254, 255] {
            let img = [UInt8](repeating: value, count: 13 * 9 * 3)
            for (w, h) in [(1, 1), (4, 3), (13, 9), (40, 31), (7, 50)] {
                for filter in [ImageResize.Filter.bicubic, .bilinear] {
                    let out = ImageResize.resize(img, width: 13, height: 9, toWidth: w, toHeight: h, filter: filter)
                    XCTAssertEqual(out.count, w * h * 3)
                    XCTAssertTrue(out.allSatisfy { $0 == value }, "\(value) \(filter) \(w)x\(h)")
                }
            }
        }
    }

    func testChannelsAreIndependent() {
        // An RGB resize equals three one-channel resizes.
        let (w, h, ow, oh) = (23, 17, 9, 30)
        let img = noise(w * h * 3, seed: 99)
        let rgb = ImageResize.resize(img, width: w, height: h, toWidth: ow, toHeight: oh)
        for c in 0..<3 {
            let plane = (0..<(w * h)).map { img[$0 * 3 + c] }
            let out = ImageResize.resize(plane, width: w, height: h, channels: 1, toWidth: ow, toHeight: oh)
            XCTAssertEqual(out, (0..<(ow * oh)).map { rgb[$0 * 3 + c] }, "channel \(c)")
        }
    }

    func testShrinkIsAntialiased() {
        // A one-pixel checkerboard shrunk 4x averages to mid-gray; a filter
        // that only sampled (no antialias) would alias to black or white.
        let (w, h) = (64, 64)
        var img = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h { for x in 0..<w where (x + y) % 2 == 0 { for c in 0..<3 { img[(y * w + x) * 3 + c] = 255 } } }
        for filter in [ImageResize.Filter.bicubic, .bilinear] {
            let out = ImageResize.resize(img, width: w, height: h, toWidth: 16, toHeight: 16, filter: filter)
            // Edge outputs see a truncated, renormalized kernel; the interior is flat.
            for y in 2..<14 { for x in 2..<14 {
                XCTAssertEqual(Double(out[(y * 16 + x) * 3]), 127.5, accuracy: 3, "\(filter) at \(x),\(y)")
            } }
        }
    }

    func testOutputsAreClampedNotWrapped() {
        // Bicubic undershoots just before a rising edge; those results must
        // clamp to 0, not wrap around to values near 255.
        let img: [UInt8] = [0, 0, 0, 255, 255, 255, 0, 0].flatMap { [$0, $0, $0] }
        let out = ImageResize.resize(img, width: 8, height: 1, toWidth: 29, toHeight: 1)
        // Outputs 0...6 have their centers on the dark plateau (input x < 2).
        for o in 0...6 { XCTAssertLessThanOrEqual(out[o * 3], 10, "output \(o)") }
        XCTAssertEqual(out.max(), 255)
    }

    func testCropHelpers() {
        XCTAssertEqual(ImageResize.shorterSideSize(width: 640, height: 480, shorter: 224).width, 298)
        XCTAssertEqual(ImageResize.shorterSideSize(width: 640, height: 480, shorter: 224).height, 224)
        XCTAssertEqual(ImageResize.shorterSideSize(width: 300, height: 500, shorter: 100).height, 166)
        // torchvision rounds (size - crop) / 2 half to even.
        XCTAssertEqual(ImageResize.centerCropOrigin(width: 7, height: 10, cropWidth: 4, cropHeight: 5).x, 2)
        XCTAssertEqual(ImageResize.centerCropOrigin(width: 9, height: 10, cropWidth: 4, cropHeight: 5).x, 2)
        XCTAssertEqual(ImageResize.centerCropOrigin(width: 7, height: 10, cropWidth: 4, cropHeight: 5).y, 2)
        let img = (0..<(5 * 4)).flatMap { [UInt8($0), UInt8($0), UInt8($0)] }
        let crop = ImageResize.centerCrop(img, width: 5, height: 4, cropWidth: 3, cropHeight: 2)
        XCTAssertEqual(crop.enumerated().filter { $0.offset % 3 == 0 }.map { $0.element }, [6, 7, 8, 11, 12, 13])
        let covered = ImageResize.resizeAndCenterCrop(noise(40 * 20 * 3, seed: 3), width: 40, height: 20,
                                                      toWidth: 16, toHeight: 16)
        XCTAssertEqual(covered.count, 16 * 16 * 3)
    }
}
