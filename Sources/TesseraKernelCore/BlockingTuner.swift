/// Chooses GEMM blocking by timing candidates on the shapes a model runs,
/// on the CPU at hand. A formula calibrated on one CPU was measured far off
/// on another (Zen 3's 512 KiB L2 against a Xeon's 2 MiB: 50–70 % of peak
/// where other blockings reached 85–90 %), so the machine is asked instead.
///
/// Candidates are timed interleaved, round after round, and each keeps its
/// fastest time per shape: on a shared host a burst of load then slows every
/// candidate in turn rather than one. The formula's blocking is among the
/// candidates and keeps its place unless another is clearly faster.
public enum BlockingTuner {
    /// One GEMM shape to time: rows of A, depth, columns of C.
    public struct Shape: Equatable {
        public var m: Int, k: Int, n: Int
        public init(m: Int, k: Int, n: Int) { self.m = m; self.k = k; self.n = n }
    }

    /// A candidate and its time: the sum over shapes of each shape's fastest run.
    public struct Result {
        public var blocking: GemmBlocking
        public var seconds: Double
        public init(blocking: GemmBlocking, seconds: Double) { self.blocking = blocking; self.seconds = seconds }
    }

    /// The blockings worth trying for an `mr` × `nr` kernel: K whole or in
    /// blocks whose B sliver fits L1 or L2; row blocks from two tiles up to
    /// the formula's. The formula's own blocking comes first.
    public static func candidates(l1: Int, l2: Int, mr: Int, nr: Int) -> [GemmBlocking] {
        let formula = GemmBlocking.forCaches(l1: l1, l2: l2, mr: mr, nr: nr)
        var kcs = [formula.kc]
        for kc in [768, 384, 256] where !kcs.contains(kc) { kcs.append(kc) }
        var mcs: [Int] = []
        for tiles in [2, 4, 8, 12, 20] { mcs.append(tiles * mr) }
        if !mcs.contains(formula.mc) { mcs.append(formula.mc) }
        var out = [formula]
        for kc in kcs {
            for mc in mcs {
                let b = GemmBlocking(kc: kc, mc: mc, nc: formula.nc, l2: formula.l2)
                if !out.contains(b) { out.append(b) }
            }
        }
        return out
    }

    /// Times `candidates` on `shapes` with `gemm` (one thread) and returns
    /// them fastest first. `rounds` passes over all candidates; each shape
    /// is run with a slice of at most `maxColumns` columns of C (the kernels
    /// sweep B's slivers one after another, so a slice behaves like the
    /// whole, at a fraction of the time).
    ///
    /// With `coldBytes` > 0 each run reads its weights from the next of as
    /// many copies as fill that many bytes (all shapes together), so that
    /// they come from beyond L2,
    /// as a model's layers do: with weights in cache, splitting the rows
    /// into small blocks looked fastest, while in a model each block then
    /// streams the weights from memory again (ViT-B, Xeon: mc 96 was 5–8 %
    /// slower end to end than one block of all rows).
    public static func measure(gemm: (GemmArgs) -> Void, shapes: [Shape], candidates: [GemmBlocking],
                               rounds: Int, maxColumns: Int = 256, coldBytes: Int = 0,
                               clock: () -> Double) -> [Result] {
        guard !candidates.isEmpty, !shapes.isEmpty else { return [] }
        let maxScratch = candidates.map(\.scratchFloats).max() ?? 0
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: maxScratch)
        scratch.initialize(repeating: 0, count: maxScratch)
        defer { scratch.deallocate() }
        struct Buffers { var a, b, c: UnsafeMutablePointer<Float>; var shape: Shape; var copies: Int; var count: Int }
        let buffers: [Buffers] = shapes.map { s0 in
            var s = s0
            s.n = min(s.n, maxColumns)
            let a = UnsafeMutablePointer<Float>.allocate(capacity: max(1, s.m * s.k))
            for i in 0..<(s.m * s.k) { a[i] = Float(i % 17) * 0.01 - 0.08 }
            let count = GemmLayout.packedCount(n: s.n, k: s.k)
            let copies = max(1, coldBytes / max(1, count * 4 * shapes.count))
            let b = UnsafeMutablePointer<Float>.allocate(capacity: max(1, count * copies))
            for i in 0..<(count * copies) { b[i] = Float(i % 13) * 0.01 - 0.06 }
            let c = UnsafeMutablePointer<Float>.allocate(capacity: max(1, s.m * s.n))
            c.initialize(repeating: 0, count: s.m * s.n)
            return Buffers(a: a, b: b, c: c, shape: s, copies: copies, count: count)
        }
        defer { for b in buffers { b.a.deallocate(); b.b.deallocate(); b.c.deallocate() } }
        var best = [[Double]](repeating: [Double](repeating: .infinity, count: shapes.count), count: candidates.count)
        var run = 0
        for round in 0..<max(1, rounds) {
            // Alternate the direction, so that no candidate always follows the same one.
            let order = round % 2 == 0 ? Array(candidates.indices) : candidates.indices.reversed()
            for ci in order {
                for (si, buf) in buffers.enumerated() {
                    let s = buf.shape
                    let b = buf.b + (run % buf.copies) * buf.count
                    run += 1
                    let g = GemmArgs(m: s.m, n: s.n, k: s.k, a: buf.a, lda: s.k, b: b, c: buf.c, ldc: s.n,
                                     epilogue: GemmEpilogue(), blocking: candidates[ci],
                                     scratch: scratch, scratchStride: maxScratch)
                    let t0 = clock()
                    gemm(g)
                    best[ci][si] = min(best[ci][si], clock() - t0)
                }
            }
        }
        let results = candidates.indices.map { Result(blocking: candidates[$0], seconds: best[$0].reduce(0, +)) }
        return results.sorted { $0.seconds < $1.seconds }
    }

    /// The fastest of `results`, unless it beats the first candidate (the
    /// formula's) by less than `margin`: a near tie is noise, not a finding.
    public static func choose(_ results: [Result], preferred: GemmBlocking, margin: Double = 0.03) -> GemmBlocking {
        guard let fastest = results.first else { return preferred }
        if let p = results.first(where: { $0.blocking == preferred }), p.seconds <= fastest.seconds * (1 + margin) {
            return preferred
        }
        return fastest.blocking
    }
}
