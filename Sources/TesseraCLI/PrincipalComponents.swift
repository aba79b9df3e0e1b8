/// The first principal components of a set of feature vectors, in double:
/// the standard way DINO features are shown (the top three as RGB).
enum PrincipalComponents {
    /// The `k` leading eigenvectors of the covariance of `rows` × `dim`
    /// features (power iteration with deflation; each sign fixed so that the
    /// largest coefficient is positive), and each row's projection on them.
    static func project(_ x: [Float], rows: Int, dim: Int, k: Int = 3) -> (components: [[Double]], scores: [[Double]]) {
        var mean = [Double](repeating: 0, count: dim)
        for r in 0..<rows { for j in 0..<dim { mean[j] += Double(x[r * dim + j]) } }
        for j in 0..<dim { mean[j] /= Double(max(rows, 1)) }
        var cov = [Double](repeating: 0, count: dim * dim)
        var centered = [Double](repeating: 0, count: dim)
        for r in 0..<rows {
            for j in 0..<dim { centered[j] = Double(x[r * dim + j]) - mean[j] }
            for i in 0..<dim {
                let ci = centered[i]
                if ci == 0 { continue }
                for j in i..<dim { cov[i * dim + j] += ci * centered[j] }
            }
        }
        for i in 0..<dim { for j in 0..<i { cov[i * dim + j] = cov[j * dim + i] } }
        var components: [[Double]] = []
        for c in 0..<min(k, dim) {
            // Deterministic start, then power iteration on the deflated covariance.
            var v = (0..<dim).map { 1.0 + Double(($0 * 7 + c * 3) % 11) / 11 }
            var lambda = 0.0
            for _ in 0..<500 {
                var w = [Double](repeating: 0, count: dim)
                for i in 0..<dim {
                    var s = 0.0
                    for j in 0..<dim { s += cov[i * dim + j] * v[j] }
                    w[i] = s
                }
                let norm = w.reduce(0) { $0 + $1 * $1 }.squareRoot()
                if norm == 0 { break }
                let next = w.map { $0 / norm }
                let change = zip(next, v).reduce(0) { $0 + abs($1.0 - $1.1) }
                v = next
                lambda = norm
                if change < 1e-12 { break }
            }
            if let big = v.indices.max(by: { abs(v[$0]) < abs(v[$1]) }), v[big] < 0 { v = v.map { -$0 } }
            for i in 0..<dim { for j in 0..<dim { cov[i * dim + j] -= lambda * v[i] * v[j] } }
            components.append(v)
        }
        var scores = [[Double]](repeating: [], count: rows)
        for r in 0..<rows {
            scores[r] = components.map { comp in
                var s = 0.0
                for j in 0..<dim { s += (Double(x[r * dim + j]) - mean[j]) * comp[j] }
                return s
            }
        }
        return (components, scores)
    }

    /// Each component's scores mapped to 0...255 over its own 1st–99th
    /// percentile range (so that a few outliers do not wash the picture out).
    static func colors(_ scores: [[Double]]) -> [(UInt8, UInt8, UInt8)] {
        guard let k = scores.first?.count, k > 0 else { return [] }
        var lo = [Double](repeating: 0, count: 3), hi = [Double](repeating: 1, count: 3)
        for c in 0..<min(k, 3) {
            let sorted = scores.map { $0[c] }.sorted()
            lo[c] = sorted[Int(Double(sorted.count - 1) * 0.01)]
            hi[c] = sorted[Int(Double(sorted.count - 1) * 0.99)]
        }
        func level(_ v: Double, _ c: Int) -> UInt8 {
            guard c < k, hi[c] > lo[c] else { return 0 }
            return UInt8(max(0, min(255, ((v - lo[c]) / (hi[c] - lo[c]) * 255).rounded())))
        }
        return scores.map { (level($0[0], 0), level($0.count > 1 ? $0[1] : 0, 1), level($0.count > 2 ? $0[2] : 0, 2)) }
    }
}
