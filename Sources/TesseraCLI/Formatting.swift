/// Number formatting without Foundation.

/// `v` with exactly `decimals` digits after the point, rounded half away
/// from zero ("-0.0000" is printed as "0.0000").
func fixed(_ v: Double, _ decimals: Int) -> String {
    if v.isNaN { return "nan" }
    if v.isInfinite { return v < 0 ? "-inf" : "inf" }
    var p = 1.0
    for _ in 0..<decimals { p *= 10 }
    let scaled = (abs(v) * p).rounded(.toNearestOrAwayFromZero)
    guard scaled < 9e18 else { return "\(v)" }
    let n = UInt64(scaled)
    let ip = n / UInt64(p), fp = n % UInt64(p)
    var s = String(ip)
    if decimals > 0 {
        let f = String(fp)
        s += "." + String(repeating: "0", count: decimals - f.count) + f
    }
    return (v < 0 && n != 0 ? "-" : "") + s
}

func fixed(_ v: Float, _ decimals: Int) -> String { fixed(Double(v), decimals) }

/// `v` with `decimals` decimals, padded on the left to `width` characters.
func fixed(_ v: Double, _ decimals: Int, width: Int) -> String {
    let s = fixed(v, decimals)
    return String(repeating: " ", count: max(0, width - s.count)) + s
}

/// 1234567 → "1,234,567".
func grouped(_ v: Int) -> String {
    let digits = String(v.magnitude)
    var out = ""
    for (i, ch) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return (v < 0 ? "-" : "") + out
}

/// Bytes with a binary unit: "512 KiB", "1.5 MiB".
func bytesText(_ n: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var v = Double(n), u = 0
    while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
    if u == 0 { return "\(n) B" }
    return (v == v.rounded() ? fixed(v, 0) : fixed(v, 1)) + " " + units[u]
}

/// Right-pads a label for key/value output.
func field(_ name: String, _ value: String, width: Int = 16) -> String {
    name.padded(to: width) + value
}
