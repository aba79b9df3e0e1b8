#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import TesseraKernelCore
import TesseraKernelsAVX2
import TesseraKernelsAVX512
import TesseraKernelsPortable
import CTesseraCPU

/// GEMM GFLOP/s on the ViT shapes for every kernel variant this CPU runs,
/// against the FMA peak of the same variant measured in the same run.
/// Usage: tessera-gemm-bench [--quick] [--cold] [--residual | --gelu-epilogue]
/// [--kc N] [--mc N] [--shape MxKxN ...]; or --tune, --compare kc:mc,...,
/// --attention, --int8, --gelu, --threads 2, --lda-ab (see each below).

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

func readSize(_ path: String) -> Int? {
    guard let f = fopen(path, "r") else { return nil }
    defer { fclose(f) }
    var buf = [CChar](repeating: 0, count: 32)
    guard fgets(&buf, 32, f) != nil else { return nil }
    var s = String(cString: buf).filter { !$0.isWhitespace }
    var mult = 1
    if s.hasSuffix("K") { mult = 1024; s.removeLast() } else if s.hasSuffix("M") { mult = 1 << 20; s.removeLast() }
    return Int(s).map { $0 * mult }
}

/// Fixed-point formatting without Foundation.
func fixed(_ x: Double, _ decimals: Int = 1, width: Int = 0) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let v = (x * scale).rounded() / scale
    var s = String(Int(v))
    if decimals > 0 {
        var frac = String(Int((abs(v) - abs(Double(Int(v)))) * scale + 0.5))
        while frac.count < decimals { frac = "0" + frac }
        s += "." + frac
    }
    return String(repeating: " ", count: max(0, width - s.count)) + s
}
func pad(_ n: Int, _ width: Int) -> String { let s = String(n); return String(repeating: " ", count: max(0, width - s.count)) + s }

let args = CommandLine.arguments
let quick = args.contains("--quick")
let cold = args.contains("--cold")
let residualEpilogue = args.contains("--residual")
let geluEpilogue = args.contains("--gelu-epilogue")
let l1 = readSize("/sys/devices/system/cpu/cpu0/cache/index0/size") ?? 32768
let l2 = readSize("/sys/devices/system/cpu/cpu0/cache/index2/size") ?? 524288

var variants: [(KernelTable, (Int, () -> Double) -> Double)] = [(TesseraKernelsPortable.VariantKernels.table, { TesseraKernelsPortable.VariantKernels.fmaPeak(iterations: $0, clock: $1) })]
if tessera_cpu_has_avx2_fma() != 0 { variants.append((TesseraKernelsAVX2.VariantKernels.table, { TesseraKernelsAVX2.VariantKernels.fmaPeak(iterations: $0, clock: $1) })) }
if tessera_cpu_has_avx512() != 0 { variants.append((TesseraKernelsAVX512.VariantKernels.table, { TesseraKernelsAVX512.VariantKernels.fmaPeak(iterations: $0, clock: $1) })) }
if quick { variants.removeFirst() }

// --shape MxKxN (repeatable): these shapes instead of the ViT ones.
var given: [(Int, Int, Int)] = []
for (i, a) in args.enumerated() where a == "--shape" && i + 1 < args.count {
    let p = args[i + 1].split(separator: "x").compactMap { Int($0) }
    if p.count == 3 { given.append((p[0], p[1], p[2])) }
}
let shapes: [(Int, Int, Int)] = !given.isEmpty ? given : quick
    ? [(197, 768, 2304), (197, 3072, 768), (197, 768, 3072)]
    : [(197, 768, 2304), (197, 768, 768), (197, 768, 3072), (197, 3072, 768),
       (257, 384, 1152), (257, 384, 384), (257, 384, 1536), (257, 1536, 384),
       (1576, 768, 2304), (1576, 3072, 768)]

// --gelu: ns per element of GELU and exp (AVX2, and AVX-512 where the CPU
// has it) over 4096 floats.
if args.contains("--gelu") && tessera_cpu_has_avx2_fma() != 0 {
    // Within L1: the cost of the arithmetic, not of the memory.
    let n = 4096
    let x = UnsafeMutablePointer<Float>.allocate(capacity: n), y = UnsafeMutablePointer<Float>.allocate(capacity: n)
    for i in 0..<n { x[i] = Float(i % 1000) / 100 - 5 }
    var kernels = [("avx2 gelu", TesseraKernelsAVX2.VariantKernels.gelu), ("avx2 exp", TesseraKernelsAVX2.VariantKernels.exp)]
    if tessera_cpu_has_avx512() != 0 {
        kernels += [("avx512 gelu", TesseraKernelsAVX512.VariantKernels.gelu), ("avx512 exp", TesseraKernelsAVX512.VariantKernels.exp)]
    }
    for (name, f) in kernels {
        f(x, y, n)
        let t0 = now()
        for _ in 0..<3000 { f(x, y, n) }
        let ns = (now() - t0) / Double(3000 * n) * 1e9
        print("\(name): \(fixed(ns, 3)) ns per element")
    }
    exit(0)
}

func intOption(_ name: String) -> Int? {
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    return Int(args[i + 1])
}

// --tune [--rounds R] [--columns N]: times the blocking tuner's candidates on
// the shapes (interleaved, fastest of R rounds) and prints them fastest first.
if args.contains("--tune") {
    let rounds = intOption("--rounds") ?? 5, columns = intOption("--columns") ?? 256
    for (table, _) in variants where table.isa != .portable {
        let cands = BlockingTuner.candidates(l1: l1, l2: l2, mr: table.gemmMR, nr: table.gemmNR)
        let tuneShapes = shapes.map { BlockingTuner.Shape(m: $0.0, k: $0.1, n: $0.2) }
        let flops = tuneShapes.reduce(0.0) { $0 + 2.0 * Double($1.m * $1.k * min($1.n, columns)) }
        let t0 = now()
        let results = BlockingTuner.measure(gemm: { table.gemm($0, 0, 1) }, shapes: tuneShapes, candidates: cands,
                                            rounds: rounds, maxColumns: columns, coldBytes: cold ? 32 << 20 : 0, clock: now)
        let chosen = BlockingTuner.choose(results, preferred: cands[0])
        print("\n\(table.name): \(cands.count) candidates, \(rounds) rounds, \(fixed(now() - t0, 2)) s; chosen kc \(chosen.kc) mc \(chosen.mc)")
        print("     kc     mc   GFLOP/s")
        for r in results.prefix(12) {
            print("\(pad(r.blocking.kc, 7)) \(pad(r.blocking.mc, 6)) \(fixed(flops / r.seconds / 1e9, width: 9))\(r.blocking == cands[0] ? "  (formula)" : "")")
        }
        if let f = results.firstIndex(where: { $0.blocking == cands[0] }), f >= 12 {
            print("formula kc \(cands[0].kc) mc \(cands[0].mc): \(fixed(flops / results[f].seconds / 1e9)) GFLOP/s, rank \(f + 1)")
        }
    }
    exit(0)
}

// --int8 [--cold]: the int8 GEMM of every tile this CPU runs, in GOPS (2 ops
// per multiply-add) against the peak of the tile's own dot-product
// instruction; --cold reads the weights from memory on every call.
if args.contains("--int8") {
    print("L1d \(l1 / 1024) KiB, L2 \(l2 / 1024) KiB; one thread; int8 GEMM, A quantized by rows (time excluded, shown apart)")
    let rowBlock = intOption("--rows") ?? max(12, l2 / 2 / 3072)
    for (table, _) in variants {
        for tile in table.int8Tiles {
            var peak = 0.0
            if let probe = tile.probe {
                let n = 20_000_000 / tile.nr
                _ = probe(n / 10)
                for _ in 0..<3 {
                    let t0 = now()
                    _ = probe(n)
                    peak = max(peak, Double(n) * 12 * 2 * Double(tile.nr) * 2 / (now() - t0) / 1e9)
                }
            }
            print("\n\(table.name) \(tile.name): peak \(fixed(peak)) GOPS; row block \(rowBlock)")
            print("      M     K     N      GOPS   % peak   quantize ms")
            for (m, k, n) in shapes {
                let x = UnsafeMutablePointer<Float>.allocate(capacity: m * k)
                for i in 0..<(m * k) { x[i] = Float(i % 17) * 0.01 - 0.05 }
                let qa = UnsafeMutableRawPointer.allocate(byteCount: 4 * Int8Layout.activationFloats(m: m, k: k), alignment: 64)
                    .bindMemory(to: Float.self, capacity: Int8Layout.activationFloats(m: m, k: k))
                let q = QuantizeArgs(x: x, ldx: k, rows: m, k: k, levels: tile.levels,
                                     rotation: Int8Rotation.block(k: k), buffer: qa)
                table.quantizeRows(q, 0, 1)
                var qbest = Double.infinity
                for _ in 0..<5 { let t0 = now(); table.quantizeRows(q, 0, 1); qbest = min(qbest, now() - t0) }
                // Cache-line aligned, as a model's weights are.
                // --cold: as many copies as fill 64 MiB, one per call, so that
                // each call reads its weights from memory, as a model's layers do.
                let bytes = Int8Layout.packedBytes(n: n, k: k)
                let copies = cold ? max(1, (64 << 20) / bytes) : 1
                let packed = UnsafeMutableRawPointer.allocate(byteCount: bytes * copies, alignment: 64)
                    .bindMemory(to: Int8.self, capacity: bytes * copies)
                let scales = UnsafeMutablePointer<Float>.allocate(capacity: Int8Layout.paddedColumns(n))
                let sums = UnsafeMutablePointer<Int32>.allocate(capacity: Int8Layout.paddedColumns(n))
                Int8Layout.quantizeWeights(n: n, k: k, weight: { Float(($0 * 7 + $1) % 13) * 0.01 - 0.06 },
                                           packed: packed, scales: scales, sums: sums)
                for c in 1..<copies { (packed + c * bytes).update(from: packed, count: bytes) }
                let c = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
                let bias = UnsafeMutablePointer<Float>.allocate(capacity: n)
                bias.initialize(repeating: 0.1, count: n)
                let residual = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
                residual.initialize(repeating: 0.5, count: m * n)
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: Int8GemmArgs.scratchFloats)
                let epilogue = residualEpilogue ? GemmEpilogue(bias: bias, scale: bias, addend: residual, ldAddend: n)
                    : GemmEpilogue(bias: bias, activation: geluEpilogue ? .gelu : .none)
                func gemmArgs(_ copy: Int) -> Int8GemmArgs {
                    Int8GemmArgs(m: m, n: n, k: k, a: qa, b: Int8Weights(packed: packed + (copy % copies) * bytes, scales: scales, sums: sums),
                                 tile: tile, c: c, ldc: n, epilogue: epilogue, rowBlock: rowBlock,
                                 scratch: scratch, scratchStride: Int8GemmArgs.scratchFloats)
                }
                let g = gemmArgs(0)
                let ops = 2.0 * Double(m * n * k)
                let reps = max(3, Int(4e9 / ops))
                table.int8Gemm(g, 0, 1)
                var best = Double.infinity
                for _ in 0..<3 {
                    let t0 = now()
                    for r in 0..<reps { table.int8Gemm(gemmArgs(r + 1), 0, 1) }
                    best = min(best, (now() - t0) / Double(reps))
                }
                let gops = ops / best / 1e9
                print("\(pad(m, 7)) \(pad(k, 5)) \(pad(n, 5)) \(fixed(gops, width: 9)) \(fixed(peak > 0 ? 100 * gops / peak : 0, width: 8)) \(fixed(qbest * 1e3, 3, width: 13))")
                x.deallocate(); qa.deallocate(); packed.deallocate(); scales.deallocate(); sums.deallocate()
                c.deallocate(); bias.deallocate(); residual.deallocate(); scratch.deallocate()
            }
        }
    }
    exit(0)
}

// --attention [--rounds R] [--sharp]: the fused attention of one image on
// ViT shapes, one thread, GFLOP/s of QKᵀ and PV (fastest and median of R runs).
if args.contains("--attention") {
    let rounds = intOption("--rounds") ?? 30
    // --sharp: scores spread over more than 87 (sharply peaked attention).
    let spread: Float = args.contains("--sharp") ? 12 : 1
    for (table, _) in variants {
        let blocking = GemmBlocking.forCaches(l1: l1, l2: l2, mr: table.gemmMR, nr: table.gemmNR)
        print("\(table.isa.name) attention, \(rounds) runs per shape")
        for (T, heads, dh) in [(197, 12, 64), (257, 6, 64), (577, 12, 64), (1370, 6, 64)] {
            let D = heads * dh
            let qkv = UnsafeMutablePointer<Float>.allocate(capacity: T * 3 * D)
            for i in 0..<(T * 3 * D) { qkv[i] = (Float((i * 7919) % 1000) * 0.002 - 1) * spread }
            let out = UnsafeMutablePointer<Float>.allocate(capacity: T * D)
            let sf = AttentionArgs.scratchFloats(tokens: T, headDim: dh, mr: table.gemmMR, nr: table.gemmNR)
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: sf)
            scratch.initialize(repeating: 0, count: sf)
            let at = AttentionArgs(qkv: qkv, ldqkv: 3 * D, out: out, ldo: D, batch: 1, tokens: T, heads: heads, headDim: dh,
                                   scale: 0.125, blocking: blocking, scratch: scratch, scratchStride: sf)
            var times: [Double] = []
            for _ in 0..<rounds { let t0 = now(); table.attention(at, 0, 1); times.append(now() - t0) }
            times.sort()
            let flops = 4.0 * Double(heads * T * T * dh)
            print("T \(pad(T, 4)) heads \(pad(heads, 2)) dh \(dh): fastest \(fixed(flops / times[0] / 1e9)) median \(fixed(flops / times[times.count / 2] / 1e9)) GFLOP/s")
            qkv.deallocate(); out.deallocate(); scratch.deallocate()
        }
    }
    exit(0)
}

/// Floats mapped as the runtime maps its arena and weights (AlignedBuffer:
/// whole pages from mmap; from 2 MiB up, on a 2 MiB boundary with
/// transparent huge pages asked for), so that the kernels meet the TLB as
/// they do in a session. (With malloc's 4 KiB pages the 14 MiB C of a
/// batch-of-8 ViT-B GEMM took a TLB miss for most rows of a tile: 4-5 %.)
func mapFloats(_ n: Int) -> UnsafeMutablePointer<Float> {
    let bytes = (max(n, 1) * 4 + 4095) / 4096 * 4096, huge = 2 << 20
    let mapped = bytes >= huge ? bytes + huge : bytes
    guard let m = mmap(nil, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), m != MAP_FAILED else {
        fatalError("mmap of \(bytes) bytes failed")
    }
    guard bytes >= huge else { return m.bindMemory(to: Float.self, capacity: max(n, 1)) }
    let head = (huge - Int(bitPattern: m) % huge) % huge
    if head > 0 { munmap(m, head) }
    if mapped - head - bytes > 0 { munmap(m + head + bytes, mapped - head - bytes) }
    madvise(m + head, bytes, 14 /* MADV_HUGEPAGE */)
    return (m + head).bindMemory(to: Float.self, capacity: max(n, 1))
}

func unmapFloats(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
    munmap(UnsafeMutableRawPointer(p), (max(n, 1) * 4 + 4095) / 4096 * 4096)
}

/// One GEMM shape's operands: A, the packed weights (with --cold, as many
/// copies as fill 64 MiB, so that each call reads its weights from memory,
/// as a model's layers do), C, and the epilogue's bias and residual.
final class GemmOperands {
    let m: Int, k: Int, n: Int
    let a: UnsafeMutablePointer<Float>, packed: UnsafeMutablePointer<Float>
    let c: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>, residual: UnsafeMutablePointer<Float>
    let scratch: UnsafeMutablePointer<Float>, scratchFloats: Int
    let packedCount: Int, copies: Int
    let lda: Int

    init(m: Int, k: Int, n: Int, scratchFloats: Int, ldaPad: Int = 0) {
        self.m = m; self.k = k; self.n = n; self.scratchFloats = scratchFloats
        let lda = k + ldaPad
        self.lda = lda
        a = mapFloats(m * lda)
        for i in 0..<(m * lda) { a[i] = Float(i % 17) * 0.01 }
        packedCount = GemmLayout.packedCount(n: n, k: k)
        copies = cold ? max(1, (64 << 20) / (packedCount * 4)) : 1
        packed = mapFloats(packedCount * copies)
        let w = UnsafeMutablePointer<Float>.allocate(capacity: n * k)
        for i in 0..<(n * k) { w[i] = Float(i % 13) * 0.01 }
        for c in 0..<copies { GemmLayout.packWeights(w, n: n, k: k, ldw: k, into: packed + c * packedCount) }
        w.deallocate()
        c = mapFloats(m * n)
        bias = .allocate(capacity: n)
        bias.initialize(repeating: 0.1, count: n)
        residual = mapFloats(m * n)
        residual.initialize(repeating: 0.5, count: m * n)
        scratch = .allocate(capacity: scratchFloats)
    }

    deinit {
        unmapFloats(a, m * lda); unmapFloats(packed, packedCount * copies); unmapFloats(c, m * n); unmapFloats(residual, m * n)
        bias.deallocate(); scratch.deallocate()
    }

    /// The GEMM reading weight copy `copy` (modulo the copies).
    /// --residual: bias, layer scale and residual add (a block's fc2);
    /// --gelu-epilogue: bias + GELU (fc1).
    func args(_ blocking: GemmBlocking, copy: Int = 0) -> GemmArgs {
        let epilogue = residualEpilogue ? GemmEpilogue(bias: bias, scale: bias, addend: residual, ldAddend: n)
            : GemmEpilogue(bias: bias, activation: geluEpilogue ? .gelu : .none)
        return GemmArgs(m: m, n: n, k: k, a: a, lda: lda, b: packed + (copy % copies) * packedCount, c: c, ldc: n,
                        epilogue: epilogue, blocking: blocking, scratch: scratch, scratchStride: scratchFloats)
    }
}

/// The cache formula's blocking for a variant, with --kc, --mc and --nc
/// overriding its parts.
func chosenBlocking(_ table: KernelTable) -> GemmBlocking {
    var blocking = GemmBlocking.forCaches(l1: l1, l2: l2, mr: table.gemmMR, nr: table.gemmNR)
    if let v = intOption("--kc") { blocking.kc = v }
    if let v = intOption("--mc") { blocking.mc = v }
    if let v = intOption("--nc") { blocking.nc = v }
    return blocking
}

/// A second thread that runs one job at a time when told, spinning between
/// jobs (as the session's pool does during a run): for --threads 2.
final class Partner: @unchecked Sendable {
    private let started = Atomic<Int>(0), finished = Atomic<Int>(0)
    private var job: () -> Void = {}

    init() {
        let thread = Thread { [unowned self] in
            var seen = 0
            while true {
                while started.load(ordering: .acquiring) == seen {}
                seen += 1
                job()
                finished.store(seen, ordering: .releasing)
            }
        }
        thread.start()
    }

    /// Runs `mine` here and `theirs` on the partner, and returns when both end.
    func together(_ mine: () -> Void, _ theirs: @escaping () -> Void) {
        job = theirs
        let n = started.add(1, ordering: .releasing).newValue
        mine()
        while finished.load(ordering: .acquiring) != n {}
    }
}

// --threads 2: the shapes on two threads sharing the columns through the
// session's counter, as a model's GEMMs run, against one thread, alternating
// (fastest of 3 rounds each); the widest variant. --kc, --mc and --nc apply,
// as to the one-thread table.
if let threads = intOption("--threads") {
    guard threads == 2 else {
        print("--threads \(threads): only 2 is supported (two threads against one)")
        exit(2)
    }
    let (table, peak) = variants.last!
    let p = (0..<3).map { _ in peak(50_000_000 / 16, now) }.max()!
    let blocking = chosenBlocking(table)
    let partner = Partner()
    let counter = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    print("\(table.isa.name), one thread's FMA peak \(fixed(p)) GFLOP/s; one and two threads")
    print("      M     K     N   1 thread  2 threads  (GFLOP/s)  2 / (2 x 1)")
    for (m, k, n) in shapes {
        let ops = GemmOperands(m: m, k: k, n: n, scratchFloats: 2 * blocking.scratchFloats)
        let flops = 2.0 * Double(m * n * k)
        let reps = max(3, Int(2e9 / flops))
        var one = Double.infinity, two = Double.infinity
        for _ in 0..<3 {
            var t0 = now()
            for r in 0..<reps { table.gemm(ops.args(blocking, copy: r), 0, 1) }
            one = min(one, (now() - t0) / Double(reps))
            t0 = now()
            for r in 0..<reps {
                var g = ops.args(blocking, copy: r)
                g.scratchStride = blocking.scratchFloats
                g.counter = counter
                counter.pointee = 0
                let shared = g
                partner.together({ table.gemm(shared, 0, 2) }, { table.gemm(shared, 1, 2) })
            }
            two = min(two, (now() - t0) / Double(reps))
        }
        let g1 = flops / one / 1e9, g2 = flops / two / 1e9
        print("\(pad(m, 7)) \(pad(k, 5)) \(pad(n, 5)) \(fixed(g1, width: 10)) \(fixed(g2, width: 10)) \(fixed(g2 / (2 * g1), 3, width: 21))")
    }
    exit(0)
}

// --lda-ab [--rounds R]: each shape with A's rows k floats apart and k + 16 apart (one
// cache line more: rows a multiple of 4 KiB apart put the tile's twelve
// rows of A in one L1 set), one call each in turn; medians and the
// per-pair time ratio (see docs/architecture.md, "Tried and dropped").
if args.contains("--lda-ab") {
    let rounds = max(1, intOption("--rounds") ?? 60)
    let (table, _) = variants.last!
    let blocking = GemmBlocking.forCaches(l1: l1, l2: l2, mr: table.gemmMR, nr: table.gemmNR)
    for (m, k, n) in shapes {
        let o0 = GemmOperands(m: m, k: k, n: n, scratchFloats: blocking.scratchFloats)
        let o1 = GemmOperands(m: m, k: k, n: n, scratchFloats: blocking.scratchFloats, ldaPad: 16)
        var t0s: [Double] = [], t1s: [Double] = [], ratios: [Double] = []
        for r in 0..<rounds {
            var t = now(); table.gemm(o0.args(blocking, copy: r), 0, 1); let a = now() - t
            t = now(); table.gemm(o1.args(blocking, copy: r), 0, 1); let b = now() - t
            t0s.append(a); t1s.append(b); ratios.append(a / b)
        }
        t0s.sort(); t1s.sort(); ratios.sort()
        let f = 2.0 * Double(m * n * k) / 1e9
        let mid = rounds / 2
        print("\(m)x\(k)x\(n): lda=k med \(fixed(f / t0s[mid])) best \(fixed(f / t0s[0])); lda=k+16 med \(fixed(f / t1s[mid])) best \(fixed(f / t1s[0])) GFLOP/s; per-pair (k)/(k+16) time median \(fixed(ratios[mid], 3))")
    }
    exit(0)
}

// --compare kc:mc,kc:mc,... [--rounds R]: these blockings on the widest
// variant, one GEMM each in turn (so that a noisy host slows them alike),
// each with this CPU's L2 or with kc:mc:KiB's (0: mc rows at any depth);
// --variant NAME for another variant than the widest;
// GFLOP/s fastest, median and 90th percentile (slowest tenth).
if let i = args.firstIndex(of: "--compare"), i + 1 < args.count {
    let rounds = intOption("--rounds") ?? 40
    // --variant NAME: that variant instead of the widest.
    let wanted = args.firstIndex(of: "--variant").flatMap { $0 + 1 < args.count ? args[$0 + 1] : nil }
    guard let table = wanted.map({ w in variants.first { $0.0.name == w }?.0 }) ?? variants.last?.0 else {
        print("--variant: one of \(variants.map { $0.0.name }.joined(separator: ", "))"); exit(2)
    }
    let formula = GemmBlocking.forCaches(l1: l1, l2: l2, mr: table.gemmMR, nr: table.gemmNR)
    let fields: [[Int]] = args[i + 1].split(separator: ",").map { $0.split(separator: ":").compactMap { Int($0) } }
    let blockings: [GemmBlocking] = fields.filter { $0.count == 2 || $0.count == 3 }.map { (f: [Int]) -> GemmBlocking in
        GemmBlocking(kc: f[0], mc: f[1], nc: formula.nc, l2: f.count == 3 ? f[2] << 10 : formula.l2)
    }
    func label(_ b: GemmBlocking) -> String { "\(b.kc):\(b.mc)" + (b.l2 == formula.l2 ? "" : ":\(b.l2 >> 10)") }
    guard !blockings.isEmpty else { print("--compare takes kc:mc[:l2KiB][,kc:mc[:l2KiB]...]"); exit(2) }
    let maxScratch = blockings.map(\.scratchFloats).max()!
    print("\(table.isa.name): \(rounds) rounds, blockings \(blockings.map(label).joined(separator: " ")), weights \(cold ? "from memory" : "in cache")")
    for (m, k, n) in shapes {
        let ops = GemmOperands(m: m, k: k, n: n, scratchFloats: maxScratch)
        var times = [[Double]](repeating: [], count: blockings.count)
        var run = 0
        for _ in 0..<rounds {
            for vi in blockings.indices {
                let g = ops.args(blockings[vi], copy: run)
                run += 1
                let t0 = now(); table.gemm(g, 0, 1); times[vi].append(now() - t0)
            }
        }
        let flops = 2.0 * Double(m * n * k)
        var line = "\(pad(m, 5)) \(pad(k, 5)) \(pad(n, 5))"
        for vi in blockings.indices {
            let t = times[vi].sorted()
            line += "   \(label(blockings[vi])) fastest \(fixed(flops / t[0] / 1e9)) med \(fixed(flops / t[t.count / 2] / 1e9)) p90 \(fixed(flops / t[t.count * 9 / 10] / 1e9))"
        }
        print(line)
    }
    exit(0)
}

print("L1d \(l1 / 1024) KiB, L2 \(l2 / 1024) KiB; one thread; M x K x N, C = A·Bᵀ with packed B")
for (table, peak) in variants {
    let p = (0..<3).map { _ in peak(50_000_000 / 16, now) }.max()!
    let blocking = chosenBlocking(table)
    print("\n\(table.isa.name): FMA peak \(fixed(p)) GFLOP/s; tile \(table.gemmMR)x\(table.gemmNR), kc \(blocking.kc), mc \(blocking.mc), nc \(blocking.nc)")
    print("      M     K     N   GFLOP/s   % peak")
    for (m, k, n) in shapes {
        let ops = GemmOperands(m: m, k: k, n: n, scratchFloats: blocking.scratchFloats)
        let flops = 2.0 * Double(m * n * k)
        let reps = max(3, Int(2e9 / flops))
        table.gemm(ops.args(blocking), 0, 1)
        var best = Double.infinity
        for _ in 0..<3 {
            let t0 = now()
            for r in 0..<reps { table.gemm(ops.args(blocking, copy: r), 0, 1) }
            best = min(best, (now() - t0) / Double(reps))
        }
        let gf = flops / best / 1e9
        print("\(pad(m, 7)) \(pad(k, 5)) \(pad(n, 5)) \(fixed(gf, width: 9)) \(fixed(100 * gf / p, width: 8))")
    }
}
