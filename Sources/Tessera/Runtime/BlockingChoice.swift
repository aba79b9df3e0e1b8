#if canImport(Glibc)
import Glibc
#endif
import CTesseraCPU
import Synchronization
import TesseraKernelCore

/// The GEMM blocking that sessions of a model use on this CPU with a kernel
/// variant. Timed once on the model's own GEMM shapes (BlockingTuner) and
/// remembered: in the process, and in a small file per user, so that later
/// processes on the same CPU skip the timing (about half a second for
/// ViT-B; the weights are read from 8 × L2 of copies, as a model's layers
/// come from memory, not from cache). Every session of a model on a variant gets the same blocking,
/// so outputs do not depend on which session computed them.
///
/// TESSERA_BLOCKING overrides: `formula` (the cache-size formula, no
/// timing), `KC,MC` (fixed), or `tune` (the default). The cache lives in
/// TESSERA_CACHE_DIR, else $XDG_CACHE_HOME/tessera, else ~/.cache/tessera;
/// where none is writable the choice is remembered in the process only.
enum BlockingChoice {
    struct Chosen: Equatable {
        var blocking: GemmBlocking
        /// "tuned" (timed now), "cached" (timed earlier, read from the file),
        /// "formula" or "environment".
        var source: String
    }

    private static let memo = Mutex<[String: Chosen]>([:])

    static let identity: String = {
        var buf = [CChar](repeating: 0, count: 160)
        tessera_cpu_identity(&buf, Int32(buf.count))
        let bytes = buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self).replacingTabs()
    }()

    /// The GEMMs of one image at the trained size: qkv and proj, fc1, fc2
    /// (rows capped at 400, enough for every row-block candidate to repeat,
    /// so that a large trained size does not make the timing slow).
    static func shapes(_ s: ModelSpec) -> [BlockingTuner.Shape] {
        let m = min(400, s.prefixTokens + (s.imageHeight / max(1, s.patch)) * (s.imageWidth / max(1, s.patch)))
        var out: [BlockingTuner.Shape] = []
        for sh in [BlockingTuner.Shape(m: m, k: s.hidden, n: 3 * s.hidden),
                   BlockingTuner.Shape(m: m, k: s.hidden, n: s.mlp),
                   BlockingTuner.Shape(m: m, k: s.mlp, n: s.hidden)] where !out.contains(sh) {
            out.append(sh)
        }
        return out
    }

    static func blocking(for spec: ModelSpec, table: KernelTable) -> Chosen {
        // Every choice, cached, fixed or tuned, knows this CPU's L2
        // (`GemmBlocking.blockRows`).
        var chosen = choose(for: spec, table: table)
        chosen.blocking.l2 = Machine.caches.l2
        return chosen
    }

    private static func choose(for spec: ModelSpec, table: KernelTable) -> Chosen {
        let l1 = Machine.caches.l1, l2 = Machine.caches.l2
        let formula = GemmBlocking.forCaches(l1: l1, l2: l2, mr: table.gemmMR, nr: table.gemmNR)
        let setting = getenv("TESSERA_BLOCKING").map { String(cString: $0).lowercased() } ?? "tune"
        if setting == "formula" { return Chosen(blocking: formula, source: "formula") }
        if let fixed = parseFixed(setting, nc: formula.nc) { return Chosen(blocking: fixed, source: "environment") }
        let shapes = shapes(spec)
        let key = "\(identity)|\(table.name)|\(l1)|\(l2)|" + shapes.map { "\($0.m)x\($0.k)x\($0.n)" }.joined(separator: ",")
        return memo.withLock { memo in
            if let c = memo[key] { return c }
            var chosen: Chosen
            if let b = readCache(key: key, nc: formula.nc) {
                chosen = Chosen(blocking: b, source: "cached")
            } else {
                let candidates = BlockingTuner.candidates(l1: l1, l2: l2, mr: table.gemmMR, nr: table.gemmNR)
                let results = BlockingTuner.measure(gemm: { table.gemm($0, 0, 1) }, shapes: shapes,
                                                    candidates: candidates, rounds: 3, coldBytes: 8 * Machine.caches.l2,
                                                    clock: OpProfile.now)
                chosen = Chosen(blocking: BlockingTuner.choose(results, preferred: formula), source: "tuned")
                writeCache(key: key, chosen.blocking)
            }
            memo[key] = chosen
            return chosen
        }
    }

    /// "KC,MC" with both in 1...65536.
    static func parseFixed(_ s: String, nc: Int) -> GemmBlocking? {
        let parts = s.split(separator: ",")
        guard parts.count == 2, let kc = Int(parts[0]), let mc = Int(parts[1]),
              (1...65536).contains(kc), (1...65536).contains(mc) else { return nil }
        return GemmBlocking(kc: kc, mc: mc, nc: nc)
    }

    static var cacheDirectory: String? {
        if let d = getenv("TESSERA_CACHE_DIR") { return String(cString: d) }
        if let x = getenv("XDG_CACHE_HOME"), x.pointee != 0 { return String(cString: x) + "/tessera" }
        if let h = getenv("HOME"), h.pointee != 0 { return String(cString: h) + "/.cache/tessera" }
        return nil
    }

    static let cacheName = "gemm-blocking-v1.tsv"

    /// Lines of `key<TAB>kc<TAB>mc`; the last line for a key wins.
    static func readCache(key: String, nc: Int) -> GemmBlocking? {
        guard let dir = cacheDirectory, let f = fopen(dir + "/" + cacheName, "r") else { return nil }
        defer { fclose(f) }
        var found: GemmBlocking?
        var buf = [CChar](repeating: 0, count: 2048)
        while fgets(&buf, Int32(buf.count), f) != nil {
            let bytes = buf.prefix { $0 != 0 && $0 != 10 }.map { UInt8(bitPattern: $0) }
            let fields = String(decoding: bytes, as: UTF8.self).split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 3, fields[0] == key, let kc = Int(fields[1]), let mc = Int(fields[2]),
                  (1...65536).contains(kc), (1...65536).contains(mc) else { continue }
            found = GemmBlocking(kc: kc, mc: mc, nc: nc)
        }
        return found
    }

    static func writeCache(key: String, _ b: GemmBlocking) {
        guard let dir = cacheDirectory else { return }
        var prefix = dir.hasPrefix("/") ? "" : "."
        for part in dir.split(separator: "/") { prefix += "/" + part; mkdir(prefix, 0o755) }
        guard let f = fopen(dir + "/" + cacheName, "a") else { return }
        fputs("\(key)\t\(b.kc)\t\(b.mc)\n", f)
        fclose(f)
    }
}

extension String {
    func replacingTabs() -> String { String(map { $0 == "\t" || $0 == "\n" ? " " : $0 }) }
}
