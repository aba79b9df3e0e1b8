/// Per-channel factors that move a LayerNorm's outlier channels from the
/// int8 activations to the int8 weights (SmoothQuant's migration, with each
/// channel's range estimated from the norm's own γ and β instead of from
/// calibration images).
///
/// Activations are quantized per token: one channel far larger than the
/// rest (DINOv2's LayerNorms have them) leaves the others a few levels.
/// Dividing channel j of the norm's output by s_j (its γ and β) and
/// multiplying column j of the weight that reads it by s_j leaves the fp32
/// product unchanged and evens out both sides:
/// s_j = √(a_j / w_j), a_j = 4·|γ_j| + |β_j| (a normalized value rarely
/// passes 4), w_j = max over outputs of |W[·][j]|; s_j = 1 where either is 0.
/// On the real DINOv2-S (`scripts/int8_accuracy.py`, 224×224) the CLS and
/// mean patch cosines to fp32 go from 0.99958 and 0.99956 to 0.99965 and
/// 0.99967 (README, "int8").
enum InputSmoothing {
    static func factors(gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                        weight: UnsafePointer<Float>, n: Int, k: Int) -> [Float] {
        var columnMax = [Float](repeating: 0, count: k)
        for c in 0..<n {
            let row = weight + c * k
            for j in 0..<k { columnMax[j] = max(columnMax[j], abs(row[j])) }
        }
        return (0..<k).map { j in
            let a = 4 * abs(gamma[j]) + abs(beta[j]), w = columnMax[j]
            guard a > 0, w > 0, a.isFinite, w.isFinite else { return 1 }
            let s = (a / w).squareRoot()
            return s.isNormal ? s : 1
        }
    }
}
