import NomadModel
import NomadStore

/// A channel hosted on this site, as the engine hands it to the server and the CLI: what it is
/// and where its replication stands, without the store's row id or its sealed key.
///
/// A `HostedChannel` is a snapshot: the engine re-reads the stored channel inside every transaction
/// that depends on its digest or writer, so a stale value never writes stale state.
public struct HostedChannel: Sendable, Equatable {
    public var nickname: String
    public var name: String
    public var guid: String
    public var portableID: PortableID
    /// The channel's Ed25519 public key.
    public var publicKey: [UInt8]
    /// This site's current writer id (origin) for the channel.
    public var writer: OriginID
    /// The state digest (hex, DESIGN §3) when the snapshot was taken.
    public var digest: String
    /// Why the `diverged` alarm is raised, if it is.
    public var diverged: String?
    public var createdAt: String

    /// The stored row this snapshot was taken from.
    let record: ChannelRecord

    init(_ record: ChannelRecord) {
        nickname = record.nickname
        name = record.name
        guid = record.guid
        portableID = record.portableID
        publicKey = record.publicKey
        writer = record.writer
        digest = StateDigest(bytes: record.digest).hex
        diverged = record.diverged
        createdAt = record.createdAt
        self.record = record
    }

    var rowID: Int64 { record.rowID }
}
