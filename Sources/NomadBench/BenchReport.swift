import Foundation

/// One measurement of `nomadsync bench`: nomadsync's rate and the raw reference's rate for the
/// same work in the same run, and their ratio (1.0 = as fast as the raw limit).
public struct BenchRow: Sendable, Codable, Equatable {
    public var name: String
    /// What is counted per second (entries, packets).
    public var unit: String
    public var count: Int
    public var ours: Double
    /// The raw reference, or nil when there is none for this row.
    public var raw: Double?
    public var reference: String
    public var ratio: Double? { raw.map { $0 > 0 ? ours / $0 : 0 } }

    enum CodingKeys: String, CodingKey { case name, unit, count, ours, raw, reference, ratio }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(unit, forKey: .unit)
        try c.encode(count, forKey: .count)
        try c.encode(ours, forKey: .ours)
        try c.encode(raw, forKey: .raw)
        try c.encode(reference, forKey: .reference)
        try c.encode(ratio, forKey: .ratio)
    }

    public init(name: String, unit: String, count: Int, ours: Double, raw: Double?, reference: String) {
        self.name = name
        self.unit = unit
        self.count = count
        self.ours = ours
        self.raw = raw
        self.reference = reference
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        unit = try c.decode(String.self, forKey: .unit)
        count = try c.decode(Int.self, forKey: .count)
        ours = try c.decode(Double.self, forKey: .ours)
        raw = try c.decodeIfPresent(Double.self, forKey: .raw)
        reference = try c.decode(String.self, forKey: .reference)
    }
}

/// Everything one `nomadsync bench` run measured, with the machine it ran on.
public struct BenchReport: Sendable, Codable, Equatable {
    public var date: String
    public var machine: String
    public var build: String
    public var rows: [BenchRow]

    /// The table `nomadsync bench` prints.
    public var table: String {
        var lines = ["\(machine), \(build) build, \(date)", ""]
        let header = ["measurement", "count", "nomadsync", "raw", "ratio", "raw reference"]
        var cells = [header]
        for row in rows {
            cells.append([row.name, String(row.count), Self.rate(row.ours, row.unit), row.raw.map { Self.rate($0, row.unit) } ?? "—",
                          row.ratio.map { String(format: "%.2f×", $0) } ?? "—", row.reference])
        }
        let widths = (0..<header.count).map { column in cells.map { $0[column].count }.max() ?? 0 }
        for (index, row) in cells.enumerated() {
            lines.append(row.enumerated().map { column, text in
                column == header.count - 1 ? text
                    : column == 0 ? text.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[column] - text.count) + text
            }.joined(separator: "  "))
            if index == 0 { lines.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
        }
        return lines.joined(separator: "\n")
    }

    static func rate(_ value: Double, _ unit: String) -> String {
        value >= 100 ? "\(Int(value.rounded())) \(unit)" : String(format: "%.1f ", value) + unit
    }
}

/// Wall time of `work`, in seconds.
func seconds(_ work: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try work()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}
