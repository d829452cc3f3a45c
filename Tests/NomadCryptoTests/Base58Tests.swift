import Testing
import NomadCrypto

struct Base58Tests {
    @Test func encodesTheBitcoinAlphabetVectors() {
        #expect(Base58.encode(Array("Hello World!".utf8)) == "2NEpo7TZRRrLZSi2U")
        #expect(Base58.encode(Array("The quick brown fox jumps over the lazy dog.".utf8))
                == "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z")
        #expect(Base58.encode([0x00, 0x00, 0x28, 0x7F, 0xB4, 0xCD]) == "11233QC4")
        #expect(Base58.encode([]) == "")
        #expect(Base58.encode([0]) == "1")
    }
}
