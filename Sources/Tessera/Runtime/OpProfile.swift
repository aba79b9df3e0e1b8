#if canImport(Glibc)
import Glibc
#endif

/// Time per op of a session's runs, when TESSERA_PROFILE is set at session
/// creation; printed to stderr, grouped by op kind, when the session is
/// freed. Preallocated, so runs still allocate nothing.
final class OpProfile {
    private let seconds: UnsafeMutablePointer<Double>
    private let count: Int
    private let labels: [String]
    private var runs = 0

    init?(labels: [String]) {
        guard getenv("TESSERA_PROFILE") != nil else { return nil }
        self.labels = labels
        count = labels.count
        seconds = .allocate(capacity: max(1, count))
        seconds.initialize(repeating: 0, count: max(1, count))
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    func add(_ op: Int, _ s: Double) { seconds[op] += s }
    func finishRun() { runs += 1 }

    deinit {
        defer { seconds.deallocate() }
        guard runs > 0 else { return }
        var order: [String] = [], totals: [String: Double] = [:]
        for i in 0..<count {
            if totals[labels[i]] == nil { order.append(labels[i]) }
            totals[labels[i], default: 0] += seconds[i]
        }
        let all = totals.values.reduce(0, +)
        var text = "tessera profile: \(runs) run\(runs == 1 ? "" : "s"), \(milliseconds(all / Double(runs))) ms per run\n"
        for label in order.sorted(by: { totals[$0]! > totals[$1]! }) {
            let t = totals[label]!
            text += "  \(label): \(milliseconds(t / Double(runs))) ms (\(Int((100 * t / max(all, 1e-12)).rounded())) %)\n"
        }
        fputs(text, stderr)
    }

    private func milliseconds(_ s: Double) -> String {
        let v = (s * 10_000).rounded() / 10
        return String(v)
    }
}
