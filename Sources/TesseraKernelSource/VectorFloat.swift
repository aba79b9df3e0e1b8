import TesseraKernelCore

/// The float vector types the kernels are written over. Each instruction-set
/// target instantiates the generic kernels with the widest type its registers
/// hold: `SIMD4` (SSE2), `SIMD8` (AVX2), `SIMD16` (AVX-512).
protocol VectorFloat: SIMD where Scalar == Float {
    /// The integer vector of the same lane count, for bit manipulation.
    associatedtype Bits: SIMD where Bits.Scalar == Int32
    /// acc += a * b: fused where the instruction set has FMA; a separate
    /// multiply and add for the SSE2 width, which has none (a fused form
    /// there would become a libm call per lane).
    static func madd(_ acc: inout Self, _ a: Self, _ b: Self)
    /// Whether `madd` rounds once (where a product's own rounding would
    /// matter, as in exp's range reduction).
    static var fused: Bool { get }
}

extension VectorFloat {
    /// Each lane's integer as a float (vcvtdq2ps). Lane by lane, which
    /// vectorizes: the standard library's generic SIMD conversion would be
    /// specialized into a weak symbol other variants' code may replace.
    @inline(__always)
    static func convert(_ b: Bits) -> Self {
        var r = Self()
        for i in 0..<scalarCount { r[i] = Float(b[i]) }
        return r
    }

    /// Lane-wise a > b ? a : b and a < b ? a : b: a select per lane, which
    /// compiles to one max or min instruction. (The standard library's
    /// pointwiseMax/Min may be emitted as a shared specialization that
    /// another instruction set's module could supply; these are this
    /// module's own.)
    @inline(__always)
    static func greater(_ a: Self, _ b: Self) -> Self {
        var r = Self()
        for i in 0..<scalarCount { r[i] = a[i] > b[i] ? a[i] : b[i] }
        return r
    }

    @inline(__always)
    static func lesser(_ a: Self, _ b: Self) -> Self {
        var r = Self()
        for i in 0..<scalarCount { r[i] = a[i] < b[i] ? a[i] : b[i] }
        return r
    }
}

extension SIMD4: VectorFloat where Scalar == Float {
    typealias Bits = SIMD4<Int32>
    @inline(__always)
    static func madd(_ acc: inout Self, _ a: Self, _ b: Self) { acc += a * b }
    static var fused: Bool { false }
}
extension SIMD8: VectorFloat where Scalar == Float {
    typealias Bits = SIMD8<Int32>
    @inline(__always)
    static func madd(_ acc: inout Self, _ a: Self, _ b: Self) { acc.addProduct(a, b) }
    static var fused: Bool { true }
}
extension SIMD16: VectorFloat where Scalar == Float {
    typealias Bits = SIMD16<Int32>
    @inline(__always)
    static func madd(_ acc: inout Self, _ a: Self, _ b: Self) { acc.addProduct(a, b) }
    static var fused: Bool { true }
}

extension VectorFloat {
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> Self {
        UnsafeRawPointer(p).loadUnaligned(as: Self.self)
    }

    @inline(__always)
    static func load(_ p: UnsafeMutablePointer<Float>) -> Self {
        UnsafeRawPointer(p).loadUnaligned(as: Self.self)
    }

    @inline(__always)
    func store(_ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: self, as: Self.self)
    }
}

extension VectorFloat {
    @inline(__always)
    static func loadBits(_ p: UnsafePointer<Int32>) -> Bits {
        UnsafeRawPointer(p).loadUnaligned(as: Bits.self)
    }

    @inline(__always)
    static func loadBits(_ p: UnsafeMutablePointer<Int32>) -> Bits {
        UnsafeRawPointer(p).loadUnaligned(as: Bits.self)
    }
}
