/// Patch matching between two images: mutual nearest neighbours by cosine
/// similarity, with an optional Lowe ratio test. Pure functions over arrays,
/// tested in Tests/TesseraTests/CLITests.swift.

struct PatchMatch: Equatable {
    /// Row index into A's features.
    var a: Int
    /// Row index into B's features.
    var b: Int
    /// Cosine similarity of the pair.
    var similarity: Float
}

enum Matcher {
    /// Divides each of the `rows` rows (of `dim` values) by its L2 norm;
    /// all-zero rows stay zero.
    static func l2Normalize(_ x: inout [Float], rows: Int, dim: Int) {
        precondition(x.count == rows * dim, "l2Normalize: size mismatch")
        for r in 0..<rows {
            var s: Float = 0
            for k in 0..<dim { s += x[r * dim + k] * x[r * dim + k] }
            let n = s.squareRoot()
            guard n > 0 else { continue }
            let inv = 1 / n
            for k in 0..<dim { x[r * dim + k] *= inv }
        }
    }

    /// Dot products of every row of `a` (rowsA x dim) with every row of `b`
    /// (rowsB x dim): a rowsA x rowsB matrix, row-major.
    static func similarities(_ a: [Float], rowsA: Int, _ b: [Float], rowsB: Int, dim: Int) -> [Float] {
        precondition(a.count == rowsA * dim && b.count == rowsB * dim, "similarities: size mismatch")
        var s = [Float](repeating: 0, count: rowsA * rowsB)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                s.withUnsafeMutableBufferPointer { ps in
                    for i in 0..<rowsA {
                        let ra = pa.baseAddress! + i * dim
                        for j in 0..<rowsB {
                            ps[i * rowsB + j] = dot(ra, pb.baseAddress! + j * dim, dim)
                        }
                    }
                }
            }
        }
        return s
    }

    @inline(__always)
    static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD8<Float>()
        var k = 0
        while k + 8 <= n {
            let vx = UnsafeRawPointer(x + k).loadUnaligned(as: SIMD8<Float>.self)
            let vy = UnsafeRawPointer(y + k).loadUnaligned(as: SIMD8<Float>.self)
            acc += vx * vy
            k += 8
        }
        var s = acc.sum()
        while k < n { s += x[k] * y[k]; k += 1 }
        return s
    }

    /// Mutual nearest neighbours: pairs (i, j) where j is i's most similar
    /// row of B and i is j's most similar row of A (ties go to the lower
    /// index). With `ratio` < 1, a pair is kept only if, among B, i's best
    /// match is clearly better than its second best (Lowe's test on the
    /// distances of unit vectors, d = sqrt(2 - 2 cos)): d1 < ratio * d2.
    /// Sorted by i.
    static func mutualNearestNeighbours(similarity s: [Float], rowsA: Int, rowsB: Int,
                                        ratio: Float = 1) -> [PatchMatch] {
        precondition(s.count == rowsA * rowsB, "mutualNearestNeighbours: size mismatch")
        guard rowsA > 0, rowsB > 0 else { return [] }
        var bestForA = [Int](repeating: 0, count: rowsA)
        var secondForA = [Float](repeating: -.infinity, count: rowsA)
        var bestForB = [Int](repeating: 0, count: rowsB)
        var bestSimB = [Float](repeating: -.infinity, count: rowsB)
        for i in 0..<rowsA {
            var best = -Float.infinity, second = -Float.infinity, arg = 0
            for j in 0..<rowsB {
                let v = s[i * rowsB + j]
                if v > best {
                    second = best; best = v; arg = j
                } else if v > second {
                    second = v
                }
                if v > bestSimB[j] { bestSimB[j] = v; bestForB[j] = i }
            }
            bestForA[i] = arg
            secondForA[i] = second
        }
        var out: [PatchMatch] = []
        for i in 0..<rowsA {
            let j = bestForA[i]
            guard bestForB[j] == i else { continue }
            let sim = s[i * rowsB + j]
            if ratio < 1 && rowsB > 1 {
                let d1 = distance(sim), d2 = distance(secondForA[i])
                guard d1 < ratio * d2 else { continue }
            }
            out.append(PatchMatch(a: i, b: j, similarity: sim))
        }
        return out
    }

    /// Distance between unit vectors with cosine similarity `cos`.
    static func distance(_ cos: Float) -> Float { max(0, 2 - 2 * cos).squareRoot() }

    /// Normalizes both feature sets and matches them.
    static func match(_ a: [Float], rowsA: Int, _ b: [Float], rowsB: Int, dim: Int, ratio: Float = 1) -> [PatchMatch] {
        var na = a, nb = b
        l2Normalize(&na, rows: rowsA, dim: dim)
        l2Normalize(&nb, rows: rowsB, dim: dim)
        let s = similarities(na, rowsA: rowsA, nb, rowsB: rowsB, dim: dim)
        return mutualNearestNeighbours(similarity: s, rowsA: rowsA, rowsB: rowsB, ratio: ratio)
    }

    /// At most `limit` matches, the most similar first (ties by index).
    static func strongest(_ matches: [PatchMatch], limit: Int) -> [PatchMatch] {
        let sorted = matches.sorted { $0.similarity != $1.similarity ? $0.similarity > $1.similarity : $0.a < $1.a }
        return Array(sorted.prefix(max(0, limit)))
    }

    /// Center, in pixels of the resized image, of patch `index` on a grid
    /// `gridWidth` patches wide.
    static func patchCenter(_ index: Int, gridWidth: Int, patch: Int) -> (x: Int, y: Int) {
        let row = index / gridWidth, col = index % gridWidth
        return (col * patch + patch / 2, row * patch + patch / 2)
    }
}
