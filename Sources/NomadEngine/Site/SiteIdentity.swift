import NomadCrypto
import NomadModel

/// This site's keys, opened from the store.
public struct SiteIdentity: Sendable {
    public let url: String
    public let siteID: SiteID
    public let signing: SigningKeyPair
    public let seal: SealKeyPair

    public var card: SiteCard {
        SiteCard(url: url, siteID: siteID, sitekey: Base64URL.encode(signing.publicKey), sealkey: Base64URL.encode(seal.publicKey))
    }
}
