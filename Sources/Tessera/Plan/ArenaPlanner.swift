/// Places buffers with known lifetimes in one arena: largest first, each at
/// the lowest offset where it overlaps no already-placed buffer that is live
/// at the same time (best fit among the gaps).
struct ArenaPlanner {
    struct Request {
        let name: String
        let floats: Int
        /// First and last op index (inclusive) at which the buffer is live.
        let first: Int
        let last: Int
    }

    struct Placement {
        let request: Request
        let offset: Int
    }

    /// Offsets are rounded to 16 floats (64 bytes).
    static let alignment = 16

    static func place(_ requests: [Request]) -> (placements: [Placement], total: Int) {
        let order = requests.indices.sorted {
            let a = requests[$0], b = requests[$1]
            return a.floats != b.floats ? a.floats > b.floats : $0 < $1
        }
        var placed: [Placement] = []
        var result = [Placement?](repeating: nil, count: requests.count)
        var total = 0
        for idx in order {
            let r = requests[idx]
            let size = (r.floats + alignment - 1) / alignment * alignment
            let conflicts = placed
                .filter { $0.request.first <= r.last && r.first <= $0.request.last }
                .sorted { $0.offset < $1.offset }
            var best: Int? = nil, bestGap = Int.max
            var cursor = 0
            for c in conflicts {
                let cSize = (c.request.floats + alignment - 1) / alignment * alignment
                if c.offset >= cursor {
                    let gap = c.offset - cursor
                    if gap >= size && gap < bestGap { best = cursor; bestGap = gap }
                }
                cursor = max(cursor, c.offset + cSize)
            }
            let offset = best ?? cursor
            let p = Placement(request: r, offset: offset)
            placed.append(p)
            result[idx] = p
            total = max(total, offset + size)
        }
        return (result.map { $0! }, total)
    }
}
