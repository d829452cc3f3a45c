import Foundation

/// The HTTP `Date` header format (RFC 9110 IMF-fixdate): `Sun, 06 Nov 1994 08:49:37 GMT`.
/// Written by hand so that no shared, non-Sendable formatter is needed.
public enum HTTPDate {
    static let days = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]  // 1970-01-01 was a Thursday
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Formats milliseconds since 1970.
    public static func format(milliseconds: UInt64) -> String {
        let seconds = Int64(milliseconds / 1000)  // UInt64.max / 1000 < Int64.max
        let dayNumber = seconds / 86_400
        let secondOfDay = seconds % 86_400
        let (y, m, d) = civil(fromDays: dayNumber)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(days[Int(dayNumber % 7)]), \(two(d)) \(months[Int(m) - 1]) \(y) \(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) GMT"
    }

    /// Parses an IMF-fixdate to milliseconds since 1970, or nil. Every number is bounded before
    /// any arithmetic (years 1970 to 9999), so no input can overflow.
    public static func parse(_ text: String) -> UInt64? {
        guard text.utf8.count <= 64 else { return nil }
        let parts = text.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[5] == "GMT", days.contains(String(parts[0].dropLast())), parts[0].last == ",",
              let d = bounded(parts[1], digits: 2, 1...31), let mi = months.firstIndex(of: String(parts[2])),
              let y = bounded(parts[3], digits: 4, 1970...9999) else { return nil }
        let clock = parts[4].split(separator: ":", omittingEmptySubsequences: false)
        guard clock.count == 3, let h = bounded(clock[0], digits: 2, 0...23), let mn = bounded(clock[1], digits: 2, 0...59),
              let s = bounded(clock[2], digits: 2, 0...60) else { return nil }
        let dayNumber = days(fromCivil: y, Int64(mi + 1), d)
        let seconds = dayNumber * 86_400 + h * 3600 + mn * 60 + s
        return seconds < 0 ? nil : UInt64(seconds) * 1000
    }

    /// Exactly `digits` ASCII digits whose value lies in `range`.
    static func bounded(_ text: Substring, digits: Int, _ range: ClosedRange<Int64>) -> Int64? {
        let utf8 = text.utf8
        guard utf8.count == digits, utf8.allSatisfy({ (48...57).contains($0) }) else { return nil }
        let value = utf8.reduce(Int64(0)) { $0 * 10 + Int64($1 - 48) }
        return range.contains(value) ? value : nil
    }

    // Howard Hinnant's days-from-civil algorithms.
    static func days(fromCivil y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, m, d)
    }
}
