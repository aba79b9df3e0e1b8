import XCTest
@testable import Tessera

final class JSONTests: XCTestCase {
    func testParsesWhatConfigsContain() throws {
        let j = try JSON.parse(Array(#"{"a": 1, "b": [true, false, null], "c": {"d": "x\u00e9\n"}, "e": -1.5e3, "f": 1e-12}"#.utf8))
        XCTAssertEqual(j["a"]?.int, 1)
        XCTAssertEqual(j["b"]?.array?.count, 3)
        XCTAssertEqual(j["c"]?["d"]?.string, "xé\n")
        XCTAssertEqual(j["e"]?.double, -1500)
        XCTAssertEqual(j["f"]?.double, 1e-12)
        XCTAssertEqual(try JSON.parse(Array("\"\\ud83d\\ude00\"".utf8)).string, "😀")
    }

    func testRejectsMalformedInput() {
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "tru", "\"abc", "01x", "{\"a\":1}}", String(repeating: "[", count: 65) + String(repeating: "]", count: 65)] {
            XCTAssertThrowsError(try JSON.parse(Array(bad.utf8)), bad)
        }
    }
}
