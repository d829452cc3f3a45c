import Foundation
import NomadCrypto
import NomadModel
import NomadServer
import NomadTransport
import Testing
@testable import NomadEngine

/// The admin API's named tokens and channel creation, over HTTP on the admin listener.
@Suite(.serialized)
struct AdminAPITests {
    static func call(_ pair: ServedPair, _ method: String, _ path: String, token: String? = nil, body: String? = nil) async throws -> (Int, String) {
        var headers = [("Authorization", "Bearer \(token ?? pair.token)")]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        return try await pair.send(OutboundRequest(method: method, url: "http://127.0.0.1:\(pair.adminPort)\(path)", headers: headers,
                                                   body: body.map { Array($0.utf8) } ?? []))
    }

    @Test func aNamedTokenWorksUntilItIsRevoked() async throws {
        let pair = try await ServedPair.start()
        let made = try pair.b.site.createAdminToken(name: "hub")
        #expect(try await Self.call(pair, "GET", "/api/v1/channels", token: made.token).0 == 200)
        try pair.b.site.revokeAdminToken(name: "hub")
        let (code, body) = try await Self.call(pair, "GET", "/api/v1/channels", token: made.token)
        #expect(code == 401 && body.contains("revoked"))
        await pair.stop()
    }

    @Test func onlyAHashOfANamedTokenIsStored() async throws {
        let pair = try await ServedPair.start()
        let made = try pair.b.site.createAdminToken(name: "hub")
        // The database and its write-ahead log, where a fresh write still is.
        let path = (pair.b.directory as NSString).appendingPathComponent("nomadsync.sqlite")
        let database = ["", "-wal"].reduce(into: Data()) { $0 += FileManager.default.contents(atPath: path + $1) ?? Data() }
        #expect(database.range(of: Data(made.token.utf8)) == nil)
        #expect(database.range(of: Data(Site.tokenHash(made.token))) != nil)
        await pair.stop()
    }

    @Test func tokensAreMadeListedAndRevokedOverTheAPI() async throws {
        let pair = try await ServedPair.start()
        let (created, body) = try await Self.call(pair, "POST", "/api/v1/tokens", body: #"{"name":"ops"}"#)
        #expect(created == 201)
        let made = try JSONDecoder().decode(NewAdminToken.self, from: Data(body.utf8))
        #expect(try await Self.call(pair, "GET", "/api/v1/tokens", token: made.token).1.contains(#""name":"ops""#))
        #expect(try await Self.call(pair, "POST", "/api/v1/tokens", body: #"{"name":"ops"}"#).0 == 400)
        #expect(try await Self.call(pair, "DELETE", "/api/v1/tokens/ops").0 == 204)
        #expect(try await Self.call(pair, "GET", "/api/v1/tokens", token: made.token).0 == 401)
        #expect(try await Self.call(pair, "DELETE", "/api/v1/tokens/ops").0 == 400)
        await pair.stop()
    }

    @Test func aTokenThatLooksNamedButIsUnknownIsRefused() async throws {
        let pair = try await ServedPair.start()
        #expect(try await Self.call(pair, "GET", "/api/v1/channels", token: "nst_" + String(repeating: "A", count: 43)).0 == 401)
        await pair.stop()
    }

    @Test func aChannelIsCreatedOverTheAPI() async throws {
        let pair = try await ServedPair.start()
        let (code, body) = try await Self.call(pair, "POST", "/api/v1/channels", body: #"{"nickname":"bob","name":"Bob"}"#)
        #expect(code == 201 && body.contains(#""nickname":"bob""#), "\(body)")
        #expect(try pair.b.site.channel(nickname: "bob").name == "Bob")
        #expect(try await Self.call(pair, "POST", "/api/v1/channels", body: #"{"nickname":"bob"}"#).0 == 409)
        #expect(try await Self.call(pair, "POST", "/api/v1/channels", body: #"{"nickname":"Bad Name"}"#).0 == 400)
        await pair.stop()
    }

    @Test func anExportedChannelIsAdoptedOverTheAPI() async throws {
        let pair = try await ServedPair.start()
        let file = try pair.a.site.exportChannel(nickname: "mallory", passphrase: SecureBytes(Array("pass phrase".utf8)), strength: .interactive)
        let request = #"{"adopt":{"export":"\#(Base64URL.encode(file))","passphrase":"pass phrase"}}"#
        let (code, body) = try await Self.call(pair, "POST", "/api/v1/channels", body: request)
        #expect(code == 201, "\(body)")
        #expect(try pair.b.site.channel(nickname: "mallory").portableID == (try pair.a.site.channel(nickname: "mallory").portableID))
        await pair.stop()
    }

    @Test func aWrongPassphraseAdoptsNothing() async throws {
        let pair = try await ServedPair.start()
        let file = try pair.a.site.exportChannel(nickname: "mallory", passphrase: SecureBytes(Array("pass phrase".utf8)), strength: .interactive)
        let request = #"{"adopt":{"export":"\#(Base64URL.encode(file))","passphrase":"wrong"}}"#
        let (code, _) = try await Self.call(pair, "POST", "/api/v1/channels", body: request)
        #expect((400..<500).contains(code))
        #expect(throws: (any Error).self) { try pair.b.site.channel(nickname: "mallory") }
        await pair.stop()
    }
}
