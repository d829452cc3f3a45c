import Foundation
import NomadCrypto
import NomadModel
import NomadTransport

/// Every parser that takes bytes from outside (the wire, a file, the admin API), as one fuzz
/// target each. `run` feeds it one input: a parser may refuse the input with an error, but
/// nothing may trap. libFuzzer drives these (`ops/fuzz.sh`), and the regression inputs under
/// `Tests/Fixtures/fuzz/<target>/` replay through them in the test suite.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case signatureHeader = "signature-header"
    case dateHeader = "date-header"
    case envelope
    case sealedPayload = "sealed-payload"
    case syncData = "sync-data"
    case changeEntry = "change-entry"
    case syncPage = "sync-page"
    case exportContainer = "export-container"
    case adminBatch = "admin-batch"
    case channelMessage = "channel-message"
    case discoveryDocument = "discovery-document"
    case cloneTicket = "clone-ticket"
    case cloneClaim = "clone-claim"
    case configFile = "config-file"
    case siteHeartbeat = "site-heartbeat"
    case jsonText = "json-text"

    /// A fixed site key for the targets that open sealed payloads, so a corpus that holds a
    /// payload sealed to it reaches the decrypted content.
    public static let sealKeys = SealKeyPair.generate(using: SeededRandom(seed: 0x6E6F_6D61))
    /// A fixed content key standing in for the Argon2id derivation (too slow to fuzz through).
    public static let containerKey = SecureBytes([UInt8](repeating: 0x42, count: 32))
    static let limits = WireLimits.standard

    /// Feeds one input to the parser. Errors are the expected answer to most inputs.
    public func run(_ bytes: [UInt8]) {
        let data = Data(bytes)
        let text = String(decoding: bytes, as: UTF8.self)
        switch self {
        case .signatureHeader:
            guard let signature = try? HTTPSignature(parsing: text) else { return }
            _ = try? signature.checkTimes(now: 1_700_000_000_000, window: 900_000)
            _ = try? HTTPSignature.signingString(method: "POST", target: "/zot", headers: signature.headers, created: signature.created,
                                                 expires: signature.expires) { $0 }
            _ = try? signature.verify(method: "POST", target: "/zot", required: HTTPSignature.postHeaders,
                                      publicKey: [UInt8](repeating: 0, count: 32)) { $0 }
        case .dateHeader:
            if let milliseconds = HTTPDate.parse(text) { _ = HTTPDate.parse(HTTPDate.format(milliseconds: milliseconds)) }
        case .envelope:
            // The fast reader reads only what the decoder reads the same (WireJSONReader).
            if let fast = bytes.withUnsafeBytes({ Envelope.fastWire($0) }) {
                let decoded = try? WireJSON.decode(Envelope.self, from: data, what: "envelope")
                precondition(decoded.map { fast == $0 && fast.wireJSON == $0.wireJSON } == true,
                             "the fast reader and the decoder disagree on an envelope")
            }
            guard case .envelope(let envelope)? = try? CodecRegistry.standard.decode(data, limits: Self.limits) else { return }
            _ = try? envelope.data.open(with: Self.sealKeys, additionalData: envelope.binding(recipientSiteID: envelope.siteID))
        case .sealedPayload:
            guard let payload = try? WireJSON.decode(SealedPayload.self, from: data, what: "payload") else { return }
            _ = try? payload.open(with: Self.sealKeys, additionalData: [])
        case .syncData:
            let decoded = try? WireJSON.decode(SyncData.self, from: data, what: "sync data")
            // The fast reader reads only what the decoder reads the same (WireJSONReader).
            if let fast = SyncData.fastWire(bytes) {
                precondition(decoded.map { fast == $0 && (try? fast.wireJSON()) == (try? $0.wireJSON()) } == true,
                             "the fast reader and the decoder disagree on a sync packet")
            }
            guard let sync = decoded else { return }
            Self.check(sync.entries)
            _ = sync.vector.entriesAhead(of: VersionVector())
        case .changeEntry:
            let decoded = try? WireJSON.decode(ChangeEntry.self, from: data, what: "entry")
            if let fast = ChangeEntry.fastWire(bytes) {
                precondition(decoded.map { fast == $0 && fast.wireJSON == $0.wireJSON } == true,
                             "the fast reader and the decoder disagree on an entry")
            }
            guard let entry = decoded else { return }
            Self.check([entry])
        case .syncPage:
            if let sealed = try? WireJSON.decode(SealedPage.self, from: data, what: "sync page") {
                _ = try? sealed.data.open(with: Self.sealKeys, additionalData: [])
            }
            let decoded = try? WireJSON.decode(SyncPage.self, from: data, what: "sync page")
            if let fast = SyncPage.fastWire(bytes) {
                precondition(decoded.map { fast == $0 && (try? fast.wireJSON()) == (try? $0.wireJSON()) } == true,
                             "the fast reader and the decoder disagree on a sync page")
            }
            if let page = decoded {
                Self.check(page.entries)
                _ = page.vector.entriesAhead(of: VersionVector())
            }
        case .exportContainer:
            guard let header = try? PassphraseContainer.header(of: bytes),
                  let plain = try? PassphraseContainer.decryptChunks(bytes, header: header, key: Self.containerKey) else {
                if let document = try? WireJSON.decode(ChannelExportDocument.self, from: data, what: "export") { Self.check(document.entries) }
                return
            }
            if let newline = plain.firstIndex(of: UInt8(ascii: "\n")) {
                // Format 2: a header line, then entry lines (blob bytes between them are not parsed here).
                _ = try? WireJSON.decode(ChannelExportHeader.self, from: Data(plain[..<newline]), what: "export header")
                let entries = plain[(newline + 1)...].split(separator: UInt8(ascii: "\n")).prefix(1_000).compactMap {
                    try? WireJSON.decode(ChangeEntry.self, from: Data($0), what: "entry")
                }
                Self.check(entries)
            } else if let document = try? WireJSON.decode(ChannelExportDocument.self, from: Data(plain), what: "export") {
                Self.check(document.entries)
            }
        case .adminBatch:
            _ = try? ChangeBatch.parse(data, limits: Self.limits)
        case .channelMessage:
            guard let message = try? WireJSON.decode(ChannelMessage.self, from: data, what: "message", maxDepth: Self.limits.maxJSONDepth) else { return }
            let payload = SealedPayload(key: "", iv: "", data: "")
            for type in MessageType.allCases {
                let envelope = Envelope(type: type, sender: message.channel, siteID: message.from, recipients: [], data: payload)
                if let (_, content) = try? message.checked(against: envelope, limits: Self.limits), case .activity(let text) = content {
                    _ = ChannelMessage.messageID(activity: text)
                }
            }
        case .cloneTicket:
            guard let ticket = try? CloneTicket(parsing: text) else { return }
            _ = try? ticket.secretBytes()
        case .cloneClaim:
            if let claim = try? WireJSON.decode(CloneClaim.self, from: data, what: "claim", maxDepth: 8) {
                _ = try? claim.verifiedSiteKey()
                _ = try? CloneClaim.proof(ticket: claim.ticket, card: claim.card, secret: Self.containerKey)
            }
            if let grant = try? WireJSON.decode(CloneGrant.self, from: data, what: "grant", maxDepth: Self.limits.maxJSONDepth) {
                _ = try? grant.identity.open(with: Self.sealKeys, additionalData: CloneGrant.binding(ticket: "", inviter: grant.site.siteID,
                                                                                                    claimant: grant.site.siteID))
            }
        case .configFile:
            guard let config = try? ConfigFile(parsing: text) else { return }
            for key in config.values.keys {
                _ = try? config.string(key)
                _ = try? config.number(key)
                _ = try? config.integer(key)
                _ = try? config.boolean(key)
            }
        case .siteHeartbeat:
            // The envelope, then (as the data it seals) the reports, validated against it.
            if let heartbeat = try? WireJSON.decode(SiteHeartbeat.self, from: data, what: "heartbeat", maxDepth: Self.limits.maxJSONDepth) {
                _ = try? heartbeat.validateHeader()
                _ = try? heartbeat.data.open(with: Self.sealKeys, additionalData: SiteHeartbeat.binding(from: heartbeat.siteID, to: heartbeat.recipient))
            }
            if let reports = try? WireJSON.decode(SiteHeartbeatData.self, from: data, what: "heartbeat data", maxDepth: Self.limits.maxJSONDepth) {
                _ = try? reports.validate(envelope: SiteHeartbeat(siteID: reports.from, recipient: reports.to,
                                                                 data: SealedPayload(key: "", iv: "", data: "")))
            }
            if let answer = try? WireJSON.decode(SiteHeartbeatAnswer.self, from: data, what: "answer", maxDepth: Self.limits.maxJSONDepth) {
                _ = answer.channels.count
            }
        case .jsonText:
            // The strict scan may only ever answer "valid" for text JSONSerialization accepts.
            if StrictJSONSyntax.isCertainlyValid(text) {
                precondition((try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) != nil,
                             "the strict JSON scan accepted text JSONSerialization refuses")
            }
            _ = try? JSONText.validate(text, what: "body", maxDepth: Self.limits.maxJSONDepth)
        case .discoveryDocument:
            guard let document = try? WireJSON.decode(DiscoveryDocument.self, from: data, what: "discovery", maxDepth: Self.limits.maxJSONDepth),
                  let verified = try? document.verified() else { return }
            _ = verified.location(signingAs: "x#ed25519", siteID: document.site.siteID)
        }
    }

    /// What the replay engine does with entries before touching the store.
    static func check(_ entries: [ChangeEntry]) {
        for entry in entries {
            _ = try? entry.validate(limits: limits)
            if entry.entity == "location", let location = try? WireJSON.decode(Location.self, from: entry.body, what: "location") {
                _ = try? location.verify(channelPublicKey: [UInt8](repeating: 0, count: 32))
            }
        }
    }
}
