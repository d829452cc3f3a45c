import Foundation
import NomadCrypto
import NomadEngine
import NomadModel
import NomadTransport
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension RealProcesses {
    /// Three real sites, each with the example paired server (ops/examples/paired_server.py) beside
    /// it twice: once following the feed by long-poll, once receiving the webhook. What one site's
    /// server posts, and what any site receives, reaches every other server exactly once.
    @Suite(.serialized)
    struct PairedServerIntegrationTests {
        static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("ops/examples/paired_server.py").path

        /// The two paired-server processes of one site and their mirror folders.
        final class PairedServer: @unchecked Sendable {
            let node: NodeProcess
            let folder: String
            let hookPort: Int
            var follower: Process?
            var receiver: Process?

            init(node: NodeProcess) throws {
                self.node = node
                folder = tempPath("paired-\(node.name)")
                hookPort = try freeLoopbackPort()
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            }

            static func python(_ args: [String], log: String) throws -> Process {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                process.arguments = ["python3", PairedServerIntegrationTests.script] + args
                if !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
                handle.seekToEndOfFile()
                process.standardOutput = handle
                process.standardError = handle
                process.standardInput = FileHandle.nullDevice
                try process.run()
                return process
            }

            func startFollower() throws {
                follower = try Self.python(["follow", "--admin", node.adminURL, "--token-file", node.cli.data + "/admin.token",
                                            "--channel", "alice", "--wait", "5", "--seconds", "120", "--out", folder + "/feed"],
                                           log: folder + "/follow.log")
            }

            /// Adds the webhook on the node (CLI, as an operator would) and starts the receiver.
            func startReceiver() async throws {
                let added = try node.cli.json(["webhook", "add", "http://127.0.0.1:\(hookPort)/hook", "--channel", "alice"])
                let secret = try #require(added["secret"] as? String)
                // `--secret=…`: a base64url key may begin with "-", which argparse would take for an option.
                receiver = try Self.python(["webhook", "--listen", "127.0.0.1:\(hookPort)", "--secret=\(secret)", "--out", folder + "/hook"],
                                           log: folder + "/hook.log")
                // Python may start slowly on a loaded machine: the hook's first posts would fail
                // and back off for seconds.
                let port = hookPort
                try await eventually("the webhook receiver of \(node.name) to listen", timeout: 20) { isListening(port) }
            }

            func post(key: String, idempotencyKey: String) throws -> Int32 {
                let process = try Self.python(["post", "--admin", node.adminURL, "--token-file", node.cli.data + "/admin.token",
                                               "--channel", "alice", "--entity", "item", "--key", key, "--body", #"{"from":"server"}"#,
                                               "--idempotency-key", idempotencyKey], log: folder + "/post.log")
                process.waitUntilExit()
                return process.terminationStatus
            }

            /// The mirror file `kind` (feed or hook) keeps for alice.
            func mirror(_ kind: String) -> [String: Any] {
                guard let data = FileManager.default.contents(atPath: "\(folder)/\(kind)/alice.json"),
                      let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
                return object
            }

            func received(_ kind: String, _ path: String) -> Int { (mirror(kind)["received"] as? [String: Int])?[path] ?? 0 }

            static func kill9(_ process: Process?) {
                guard let process, process.isRunning else { return }
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }

            func stop() {
                Self.kill9(follower)
                Self.kill9(receiver)
                try? FileManager.default.removeItem(atPath: folder)
            }

            /// One line for a timeout: how often each mirror has `path`, the node's locations
            /// (state, queued, last error) and its webhooks (attempts, last error).
            func explain(_ path: String) -> String {
                let status = (try? node.status()) ?? [:]
                let locations = (status["locations"] as? [[String: Any]] ?? []).filter { $0["self"] as? Bool != true }.map { location in
                    "\(location["url"] ?? "?") \(location["state"] ?? "?") outbox \(location["outbox"] ?? "?") error \(location["last_error"] ?? "none")"
                }
                let hooks = (try? node.cli.ok(["webhook", "list"]).stdout) ?? "?"
                return "\(node.name): feed \(received("feed", path)) hook \(received("hook", path)) outbox \(status["outbox"] ?? "?") "
                    + "held \(status["held"] ?? "?") locations [\(locations.joined(separator: "; "))] webhooks \(hooks.filter { !$0.isNewline })"
            }

            func logs() -> String {
                ["follow.log", "hook.log", "post.log"].map { name in
                    "\(node.name)/\(name): " + ((try? String(contentsOfFile: "\(folder)/\(name)", encoding: .utf8)).map { String($0.suffix(600)) } ?? "")
                }.joined(separator: "\n")
            }
        }

        static func servers(_ nodes: [NodeProcess]) async throws -> [PairedServer] {
            let servers = try nodes.map { try PairedServer(node: $0) }
            for server in servers {
                try server.startFollower()
                try await server.startReceiver()
            }
            return servers
        }

        @Test func aChangePostedOnAsServerReachesTheServersOfBAndCOnceByFeedAndByWebhook() async throws {
            let (a, b, c) = try await ThreeSiteTests.cluster()
            let servers = try await Self.servers([a, b, c])
            defer { servers.forEach { $0.stop() }; [a, b, c].forEach { $0.remove() } }
            try await eventually("all three sites to know three locations") { try ThreeSiteTests.converged([a, b, c]) }
            // The post is retried with the same Idempotency-Key, as after a lost answer.
            let began = Date()
            #expect(try servers[0].post(key: "from-a-server", idempotencyKey: "a-1") == 0)
            #expect(try servers[0].post(key: "from-a-server", idempotencyKey: "a-1") == 0)
            _ = try await eventually("B's and C's servers to have A's change by feed and webhook") {
                servers[1...].allSatisfy { s in s.received("feed", "item/from-a-server") == 1 && s.received("hook", "item/from-a-server") == 1 }
            }
            print("paired servers: A's server posted (twice, one key); B's and C's servers had it by feed and webhook \(String(format: "%.2f", Date().timeIntervalSince(began))) s after the first post")
            try await Task.sleep(for: .seconds(1))  // anything more that would arrive would be a duplicate
            for server in servers[1...] {
                for kind in ["feed", "hook"] {
                    #expect(server.received(kind, "item/from-a-server") == 1, "\(server.node.name) \(kind)")
                    #expect(server.mirror(kind)["duplicates"] as? Int == 0, "\(server.node.name) \(kind): \(server.logs())")
                }
            }
            // A's own server made the change: its feed (without local=true) does not hand it back.
            #expect(servers[0].received("feed", "item/from-a-server") == 0)
            #expect(servers[0].received("hook", "item/from-a-server") == 0)
        }

        @Test func killNineDuringDeliveryLosesNothingAndAppliesNothingTwice() async throws {
            let (a, b, c) = try await ThreeSiteTests.cluster()
            let servers = try await Self.servers([a, b, c])
            defer { servers.forEach { $0.stop() }; [a, b, c].forEach { $0.remove() } }
            try await eventually("all three sites to know three locations") { try ThreeSiteTests.converged([a, b, c]) }
            let keys = (0..<300).map { "bulk-\($0)" }
            var headers = ["Authorization": "Bearer \(try a.adminToken)", "Content-Type": "application/json"]
            for (index, chunk) in stride(from: 0, to: keys.count, by: 100).map({ Array(keys[$0..<min($0 + 100, keys.count)]) }).enumerated() {
                let changes = chunk.map { #"{"entity":"item","key":"\#($0)","op":"put","body":"{\"n\":1}"}"# }.joined(separator: ",")
                headers["Idempotency-Key"] = "bulk-\(index)"
                let (code, _) = try await HTTP.post("\(a.adminURL)/api/v1/channels/alice/changes", body: Data("[\(changes)]".utf8), headers: headers)
                #expect(code == 200)
                if index == 0 {
                    // Mid-delivery: B's node and C's feed follower die without a chance to clean up.
                    b.kill9()
                    PairedServer.kill9(servers[2].follower)
                }
            }
            try await Task.sleep(for: .milliseconds(500))
            try await b.start()
            try servers[2].startFollower()
            try await eventually("B's and C's servers to hold all 300 changes", timeout: 60) {
                servers[1...].allSatisfy { s in ["feed", "hook"].allSatisfy { kind in keys.allSatisfy { s.received(kind, "item/\($0)") >= 1 } } }
            }
            for server in servers[1...] {
                for kind in ["feed", "hook"] {
                    let twice = keys.filter { server.received(kind, "item/\($0)") != 1 }
                    #expect(twice.isEmpty, "\(server.node.name) \(kind) applied \(twice.prefix(5)) more than once")
                    #expect((server.mirror(kind)["documents"] as? [String: Any])?.keys.filter { $0.hasPrefix("item/bulk-") }.count == 300)
                }
            }
            let resent = servers[1...].flatMap { s in ["feed", "hook"].map { s.mirror($0)["duplicates"] as? Int ?? 0 } }
            print("paired servers: after kill -9 of B's node and C's follower, every server holds all 300 changes once (pages seen again and dropped by id: \(resent))")
        }

        @Test func anActivityDeliveredOnlyToAReachesEveryPairedServerOnce() async throws {
            let (a, b, c) = try await ThreeSiteTests.cluster()
            let servers = try await Self.servers([a, b, c])
            defer { servers.forEach { $0.stop() }; [a, b, c].forEach { $0.remove() } }
            try await eventually("all three sites to know three locations") { try ThreeSiteTests.converged([a, b, c]) }
            // Dave, a channel on a site that is never served, sends one activity to alice at A only (twice).
            let sender = try RemoteSender()
            defer { sender.remove() }
            let card = try JSONDecoder().decode(SiteCard.self, from: Data(try a.cli.ok(["site", "show"]).stdout.utf8))
            let alice = try PortableID(validating: try a.status()["portable_id"] as? String ?? "")
            let text = #"{"id":"https://d.example/note/1","type":"Create","object":{"type":"Note","content":"hello"}}"#
            for _ in 0..<2 {
                let (code, answer) = try await sender.deliver(activity: text, to: alice, card: card, zot: "\(a.url)/zot")
                #expect(code == 200, "\(answer)")
            }
            let id = ChannelMessage.messageID(activity: text)
            try await eventually("the activity in every paired server's mirror",
                                 explain: { servers.map { $0.explain("inbound/\(id)") + " " + $0.logs().replacingOccurrences(of: "\n", with: " / ") }.joined(separator: " | ") }) {
                servers.allSatisfy { s in ["feed", "hook"].allSatisfy { s.received($0, "inbound/\(id)") >= 1 } }
            }
            try await Task.sleep(for: .seconds(1))
            for server in servers {
                for kind in ["feed", "hook"] {
                    #expect(server.received(kind, "inbound/\(id)") == 1, "\(server.node.name) \(kind): \(server.logs())")
                    let inbound = server.mirror(kind)["inbound"] as? [String: Any]
                    #expect(inbound?.count == 1, "\(server.node.name) \(kind)")
                }
            }
        }
    }

    /// A channel on a site of its own (never served) that signs and seals messages by hand.
    struct RemoteSender {
        let directory: String
        let site: Site
        let dave: HostedChannel

        init() throws {
            directory = tempPath("sender")
            site = try Site.open(directory: directory, create: true, clock: SystemClock(), random: SystemRandom())
            _ = try site.initialise(url: "http://127.0.0.1:\(try freeLoopbackPort())")
            dave = try site.createChannel(nickname: "dave")
        }

        func deliver(activity: String, to recipient: PortableID, card: SiteCard, zot: String) async throws -> (Int, String) {
            let message = ChannelMessage(channel: dave.portableID, from: try site.identity().siteID, guid: dave.guid, publicKey: dave.publicKey,
                                         activity: activity)
            let binding = Envelope.binding(type: .activity, sender: dave.portableID, siteID: message.from, recipientSiteID: card.siteID)
            let sealKey = try Base64URL.decode(card.sealkey, what: "sealkey", length: SealKeyPair.publicKeyLength)
            let payload = try SealedPayload.seal(Array(try WireJSON.encode(message).utf8), to: sealKey, additionalData: binding, random: SystemRandom())
            let body = Array(try WireJSON.encode(Envelope(type: .activity, sender: dave.portableID, siteID: message.from,
                                                          recipients: [recipient], data: payload)).utf8)
            let signer = RequestSigner(keys: try site.channelKeys(dave), idURL: "\(try site.identity().url)/channel/dave", random: SystemRandom())
            let response = try await URLSessionTransport(timeout: 10).send(try signer.post(url: zot, body: body, now: site.clock.nowMilliseconds()))
            return (response.status, String(decoding: response.body, as: UTF8.self))
        }

        func remove() { try? FileManager.default.removeItem(atPath: directory) }
    }
}
