#if canImport(Glibc)
import Glibc
#endif

/// Monotonic time in seconds.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// A progress bar on standard error: "[#####.....]  12/100  34.5 images/s".
/// On a terminal it is redrawn in place (at most ten times a second); when
/// standard error is not a terminal, only the final summary line is written.
final class ProgressBar {
    let total: Int
    let width = 30
    let start = now()
    let interactive: Bool
    private var lastDraw = 0.0
    private(set) var done = 0

    init(total: Int, interactive: Bool = isatty(2) != 0) {
        self.total = total
        self.interactive = interactive
    }

    var rate: Double {
        let t = now() - start
        return t > 0 ? Double(done) / t : 0
    }

    static func bar(done: Int, total: Int, width: Int) -> String {
        let filled = total > 0 ? min(width, done * width / total) : width
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
    }

    func line() -> String {
        let n = String(total).count
        let count = String(repeating: " ", count: max(0, n - String(done).count)) + "\(done)/\(total)"
        return "\(ProgressBar.bar(done: done, total: total, width: width)) \(count)  \(fixed(rate, 1)) images/s"
    }

    func update(done: Int) {
        self.done = done
        guard interactive else { return }
        let t = now()
        if t - lastDraw >= 0.1 || done == total {
            lastDraw = t
            printError("\r" + line())
        }
    }

    /// Ends the bar with a summary line.
    func finish(_ summary: String) {
        if interactive { printError("\r" + line() + "\n") }
        printError(summary + "\n")
    }
}
