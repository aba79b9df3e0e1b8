/// Drawing on RGB images, for the match visualisation: pasting images side
/// by side, Bresenham lines and small square dots.

struct Canvas {
    var image: RGBImage

    init(width: Int, height: Int, background: (UInt8, UInt8, UInt8) = (0, 0, 0)) {
        image = RGBImage(width: width, height: height, fill: background)
    }

    /// Copies `src` with its top-left corner at (x, y), clipped.
    mutating func paste(_ src: RGBImage, x: Int, y: Int) {
        for sy in 0..<src.height {
            let dy = y + sy
            guard dy >= 0, dy < image.height else { continue }
            for sx in 0..<src.width {
                let dx = x + sx
                guard dx >= 0, dx < image.width else { continue }
                let s = (sy * src.width + sx) * 3, d = (dy * image.width + dx) * 3
                image.pixels[d] = src.pixels[s]
                image.pixels[d + 1] = src.pixels[s + 1]
                image.pixels[d + 2] = src.pixels[s + 2]
            }
        }
    }

    mutating func set(_ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8)) {
        guard x >= 0, y >= 0, x < image.width, y < image.height else { return }
        let d = (y * image.width + x) * 3
        image.pixels[d] = c.0
        image.pixels[d + 1] = c.1
        image.pixels[d + 2] = c.2
    }

    func get(_ x: Int, _ y: Int) -> (UInt8, UInt8, UInt8)? {
        guard x >= 0, y >= 0, x < image.width, y < image.height else { return nil }
        let d = (y * image.width + x) * 3
        return (image.pixels[d], image.pixels[d + 1], image.pixels[d + 2])
    }

    /// Bresenham's line from (x0, y0) to (x1, y1), both ends included.
    mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ c: (UInt8, UInt8, UInt8)) {
        var x = x0, y = y0
        let dx = abs(x1 - x0), dy = -abs(y1 - y0)
        let sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var err = dx + dy
        while true {
            set(x, y, c)
            if x == x1 && y == y1 { break }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x += sx }
            if e2 <= dx { err += dx; y += sy }
        }
    }

    /// A filled square of side 2 * radius + 1 centered on (x, y).
    mutating func dot(_ x: Int, _ y: Int, radius: Int, _ c: (UInt8, UInt8, UInt8)) {
        for yy in (y - radius)...(y + radius) {
            for xx in (x - radius)...(x + radius) { set(xx, yy, c) }
        }
    }

    /// Bright colours that stand out on photographs, cycled through.
    static let palette: [(UInt8, UInt8, UInt8)] = [
        (255, 59, 48), (52, 199, 89), (0, 122, 255), (255, 204, 0),
        (175, 82, 222), (255, 149, 0), (90, 200, 250), (255, 45, 85),
    ]
}
