import CTesseraCPU

/// The units of work, out of 0..<count, that thread t of nt does: taken from
/// the shared counter as threads finish (when there is one and more than one
/// thread), so that a thread slowed by another process does not hold the
/// others up; otherwise a static, contiguous share.
/// Use: `var units = WorkUnits(...); while let u = units.next() { ... }`.
struct WorkUnits {
    let count: Int
    let counter: UnsafeMutablePointer<Int>?
    var nextStatic: Int
    let endStatic: Int

    @inline(__always)
    init(_ count: Int, counter: UnsafeMutablePointer<Int>?, thread t: Int, of nt: Int) {
        self.count = count
        self.counter = nt > 1 ? counter : nil
        nextStatic = t * count / nt
        endStatic = (t + 1) * count / nt
    }

    @inline(__always)
    mutating func next() -> Int? {
        if let counter {
            let u = tessera_next_chunk(counter)
            return u < count ? u : nil
        }
        if nextStatic >= endStatic { return nil }
        nextStatic += 1
        return nextStatic - 1
    }
}
