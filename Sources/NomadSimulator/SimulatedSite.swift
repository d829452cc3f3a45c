import Foundation
import NomadCrypto
import NomadEngine
import NomadModel

/// One site of a simulation: a `Site` over an in-memory store, on its own skewed clock, with
/// the same `DeliveryPlanner` the delivery worker uses.
final class SimulatedSite {
    let index: Int
    let clock: ManualClock
    let skew: Int64
    let random: SeededRandom
    let policy: DeliveryPolicy
    private(set) var site: Site
    private(set) var backups: [Site] = []
    let siteID: SiteID

    init(index: Int, seed: UInt64, world: UInt64, skew: Int64, policy: DeliveryPolicy) throws {
        self.index = index
        self.skew = skew
        self.policy = policy
        clock = ManualClock(milliseconds: Self.local(world, skew))
        random = SeededRandom(seed: seed)
        site = try Site.inMemory(clock: clock, random: random)
        siteID = try site.initialise(url: "https://s\(index).sim").siteID
    }

    var planner: DeliveryPlanner { DeliveryPlanner(site: site, policy: policy) }

    func channel() throws -> HostedChannel { try site.channel(nickname: Simulation.channel) }

    static func local(_ world: UInt64, _ skew: Int64) -> UInt64 {
        skew >= 0 ? world + UInt64(skew) : world - UInt64(-skew)
    }

    /// The site's clock follows world time with its skew (never backwards).
    func follow(_ world: UInt64) {
        let target = Self.local(world, skew)
        if target > clock.nowMilliseconds() { clock.set(target) }
    }

    /// A crash and restart: the store (committed transactions) is all that survives.
    func restart() { site = site.reopened() }

    func backUp() throws { backups.append(try site.snapshot()) }

    /// Starts again from a copy of an older backup, as an operator restoring one would.
    func restore(from backup: Site) throws { site = try backup.snapshot() }

    func ownLocation() throws -> Location {
        guard let own = try site.liveLocations(of: try channel()).first(where: { $0.siteID == siteID }) else {
            throw EngineError.channelNotFound(Simulation.channel)
        }
        return own
    }

    /// Every entry body the site holds, applied or held.
    func bodies() throws -> [String] {
        try (site.log(nickname: Simulation.channel) + site.heldEntries(nickname: Simulation.channel)).map(\.body)
    }

    /// What `POST /zot` answers once the HTTP checks passed: open, then accept in one
    /// transaction; a refusal is the status and body the server would send.
    func receive(_ message: SimulatedNetwork.Message, recordingRefusedReports: Bool = false) -> Receipt {
        let before = try? site.fingerprint(nickname: Simulation.channel)
        let opened: OpenedSync
        do { opened = try site.openSync(message.action.packet.envelope) } catch { return Receipt(answer: refusal(error)) }
        do {
            let accepted = try site.acceptSync(opened, token: message.token)
            return Receipt(answer: .answered(DeliveryAnswer(deliveryReport: [])), healed: accepted.healed != nil,
                           diverged: accepted.divergence == .diverged)
        } catch {
            var receipt = Receipt(answer: refusal(error))
            if recordingRefusedReports {  // the old rule: the report was recorded before the replay
                receipt.diverged = (try? site.heard(channel: opened.channel, from: opened.sender.siteID, vector: opened.data.vector,
                                                    digest: opened.data.digest)) == .diverged
            }
            // A refusal records nothing (docs/PROTOCOL.md §7): everything must read as before.
            receipt.refusalWrote = (try? site.fingerprint(nickname: Simulation.channel)) != before
            return receipt
        }
    }

    /// What receiving a packet did.
    struct Receipt {
        var answer: PeerAnswer<DeliveryAnswer>
        /// The receiver took a new writer (the sender's report showed it was restored).
        var healed = false
        /// The receiver raised its `diverged` alarm.
        var diverged = false
        /// The packet was refused, yet the receiver changed: the bug the old rule had.
        var refusalWrote = false
    }

    /// The status and body the server would answer with.
    func refusal(_ error: any Error) -> PeerAnswer<DeliveryAnswer> {
        let url = "https://s\(index).sim"
        guard let error = error as? EngineError else { return .refused(PeerRefusal(url: url, status: 400, body: ErrorBody(message: "\(error)"))) }
        let (status, body) = error.refusal
        return .refused(PeerRefusal(url: url, status: status, body: body))
    }
}

/// Packets in flight between simulated sites, and which links are cut.
struct SimulatedNetwork {
    struct Message {
        var from: Int
        var to: Int
        var action: SendAction
        var token: String
        var duplicate = false
    }

    var queue: [Message] = []
    private var cut: Set<[Int]> = []

    mutating func send(_ message: Message) { queue.append(message) }

    mutating func take(at index: Int) -> Message { queue.remove(at: index) }

    /// Whether `from` waits for an answer from `to` (one request at a time, as the worker).
    func outstanding(_ from: Int, _ to: Int) -> Bool { queue.contains { $0.from == from && $0.to == to && !$0.duplicate } }

    /// Drops everything `site` has in flight (it crashed or was restored).
    mutating func drop(from site: Int) -> [Message] {
        let dropped = queue.filter { $0.from == site && !$0.duplicate }
        queue.removeAll { $0.from == site }
        return dropped
    }

    func isCut(_ a: Int, _ b: Int) -> Bool { cut.contains([min(a, b), max(a, b)]) }

    mutating func toggle(_ a: Int, _ b: Int) {
        let link = [min(a, b), max(a, b)]
        if cut.contains(link) { cut.remove(link) } else { cut.insert(link) }
    }

    mutating func mendAll() { cut.removeAll() }
}

/// The writes made, and which of them must survive.
struct WriteModel {
    struct Put {
        var site: Int
        var body: String
        /// False once a restore took it away before any other site held it.
        var required = true
    }

    var puts: [Put] = []
    var deletes = 0

    mutating func forget(where lost: (String) -> Bool) {
        for i in puts.indices where puts[i].required && lost(puts[i].body) { puts[i].required = false }
    }
}

/// The winner rule checked independently of the engine's incremental updates: for every
/// document, the state row must be the log's greatest entry by (hlc, origin, id bytes), and the
/// digest the sum over those winners.
enum WinnerModel {
    static func mismatch(site: Site, channel: String) throws -> String? {
        let log = try site.log(nickname: channel)
        var best: [String: ChangeEntry] = [:]
        for entry in log {
            let document = "\(entry.entity)\u{0}\(entry.key)"
            if let current = best[document], !beats(entry, current) { continue }
            best[document] = entry
        }
        let rows = try site.state(nickname: channel, includeDeleted: true)
        if rows.count != best.count { return "\(rows.count) state rows for \(best.count) documents" }
        let record = try site.channel(nickname: channel)
        var digest = StateDigest.zero
        for row in rows {
            guard let winner = best["\(row.entity)\u{0}\(row.key)"], winner.id == row.entryID else {
                return "\(row.entity)/\(row.key) holds \(row.entryID.prefix(10)), the log's winner is another entry"
            }
            digest.add(StateDigest.term(guid: record.guid, entity: row.entity, key: row.key, entryID: row.entryID))
        }
        let status = try site.channelStatus(nickname: channel)
        return digest.hex == status.digest ? nil : "the digest is not the sum over the winners"
    }

    static func beats(_ a: ChangeEntry, _ b: ChangeEntry) -> Bool {
        if a.hlc != b.hlc { return a.hlc > b.hlc }
        if a.origin != b.origin { return a.origin > b.origin }
        return b.id.utf8.lexicographicallyPrecedes(a.id.utf8)
    }
}

/// The simulation's own choices (SplitMix64), separate from each site's randomness.
struct Dice {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }

    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: next()) } }
}
