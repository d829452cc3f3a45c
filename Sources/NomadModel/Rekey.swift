import Foundation
import NomadCrypto

/// What a rekey says (DESIGN §8): the channel (its guid), the old and the new public key and
/// portable_id, whether the new id replaces the old one (`update`) or is linked to it, and when.
///
/// It travels as its exact JSON text (`SignedRekey.rekey`), which both keys sign; receivers
/// verify those bytes and never re-serialise them.
public struct RekeyData: Codable, Sendable, Equatable {
    /// The channel's guid, which a rekey keeps.
    public var channel: String
    /// The old and the new Ed25519 public key, base64url.
    public var oldKey: String
    public var newKey: String
    public var oldPortableID: PortableID
    public var newPortableID: PortableID
    /// true: the new portable_id replaces the old one, which is refused from then on.
    /// false: both stay valid, linked (a `link` entry).
    public var update: Bool
    /// RFC 3339 UTC, when the rekey was made.
    public var date: String

    public init(channel: String, oldKey: [UInt8], newKey: [UInt8], update: Bool, date: String) {
        self.channel = channel
        self.oldKey = Base64URL.encode(oldKey)
        self.newKey = Base64URL.encode(newKey)
        oldPortableID = PortableID(guid: channel, publicKey: oldKey)
        newPortableID = PortableID(guid: channel, publicKey: newKey)
        self.update = update
        self.date = date
    }

    enum CodingKeys: String, CodingKey {
        case channel, update, date
        case oldKey = "old_key"
        case newKey = "new_key"
        case oldPortableID = "old_portable_id"
        case newPortableID = "new_portable_id"
    }

    /// The old and new public keys as bytes.
    public func keys() throws -> (old: [UInt8], new: [UInt8]) {
        (try Base64URL.decode(oldKey, what: "old_key", length: SigningKeyPair.publicKeyLength),
         try Base64URL.decode(newKey, what: "new_key", length: SigningKeyPair.publicKeyLength))
    }
}

/// A rekey with both signatures: the body of a `rekey` message and part of a `key` entry.
///
/// ```swift
/// let signed = try SignedRekey.make(RekeyData(channel: guid, oldKey: old.publicKey, newKey: new.publicKey,
///                                             update: true, date: now), old: old, new: new)
/// let data = try signed.verified()        // both signatures over the exact bytes
/// ```
public struct SignedRekey: Codable, Sendable, Equatable {
    /// The exact JSON text of `RekeyData` (sorted keys, no spaces) that both keys signed.
    public var rekey: String
    /// `ed25519.<base64url>` by the old key, and by the new key, over the UTF-8 of `rekey`.
    public var oldSig: String
    public var newSig: String

    public init(rekey: String, oldSig: String, newSig: String) {
        self.rekey = rekey
        self.oldSig = oldSig
        self.newSig = newSig
    }

    enum CodingKeys: String, CodingKey {
        case rekey
        case oldSig = "old_sig"
        case newSig = "new_sig"
    }

    /// Serialises `data` once and signs those bytes with both keys.
    public static func make(_ data: RekeyData, old: SigningKeyPair, new: SigningKeyPair) throws -> SignedRekey {
        let text = try WireJSON.encodeCanonical(data)
        let bytes = Array(text.utf8)
        return SignedRekey(rekey: text, oldSig: old.signatureText(over: bytes), newSig: new.signatureText(over: bytes))
    }

    /// Parses the rekey text and checks it whole: both portable_ids derive from the guid and
    /// their keys, the keys differ, and the old and the new key each signed these exact bytes.
    public func verified(maxDepth: Int = 8) throws -> RekeyData {
        let data = try WireJSON.decode(RekeyData.self, from: rekey, what: "rekey", maxDepth: maxDepth)
        let (old, new) = try data.keys()
        guard old != new else { throw ModelError.invalidField("rekey", reason: "the old and the new key are the same") }
        guard data.oldPortableID == PortableID(guid: data.channel, publicKey: old),
              data.newPortableID == PortableID(guid: data.channel, publicKey: new) else {
            throw ModelError.invalidField("rekey", reason: "a portable_id is not derived from the channel guid and its key")
        }
        let bytes = Array(rekey.utf8)
        do { try SigningKeyPair.verify(signatureText: oldSig, over: bytes, publicKey: old) } catch {
            throw ModelError.invalidField("rekey.old_sig", reason: "does not verify with old_key over the exact rekey bytes")
        }
        do { try SigningKeyPair.verify(signatureText: newSig, over: bytes, publicKey: new) } catch {
            throw ModelError.invalidField("rekey.new_sig", reason: "does not verify with new_key over the exact rekey bytes")
        }
        return data
    }
}

/// The body of a `key` entry (key = the new portable_id): the signed rekey, and the new channel
/// seed sealed (`crypto_secretbox`) under a key derived from the previous seed, which every clone
/// already holds. Neither the wire nor the log ever holds a channel private key in clear.
public struct KeyEntryBody: Codable, Sendable, Equatable {
    public var rekey: String
    public var oldSig: String
    public var newSig: String
    /// base64url of `nonce(24) ‖ crypto_secretbox(new seed, K)`,
    /// `K = BLAKE2b-256(text("nomadsync/key-entry/1") ‖ text(new_portable_id); key = old seed)`.
    public var seed: String

    enum CodingKeys: String, CodingKey {
        case rekey, seed
        case oldSig = "old_sig"
        case newSig = "new_sig"
    }

    public var signed: SignedRekey { SignedRekey(rekey: rekey, oldSig: oldSig, newSig: newSig) }

    /// A body as received (nothing checked yet: `signed.verified()` and `openKeys` check).
    public init(rekey: String, oldSig: String, newSig: String, seed: String) {
        self.rekey = rekey
        self.oldSig = oldSig
        self.newSig = newSig
        self.seed = seed
    }

    /// Seals `new`'s seed under the key derived from `old`'s seed.
    public init(_ signed: SignedRekey, old: SigningKeyPair, new: SigningKeyPair, random: any RandomSource) throws {
        rekey = signed.rekey
        oldSig = signed.oldSig
        newSig = signed.newSig
        let data = try signed.verified()
        let key = try Self.sealingKey(oldSeed: old.seed, newPortableID: data.newPortableID)
        seed = Base64URL.encode(try SecretBox.seal(new.seed, key: key, random: random))
    }

    /// Opens the new key pair with the previous seed, and checks it is the rekey's new key.
    public func openKeys(oldSeed: SecureBytes) throws -> SigningKeyPair {
        let data = try signed.verified()
        let key = try Self.sealingKey(oldSeed: oldSeed, newPortableID: data.newPortableID)
        let boxed = try Base64URL.decode(seed, what: "key entry seed")
        let keys = try SigningKeyPair(seed: try SecretBox.open(boxed, key: key))
        guard try keys.publicKey == data.keys().new else {
            throw ModelError.invalidField("key.seed", reason: "does not derive the rekey's new_key")
        }
        return keys
    }

    static func sealingKey(oldSeed: SecureBytes, newPortableID: PortableID) throws -> SecureBytes {
        var w = BinaryWriter()
        w.text("nomadsync/key-entry/1")
        w.text(newPortableID.text)
        return try Blake2b.keyedHash256(w.bytes, key: oldSeed)
    }
}
