/// Measures this instruction set's FMA throughput: independent chains on
/// registers, no memory traffic. Returns GFLOP/s of the calling core.
@inline(never)
func fmaPeakProbe<V: VectorFloat>(_: V.Type, iterations: Int, clock: () -> Double) -> Double {
    let a = V(repeating: 0.999999), b = V(repeating: 1e-7)
    var c0 = V(repeating: 1), c1 = V(repeating: 2), c2 = V(repeating: 3), c3 = V(repeating: 4)
    var c4 = V(repeating: 5), c5 = V(repeating: 6), c6 = V(repeating: 7), c7 = V(repeating: 8)
    var c8 = V(repeating: 9), c9 = V(repeating: 10), c10 = V(repeating: 11), c11 = V(repeating: 12)
    let t0 = clock()
    for _ in 0..<iterations {
        V.madd(&c0, a, b); V.madd(&c1, a, b); V.madd(&c2, a, b); V.madd(&c3, a, b); V.madd(&c4, a, b)
        V.madd(&c5, a, b); V.madd(&c6, a, b); V.madd(&c7, a, b); V.madd(&c8, a, b); V.madd(&c9, a, b)
        V.madd(&c10, a, b); V.madd(&c11, a, b)
    }
    let t1 = clock()
    let sink = (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11).sum()
    let flops = Double(iterations) * Double(V.scalarCount) * (12 * 2)
    return sink.isNaN ? 0 : flops / (t1 - t0) / 1e9
}
