import Foundation

/// The one JSON encoder and decoder configuration for everything nomadsync emits, so output is
/// stable: keys sorted, slashes not escaped.
public enum WireJSON {
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = false) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.withoutEscapingSlashes, .prettyPrinted, .sortedKeys] : [.withoutEscapingSlashes, .sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Sorted keys: for documents that are signed or compared as bytes.
    public static func encodeCanonical<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from text: String, what: String,
                                            maxDepth: Int = WireLimits.standard.maxJSONDepth) throws -> T {
        try decode(type, from: Data(text.utf8), what: what, maxDepth: maxDepth)
    }

    /// Decodes, turning Foundation's errors into a `ModelError` that names the field at fault.
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data, what: String,
                                            maxDepth: Int = WireLimits.standard.maxJSONDepth) throws -> T {
        try data.withUnsafeBytes { try JSONText.checkDepth(bytes: $0, what: what, maxDepth: maxDepth) }
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as ModelError {
            throw error
        } catch let DecodingError.keyNotFound(key, context) {
            throw ModelError.invalidField(path(context.codingPath + [key]), reason: "missing in \(what)")
        } catch let DecodingError.typeMismatch(_, context) {
            throw ModelError.invalidField(path(context.codingPath), reason: "wrong type in \(what)")
        } catch let DecodingError.valueNotFound(_, context) {
            throw ModelError.invalidField(path(context.codingPath), reason: "null in \(what)")
        } catch let DecodingError.dataCorrupted(context) {
            if let underlying = context.underlyingError as? ModelError { throw underlying }
            if context.codingPath.isEmpty { throw ModelError.malformedJSON("\(what) is not valid JSON") }
            throw ModelError.invalidField(path(context.codingPath), reason: "\(context.debugDescription) in \(what)")
        } catch {
            throw ModelError.malformedJSON("\(what): \(error)")
        }
    }

    static func path(_ keys: [any CodingKey]) -> String {
        keys.isEmpty ? "document" : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}
