import NomadCrypto
import NomadModel
import NomadStore

extension Site {
    /// The channel's identity and its position in the log (`nomadsync channel show`).
    public func channelStatus(nickname: String) throws -> ChannelStatus {
        let channel = try record(nickname: nickname)
        return try store.read { tx in
            let vector = try tx.vector(channel: channel.rowID)
            return ChannelStatus(
                nickname: channel.nickname, name: channel.name, portableID: channel.portableID, guid: channel.guid,
                publicKey: Base64URL.encode(channel.publicKey), writer: channel.writer,
                digest: StateDigest(bytes: channel.digest).hex, vector: vector,
                entries: try tx.entryCount(channel: channel.rowID), held: try tx.pendingCount(channel: channel.rowID),
                missing: try ReplayEngine.missing(channel: channel, vector: vector, in: tx), diverged: channel.diverged,
                locations: try Self.locations(channel: channel, in: tx))
        }
    }
}
