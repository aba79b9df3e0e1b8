import CTesseraCPU

/// The units of work, out of 0..<count, that thread t of nt does: taken from
/// the shared counter as threads finish (when there is one and more than one
/// thread), so that a thread slowed by another process does not hold the
/// others up; otherwise a static, contiguous share. Two threads take their
/// units from opposite ends (the counter only says how many are left), so
/// that each walks the weights as one contiguous stream, up or down, which
/// the hardware prefetchers follow: 0.4–2.8 % faster runs on the Xeon
/// (interleaved, per-pair medians; DINOv3-S and DINOv2-S at 518 level).
/// Use: `var units = WorkUnits(...); while let u = units.next() { ... }`.
struct WorkUnits {
    let count: Int
    let counter: UnsafeMutablePointer<Int>?
    var nextStatic: Int
    let endStatic: Int
    /// Two threads: thread 0 takes units from the front, thread 1 from the back.
    let twoEnded: Bool, thread: Int
    var taken = 0

    @inline(__always)
    init(_ count: Int, counter: UnsafeMutablePointer<Int>?, thread t: Int, of nt: Int) {
        self.count = count
        self.counter = nt > 1 ? counter : nil
        nextStatic = t * count / nt
        endStatic = (t + 1) * count / nt
        twoEnded = nt == 2
        thread = t
    }

    @inline(__always)
    mutating func next() -> Int? {
        if let counter {
            let u = tessera_next_chunk(counter)
            guard u < count else { return nil }
            if twoEnded {
                taken += 1
                return thread == 0 ? taken - 1 : count - taken
            }
            return u
        }
        if nextStatic >= endStatic { return nil }
        nextStatic += 1
        return nextStatic - 1
    }
}
