import CSodium
import Foundation
import NomadCrypto
import NomadModel
import NomadTransport

/// Packet crypto against raw libsodium: nomadsync builds a sync packet of `entries` entries
/// (SyncData JSON, sealed to the receiving site, the envelope, an HTTP signature with Digest)
/// and opens it (signature and Digest checked, envelope decoded, payload opened, SyncData
/// decoded). The raw reference does only the cryptography on the same byte counts:
/// XChaCha20-Poly1305 + a sealed box for the key + SHA-256 + Ed25519 sign, and the reverse.
struct PacketBench {
    let entries: Int
    let rounds: Int

    func run() throws -> [BenchRow] {
        let random = SystemRandom()
        let channelKeys = SigningKeyPair.generate(using: random)
        let receiver = SealKeyPair.generate(using: random)
        let guid = ChannelGUID.generate(using: random)
        let channel = PortableID(guid: guid, publicKey: channelKeys.publicKey)
        let origin = OriginID.generate(using: random)
        let from = SiteID(url: "https://a.bench.invalid", publicKey: SigningKeyPair.generate(using: random).publicKey)
        let to = SiteID(url: "https://b.bench.invalid", publicKey: SigningKeyPair.generate(using: random).publicKey)
        var clock = HybridClock(last: HybridTimestamp(rawValue: 0))
        let filler = String(repeating: "x", count: 160)
        let list = (0..<entries).map { i in
            ChangeEntry(origin: origin, seq: UInt64(i + 1), hlc: clock.tick(wallMilliseconds: 1_700_000_000_000 + UInt64(i)),
                        entity: "item", key: "note-\(i)", op: .put, body: #"{"content":"\#(filler)","n":\#(i)}"#)
        }
        let data = SyncData(channel: channel, from: from, entries: list, vector: VersionVector([origin: UInt64(entries)]),
                            digest: String(repeating: "0", count: 64))
        let signer = RequestSigner(keys: channelKeys, idURL: "https://a.bench.invalid/channel/alice", random: random)
        let url = "https://b.bench.invalid/zot"
        let binding = Envelope.binding(type: .sync, sender: channel, siteID: from, recipientSiteID: to)
        let sealKey = receiver.publicKey

        func build() throws -> OutboundRequest {
            let plain = try data.wireJSON()
            let payload = try SealedPayload.seal(plain, to: sealKey, additionalData: binding, random: random)
            let body = Envelope(type: .sync, sender: channel, siteID: from, recipients: [channel], data: payload).wireJSON
            return try signer.post(url: url, body: body, now: 1_700_000_000_000)
        }
        func open(_ request: OutboundRequest) throws {
            let header = { (name: String) in request.headers.first { $0.0.lowercased() == name }?.1 }
            guard let value = header("signature"), header("digest") == HTTPSignature.digest(of: request.body) else {
                throw BenchError("the packet's Digest does not match")
            }
            try HTTPSignature(parsing: value).verify(method: "POST", target: "/zot", required: HTTPSignature.postHeaders,
                                                     publicKey: channelKeys.publicKey, header: header)
            let envelope = try WireJSON.decode(Envelope.self, from: Data(request.body), what: "envelope")
            let plain = try envelope.data.open(with: receiver, additionalData: binding)
            let opened = try SyncData.decodeWire(plain, what: "sync data", maxDepth: WireLimits.standard.maxJSONDepth)
            guard opened.entries.count == entries else { throw BenchError("the packet lost entries") }
        }

        let sample = try build()
        try open(sample)
        let plainCount = try WireJSON.encode(data).utf8.count
        var built: [OutboundRequest] = []
        let oursSeal = try seconds { for _ in 0..<rounds { built.append(try build()) } }
        let oursOpen = try seconds { for request in built { try open(request) } }

        // Raw: the same primitives on buffers of the same sizes, with key pairs of their own.
        let plain = [UInt8](repeating: 0x61, count: plainCount)
        let signingString = [UInt8](repeating: 0x62, count: 300)
        var signPublic = [UInt8](repeating: 0, count: 32), secret = [UInt8](repeating: 0, count: 64)
        _ = crypto_sign_keypair(&signPublic, &secret)
        var boxPublic = [UInt8](repeating: 0, count: 32), receiverSecret = [UInt8](repeating: 0, count: 32)
        _ = crypto_box_keypair(&boxPublic, &receiverSecret)
        var sealed: [([UInt8], [UInt8], [UInt8], [UInt8])] = []
        let rawSeal = seconds {
            for _ in 0..<rounds { sealed.append(Self.rawSeal(plain, binding: binding, to: boxPublic, signingString: signingString, secret: secret)) }
        }
        let rawOpen = try seconds {
            for (cipher, sealedKey, nonce, signature) in sealed {
                try Self.rawOpen(cipher, sealedKey: sealedKey, nonce: nonce, signature: signature, signingString: signingString, binding: binding,
                                 publicKey: signPublic, receiverPublic: boxPublic, receiverSecret: receiverSecret)
            }
        }
        let n = Double(rounds)
        return [
            BenchRow(name: "seal + sign a packet of \(entries) entries", unit: "packets/s", count: rounds, ours: n / oursSeal, raw: n / rawSeal,
                     reference: "libsodium on the same byte counts"),
            BenchRow(name: "open + verify a packet of \(entries) entries", unit: "packets/s", count: rounds, ours: n / oursOpen, raw: n / rawOpen,
                     reference: "libsodium on the same byte counts"),
        ]
    }

    static func rawSeal(_ plain: [UInt8], binding: [UInt8], to publicKey: [UInt8], signingString: [UInt8], secret: [UInt8])
        -> ([UInt8], [UInt8], [UInt8], [UInt8]) {
        var key = [UInt8](repeating: 0, count: 32), nonce = [UInt8](repeating: 0, count: 24)
        randombytes_buf(&key, 32)
        randombytes_buf(&nonce, 24)
        var cipher = [UInt8](repeating: 0, count: plain.count + 16)
        var cipherLength: UInt64 = 0
        _ = crypto_aead_xchacha20poly1305_ietf_encrypt(&cipher, &cipherLength, plain, UInt64(plain.count), binding, UInt64(binding.count),
                                                       nil, nonce, key)
        var sealedKey = [UInt8](repeating: 0, count: 32 + 48)
        _ = crypto_box_seal(&sealedKey, key, 32, publicKey)
        var digest = [UInt8](repeating: 0, count: 32)
        _ = crypto_hash_sha256(&digest, cipher, UInt64(cipher.count))
        var signature = [UInt8](repeating: 0, count: 64)
        _ = crypto_sign_detached(&signature, nil, signingString, UInt64(signingString.count), secret)
        return (cipher, sealedKey, nonce, signature)
    }

    static func rawOpen(_ cipher: [UInt8], sealedKey: [UInt8], nonce: [UInt8], signature: [UInt8], signingString: [UInt8], binding: [UInt8],
                        publicKey: [UInt8], receiverPublic: [UInt8], receiverSecret: [UInt8]) throws {
        guard crypto_sign_verify_detached(signature, signingString, UInt64(signingString.count), publicKey) == 0 else {
            throw BenchError("raw signature check failed")
        }
        var digest = [UInt8](repeating: 0, count: 32)
        _ = crypto_hash_sha256(&digest, cipher, UInt64(cipher.count))
        var key = [UInt8](repeating: 0, count: 32)
        guard crypto_box_seal_open(&key, sealedKey, UInt64(sealedKey.count), receiverPublic, receiverSecret) == 0 else {
            throw BenchError("raw sealed box failed")
        }
        var plain = [UInt8](repeating: 0, count: cipher.count - 16)
        var plainLength: UInt64 = 0
        guard crypto_aead_xchacha20poly1305_ietf_decrypt(&plain, &plainLength, nil, cipher, UInt64(cipher.count), binding, UInt64(binding.count),
                                                         nonce, key) == 0 else {
            throw BenchError("raw decryption failed")
        }
    }
}
