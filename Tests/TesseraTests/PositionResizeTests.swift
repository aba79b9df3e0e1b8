import XCTest
@testable import Tessera
import TesseraKernelCore

/// The three position-embedding resamplers against torch.nn.functional.interpolate
/// outputs stored in Tests/Fixtures/pos_resize.safetensors.
final class PositionResizeTests: XCTestCase {
    func testMatchesTorchInterpolate() throws {
        let file = try SafeTensors(path: fixturesDir + "/pos_resize.safetensors")
        let src = referenceTensor(file, "src")!  // [1, C, 4, 4]
        let c = 5, m = 4
        // Token-major [m*m, C] as position tables are stored.
        var table = [Float](repeating: 0, count: m * m * c)
        for ch in 0..<c { for i in 0..<(m * m) { table[i * c + ch] = src[ch * m * m + i] } }
        var checked = 0
        for (modeName, mode) in [("bicubic", PositionResize.Mode.bicubic), ("bicubic_antialias", .bicubicAntialias), ("bicubic_offset", .bicubicOffset)] {
            for (h, w) in [(2, 3), (3, 5), (4, 4), (7, 6), (8, 8), (5, 9)] {
                guard let want = referenceTensor(file, "\(modeName)_\(h)x\(w)") else { XCTFail("missing \(modeName)_\(h)x\(w)"); continue }
                var out = [Float](repeating: .nan, count: h * w * c)
                table.withUnsafeBufferPointer { t in out.withUnsafeMutableBufferPointer {
                    var scratch = [Float](repeating: 0, count: PositionResize.scratchFloats(rows: m, outCols: w, dim: c)); PositionResize.resize(t.baseAddress!, rows: m, cols: m, dim: c, outRows: h, outCols: w, mode: mode, into: $0.baseAddress!, scratch: &scratch)
                }}
                var got = [Float](repeating: 0, count: h * w * c)
                for ch in 0..<c { for i in 0..<(h * w) { got[ch * h * w + i] = out[i * c + ch] } }
                XCTAssertLessThanOrEqual(maxAbsDiff(got, want), 2e-6, "\(modeName) \(h)x\(w)")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 18)
    }
}
