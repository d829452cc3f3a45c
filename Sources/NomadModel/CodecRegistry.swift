import Foundation

/// Decodes the envelopes of one encoding tag.
public protocol EnvelopeCodec: Sendable {
    /// The tag in the envelope's `encoding` field.
    var encoding: String { get }
    func decode(_ body: Data, limits: WireLimits) throws -> Envelope
}

/// The outcome of reading an envelope: one nomadsync can handle, or one it must ignore
/// because its encoding is not registered (the Zot6 rule: unknown encodings are ignored, and
/// nomadsync says so instead of staying silent).
public enum DecodedMessage: Sendable, Equatable {
    case envelope(Envelope)
    /// `type` is nil for an encapsulated envelope, whose type cannot be read.
    case ignored(encoding: String, type: MessageType?)
}

/// Maps encoding tags to codecs.
///
/// ```swift
/// let registry = CodecRegistry.standard          // knows "nomadsync"
/// switch try registry.decode(body) {
/// case .envelope(let e): …                       // open e.data and apply
/// case .ignored(let tag, _): …                   // answer 200 "unknown encoding ignored"
/// }
/// ```
public struct CodecRegistry: Sendable {
    private var codecs: [String: any EnvelopeCodec] = [:]

    public init(_ codecs: [any EnvelopeCodec] = []) {
        for codec in codecs { register(codec) }
    }

    public static let standard = CodecRegistry([NomadsyncCodec()])

    public mutating func register(_ codec: any EnvelopeCodec) { codecs[codec.encoding] = codec }

    public var encodings: [String] { codecs.keys.sorted() }

    /// Reads the header, then hands the body to the codec for its encoding.
    /// Malformed JSON and unknown message types throw; an unknown encoding does not.
    public func decode(_ body: Data, limits: WireLimits = .standard) throws -> DecodedMessage {
        guard body.count <= limits.maxBodyBytes else {
            throw ModelError.tooLarge("message is \(body.count) bytes, the limit is \(limits.maxBodyBytes)")
        }
        // The common case in one pass over the body (a sync packet's is ~270 KB): a whole
        // `nomadsync` envelope, in the form nomadsync writes it (`Envelope.wireJSON`, nesting two
        // deep) without Foundation's decoder, in any other form with it. Whatever does not read
        // as one goes the header's way below, which gives the same outcome for it, errors included.
        if let codec = codecs[NomadsyncCodec.tag] as? NomadsyncCodec,
           let envelope = (limits.maxJSONDepth >= 2 ? body.withUnsafeBytes { Envelope.fastWire($0) } : nil)
               ?? (try? WireJSON.decode(Envelope.self, from: body, what: "envelope", maxDepth: limits.maxJSONDepth)),
           envelope.encoding == NomadsyncCodec.tag {
            return .envelope(try codec.checked(envelope))
        }
        return try decodeByHeader(body, limits: limits)
    }

    /// Reads the header, then hands the body to the codec for its encoding.
    func decodeByHeader(_ body: Data, limits: WireLimits) throws -> DecodedMessage {
        let header = try WireJSON.decode(EnvelopeHeader.self, from: body, what: "envelope", maxDepth: limits.maxJSONDepth)
        if let alg = header.encapsulation {
            return .ignored(encoding: "encapsulated:" + String(alg.prefix(40)), type: nil)
        }
        let type = try header.messageType()
        guard let codec = codecs[header.encoding] else {
            return .ignored(encoding: header.encoding, type: type)
        }
        return .envelope(try codec.decode(body, limits: limits))
    }
}

/// The `nomadsync` encoding: the envelope of DESIGN §4 with a sealed XChaCha20-Poly1305 payload.
public struct NomadsyncCodec: EnvelopeCodec {
    public static let tag = "nomadsync"
    public var encoding: String { Self.tag }

    public init() {}

    public func decode(_ body: Data, limits: WireLimits) throws -> Envelope {
        try checked(try WireJSON.decode(Envelope.self, from: body, what: "envelope", maxDepth: limits.maxJSONDepth))
    }

    /// The envelope, if this site speaks its version.
    func checked(_ envelope: Envelope) throws -> Envelope {
        guard envelope.version == Envelope.currentVersion else {
            throw ModelError.invalidField("version", reason: "unsupported version '\(envelope.version.prefix(40))'; this site speaks \(Envelope.currentVersion)")
        }
        return envelope
    }
}
