import Foundation
import NomadCrypto
import Testing
@testable import NomadStore

@Suite struct StoreTests {
    func tempDir() -> String { NSTemporaryDirectory() + "nomadsync-store-\(UUID().uuidString)" }

    @Test func createsTheHostKeyOwnerOnly() throws {
        let dir = tempDir(); defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try Store.open(directory: dir, create: true, random: SystemRandom())
        let attrs = try FileManager.default.attributesOfItem(atPath: dir + "/host.key")
        #expect((attrs[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect((attrs[.size] as? NSNumber)?.intValue == 32)
    }

    @Test func refusesAHostKeyOthersCanRead() throws {
        let dir = tempDir(); defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try Store.open(directory: dir, create: true, random: SystemRandom())
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: dir + "/host.key")
        #expect(throws: StoreError.self) { try Store.open(directory: dir, random: SystemRandom()) }
    }

    @Test func refusesAMissingDataDirectoryUnlessCreating() {
        #expect(throws: StoreError.notInitialised("/nonexistent/nomadsync")) {
            try Store.open(directory: "/nonexistent/nomadsync", random: SystemRandom())
        }
    }

    @Test func sealedSecretsOpenOnlyWithTheirHostKey() throws {
        let dirA = tempDir(), dirB = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dirA); try? FileManager.default.removeItem(atPath: dirB) }
        let a = try Store.open(directory: dirA, create: true, random: SystemRandom())
        let b = try Store.open(directory: dirB, create: true, random: SystemRandom())
        let sealed = try a.sealSecret(SecureBytes([1, 2, 3]), random: SystemRandom())
        #expect(try a.openSecret(sealed, what: "test").revealedCopy() == [1, 2, 3])
        #expect(throws: StoreError.secretUnreadable("test")) { try b.openSecret(sealed, what: "test") }
    }
}
