import XCTest
#if canImport(Glibc)
import Glibc
#endif
@testable import Tessera
import TesseraKernelCore

/// The blocking tuner and its cache: what is timed, what is chosen, what is
/// remembered, and that a tuned blocking computes the same as the formula's
/// up to rounding.
final class BlockingTests: XCTestCase {
    func testCandidatesStartWithTheFormulaAndAreDistinct() {
        for (l1, l2, mr, nr) in [(32 << 10, 512 << 10, 6, 16), (48 << 10, 2 << 20, 12, 32), (48 << 10, 1 << 20, 12, 32)] {
            let c = BlockingTuner.candidates(l1: l1, l2: l2, mr: mr, nr: nr)
            XCTAssertEqual(c.first, GemmBlocking.forCaches(l1: l1, l2: l2, mr: mr, nr: nr))
            for i in c.indices { for j in c.indices where j > i { XCTAssertNotEqual(c[i], c[j]) } }
            for b in c { XCTAssertGreaterThan(b.kc, 0); XCTAssertEqual(b.mc % mr, 0, "mc \(b.mc) is whole tiles") }
            XCTAssertGreaterThanOrEqual(c.count, 10)
        }
    }

    func testMeasureTimesEveryCandidateAndSortsThem() {
        let table = kernelVariants().last!.1
        let cands = Array(BlockingTuner.candidates(l1: 32 << 10, l2: 512 << 10, mr: table.gemmMR, nr: table.gemmNR).prefix(4))
        var calls = 0
        let r = BlockingTuner.measure(gemm: { calls += 1; table.gemm($0, 0, 1) },
                                      shapes: [.init(m: 29, k: 40, n: 70), .init(m: 13, k: 300, n: 33)],
                                      candidates: cands, rounds: 3, maxColumns: 64, clock: OpProfile.now)
        XCTAssertEqual(calls, 4 * 2 * 3)
        XCTAssertEqual(r.count, 4)
        XCTAssertEqual(Set(r.map { "\($0.blocking.kc)/\($0.blocking.mc)" }).count, 4)
        for i in 1..<r.count { XCTAssertLessThanOrEqual(r[i - 1].seconds, r[i].seconds) }
        XCTAssertTrue(r.allSatisfy { $0.seconds > 0 && $0.seconds.isFinite })
    }

    func testChooseKeepsThePreferredOnANearTie() {
        let a = GemmBlocking(kc: 4096, mc: 252), b = GemmBlocking(kc: 384, mc: 96)
        XCTAssertEqual(BlockingTuner.choose([.init(blocking: b, seconds: 1.0), .init(blocking: a, seconds: 1.02)], preferred: a), a)
        XCTAssertEqual(BlockingTuner.choose([.init(blocking: b, seconds: 1.0), .init(blocking: a, seconds: 1.10)], preferred: a), b)
        XCTAssertEqual(BlockingTuner.choose([], preferred: a), a)
    }

    /// Rows per A block shrink only where mc rows overflow L2 and 16 tiles
    /// still fit in half of it.
    func testBlockRowsFitL2() {
        let xeon = GemmBlocking.forCaches(l1: 48 << 10, l2: 2 << 20, mr: 12, nr: 32)
        XCTAssertEqual(xeon.mc, 1020)
        XCTAssertEqual(xeon.blockRows(depth: 384, mr: 12), 1020, "1.5 MiB of A fits")
        XCTAssertEqual(xeon.blockRows(depth: 768, mr: 12), 336, "1 MiB / 3 KiB rows, whole tiles")
        XCTAssertEqual(xeon.blockRows(depth: 1536, mr: 12), 1020, "170 rows would be under 16 tiles")
        XCTAssertEqual(xeon.blockRows(depth: 3072, mr: 12), 1020)
        XCTAssertEqual(xeon.maxRows(depth: 768, mr: 12), 516)
        let zen3 = GemmBlocking.forCaches(l1: 32 << 10, l2: 512 << 10, mr: 6, nr: 16)
        for depth in [384, 768, 1536, 3072] { XCTAssertEqual(zen3.blockRows(depth: depth, mr: 6), zen3.mc, "depth \(depth)") }
        XCTAssertEqual(GemmBlocking(kc: 768, mc: 1020).blockRows(depth: 768, mr: 12), 1020, "L2 unknown: mc")
        XCTAssertEqual(GemmBlocking(kc: 768, mc: 48, l2: 2 << 20).blockRows(depth: 768, mr: 12), 48, "mc that fits")
    }

    func testFixedSettingsAreValidated() {
        XCTAssertEqual(BlockingChoice.parseFixed("384,96", nc: 4096), GemmBlocking(kc: 384, mc: 96, nc: 4096))
        for bad in ["", "384", "0,96", "384,-1", "a,b", "384,96,1", "99999999,1"] {
            XCTAssertNil(BlockingChoice.parseFixed(bad, nc: 4096), bad)
        }
    }

    func testCacheRoundTripsAndTheLastLineWins() throws {
        let dir = "/tmp/tessera-blocking-test-\(getpid())/nested"
        setenv("TESSERA_CACHE_DIR", dir, 1)
        defer { unsetenv("TESSERA_CACHE_DIR"); _ = system("rm -rf /tmp/tessera-blocking-test-\(getpid())") }
        XCTAssertNil(BlockingChoice.readCache(key: "k1", nc: 4096))
        BlockingChoice.writeCache(key: "k1", GemmBlocking(kc: 384, mc: 96))
        BlockingChoice.writeCache(key: "k2", GemmBlocking(kc: 768, mc: 48))
        BlockingChoice.writeCache(key: "k1", GemmBlocking(kc: 256, mc: 144))
        XCTAssertEqual(BlockingChoice.readCache(key: "k1", nc: 4096), GemmBlocking(kc: 256, mc: 144, nc: 4096))
        XCTAssertEqual(BlockingChoice.readCache(key: "k2", nc: 4096), GemmBlocking(kc: 768, mc: 48, nc: 4096))
        // A damaged line is skipped, not trusted.
        let f = fopen(dir + "/" + BlockingChoice.cacheName, "a")!
        fputs("k2\t0\t48\nk2\tx\n", f); fclose(f)
        XCTAssertEqual(BlockingChoice.readCache(key: "k2", nc: 4096), GemmBlocking(kc: 768, mc: 48, nc: 4096))
    }

    /// A session takes the environment's blocking, and every blocking gives
    /// the reference's outputs.
    func testSessionsUseTheChosenBlocking() throws {
        let model = try Model.load(path: fixturesDir + "/vit_hf")
        defer { unsetenv("TESSERA_BLOCKING") }
        for setting in ["3,12", "4096,24", "formula"] {
            setenv("TESSERA_BLOCKING", setting, 1)
            let s = try Session(model: model, options: Session.Options())
            var want = setting == "formula"
                ? GemmBlocking.forCaches(l1: Machine.caches.l1, l2: Machine.caches.l2, mr: s.table.gemmMR, nr: s.table.gemmNR)
                : BlockingChoice.parseFixed(setting, nc: s.blocking.nc)!
            want.l2 = Machine.caches.l2
            XCTAssertEqual(s.blocking, want, setting)
        }
    }
}
