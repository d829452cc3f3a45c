import Foundation
import NomadCrypto
import NomadEngine
import NomadModel
import NomadStore

/// A seeded run of several sites' engines on a virtual clock and a virtual network, with the
/// faults a real deployment meets: lost, duplicated, reordered and delayed packets, partitions,
/// crashes, restores from older backups and skewed clocks. After a healing phase every site must
/// hold the same entries and state, nothing held or diverged, and every write that survived
/// (was not lost with a restored backup before any other site had it) must be present.
///
/// The same configuration gives the same event sequence: `traceDigest` hashes every decision.
///
/// ```swift
/// let result = try Simulation(Simulation.Configuration(seed: 42, sites: 3, steps: 200)).run()
/// if let failure = result.failure { print(failure, result.reproduction) }
/// ```
public final class Simulation {
    public struct Configuration: Sendable, Equatable {
        public var seed: UInt64
        public var sites: Int
        public var steps: Int
        /// Percent of packets lost and duplicated while not healing.
        public var lossPercent = 10
        public var duplicatePercent = 10
        /// At most this many restores from an older backup per run.
        public var maxRestores = 1
        /// False replays the rule before docs/PROTOCOL.md §3.2: a `fork` answer is only a
        /// refusal, and the site that reused its writer never takes its entries back.
        public var healsForks = true

        public init(seed: UInt64, sites: Int = 3, steps: Int = 60) {
            self.seed = seed
            self.sites = sites
            self.steps = steps
        }

        public var reproduction: String {
            "nomadsync simulate --seed \(seed) --sites \(sites) --steps \(steps) --max-restores \(maxRestores)"
        }
    }

    public struct Result: Sendable {
        public var configuration: Configuration
        /// BLAKE2b-256 (hex) of the event trace: equal for equal configurations.
        public var traceDigest: String
        public var events: Int
        public var writes: Int
        public var restores: Int
        public var heals: Int
        public var failure: String?
        /// The event trace, one line per event (what `traceDigest` hashes).
        public var trace: [String]
        public var reproduction: String { configuration.reproduction }
    }

    let configuration: Configuration
    var dice: Dice
    var world: UInt64 = 1_763_700_000_000
    var sites: [SimulatedSite] = []
    var network = SimulatedNetwork()
    var trace: [String] = []
    var model = WriteModel()
    var restores = 0
    var heals = 0
    static let channel = "c"

    public init(_ configuration: Configuration) {
        self.configuration = configuration
        dice = Dice(seed: configuration.seed)
    }

    /// Runs the scenario; a failed invariant is reported in `Result.failure`, never trapped.
    public func run() throws -> Result {
        var failure: String?
        do {
            try setUp()
            for step in 0..<configuration.steps { try self.step(step) }
            try heal()
            failure = try check()
        } catch {
            failure = "error: \(error)"
        }
        let digest = Hex.encode(Blake2b.hash256(Array(trace.joined(separator: "\n").utf8)))
        return Result(configuration: configuration, traceDigest: digest, events: trace.count, writes: model.puts.count,
                      restores: restores, heals: heals, failure: failure, trace: trace)
    }

    func log(_ line: String) { trace.append(line) }

    // MARK: Set-up

    func setUp() throws {
        for i in 0..<max(2, configuration.sites) {
            let skew = Int64(dice.below(60_000)) - 30_000
            sites.append(try SimulatedSite(index: i, seed: dice.next(), world: world, skew: skew))
        }
        _ = try sites[0].site.createChannel(nickname: Self.channel)
        let document = try sites[0].site.exportDocument(nickname: Self.channel)
        for other in sites.dropFirst() { _ = try other.site.importDocument(document) }
        // Every clone's announcement reaches every other before the run (as after a first heartbeat).
        for site in sites {
            for other in sites where other !== site { _ = try site.site.replay(nickname: Self.channel, try other.site.log(nickname: Self.channel)) }
        }
        log("setup \(sites.count) sites")
    }

    // MARK: One step

    func step(_ n: Int) throws {
        world += UInt64(dice.below(500))
        for site in sites { site.follow(world) }
        let roll = dice.below(100)
        switch roll {
        case 0..<35: try write(on: dice.pick(sites))
        case 35..<55: try deliveryPass(dice.pick(sites))
        case 55..<80: try deliverOne()
        case 80..<90: try catchUp(dice.pick(sites), pages: 1)
        case 90..<93:
            let (a, b) = (dice.below(sites.count), dice.below(sites.count))
            if a != b { network.toggle(a, b); log("partition \(a)-\(b) \(network.isCut(a, b) ? "cut" : "mended")") }
        case 93..<95:
            let site = dice.pick(sites)
            for message in network.drop(from: site.index) { try site.failed(message.to, sites: sites, unreachable: true) }
            site.restart()
            log("crash \(site.index)")
        case 95..<98:
            let site = dice.pick(sites)
            try site.backUp()
            log("backup \(site.index)")
        default:
            try restore(dice.pick(sites))
        }
    }

    func write(on site: SimulatedSite) throws {
        let key = "k\(dice.below(5))"
        let entity = dice.below(5) == 0 ? "x-sim" : "item"
        let delete = dice.below(4) == 0
        let body = delete ? "" : #"{"w":\#(model.puts.count + model.deletes + 1)}"#
        let change = Change(entity: entity, key: key, op: delete ? .delete : .put, body: body)
        let entry = try site.site.append(nickname: Self.channel, [change])[0]
        if delete { model.deletes += 1 } else { model.puts.append(.init(site: site.index, body: body)) }
        log("write \(site.index) \(entity)/\(key) \(delete ? "delete" : body) as \(entry.origin.text.prefix(4)):\(entry.seq) \(entry.id.prefix(6))")
    }

    /// What the delivery worker does for one site: each target not in backoff and with nothing
    /// in flight gets its next packet (a heartbeat when nothing is queued).
    func deliveryPass(_ site: SimulatedSite) throws {
        for target in try site.site.deliveryTargets(channel: try site.site.channel(nickname: Self.channel)) {
            guard let to = sites.firstIndex(where: { $0.siteID == target.location.siteID }),
                  target.peer.nextAttempt <= site.clock.nowMilliseconds(), !network.outstanding(site.index, to) else { continue }
            let packet = try site.site.nextPacket(channel: Self.channel, to: target.location)
            network.send(.init(from: site.index, to: to, envelope: packet.envelope, positions: packet.positions,
                               token: Hex.encode(dice.bytes(12))))
            log("send \(site.index)->\(to) \(packet.positions.count)")
        }
    }

    /// Delivers one packet in flight, chosen at random (reordering), maybe lost or duplicated.
    func deliverOne(healing: Bool = false) throws {
        guard !network.queue.isEmpty else { return }
        let index = healing ? 0 : dice.below(network.queue.count)
        let message = network.take(at: index)
        let sender = sites[message.from]
        if !healing, network.isCut(message.from, message.to) || dice.below(100) < configuration.lossPercent {
            try sender.failed(message.to, sites: sites, unreachable: true)
            log("lost \(message.from)->\(message.to)")
            return
        }
        if !healing, !message.duplicate, dice.below(100) < configuration.duplicatePercent {
            var copy = message
            copy.duplicate = true
            network.queue.append(copy)
        }
        let outcome = sites[message.to].receive(message)
        log("deliver \(message.from)->\(message.to) \(outcome.summary)")
        guard !message.duplicate else { return }
        switch outcome {
        case .accepted(let healed):
            try sender.site.acknowledged(channel: try sender.site.channel(nickname: Self.channel), siteID: sites[message.to].siteID,
                                         positions: message.positions)
            if healed { heals += 1 }
        case .fork(let origin, let seq):
            if configuration.healsForks, try sender.site.forkAnswered(nickname: Self.channel, origin: origin, seq: seq) != nil {
                heals += 1
                log("heal \(message.from) after fork \(seq)")
            } else {
                try sender.failed(message.to, sites: sites, unreachable: false)
            }
        case .unknownSender:
            try sender.site.introduce(nickname: Self.channel, to: sites[message.to].siteID)
            try sender.failed(message.to, sites: sites, unreachable: false)
        case .refused:
            try sender.failed(message.to, sites: sites, unreachable: false)
        }
    }

    /// What catch-up does for one site: pulls pages of what others reported, from the first
    /// source it can reach.
    func catchUp(_ site: SimulatedSite, pages: Int, healing: Bool = false) throws {
        var left = pages
        for need in try site.site.catchUpNeeds(channel: Self.channel) {
            var after = need.after
            for source in need.sources {
                guard let from = sites.firstIndex(where: { $0.siteID == source.siteID }) else { continue }
                if !healing, network.isCut(site.index, from) { try site.failed(from, sites: sites, unreachable: true); continue }
                while left > 0, after < need.through {
                    left -= 1
                    let served = sites[from]
                    let channel = try served.site.channel(nickname: Self.channel)
                    let answer = try served.site.servePage(channel: channel, to: try site.ownLocation(), origin: need.origin, after: after,
                                                           limit: 50)
                    let page = try site.site.openPage(answer, channel: try site.site.channel(nickname: Self.channel),
                                                      server: try served.ownLocation(), origin: need.origin, after: after)
                    guard let last = page.entries.last else {
                        try site.failed(from, sites: sites, unreachable: false)  // nothing where entries were reported
                        break
                    }
                    do {
                        let report = try site.site.applyPage(page, channel: try site.site.channel(nickname: Self.channel))
                        log("pull \(site.index)<-\(from) \(need.origin.text.prefix(4)) \(page.entries.count) applied \(report.applied)")
                    } catch let error as EngineError {
                        // As the worker does: the source is refused for now and backs off.
                        try site.failed(from, sites: sites, unreachable: false)
                        log("pull \(site.index)<-\(from) refused: \(String(describing: error).prefix(40))")
                        break
                    }
                    after = last.seq
                    if !page.more { break }
                }
                if after >= need.through || left == 0 { break }
            }
            if left == 0 { return }
        }
    }

    func restore(_ site: SimulatedSite) throws {
        guard restores < configuration.maxRestores, let backup = site.backups.isEmpty ? nil : dice.pick(site.backups) else { return }
        for message in network.drop(from: site.index) { _ = message }
        try site.restore(from: backup)
        // A write that no site holds any more (applied or held) went with the restore.
        let held = try Set(sites.flatMap { try SimulatedSite.bodies(in: $0.site.store, channel: Self.channel) })
        model.forget { !held.contains($0) }
        restores += 1
        log("restore \(site.index)")
    }

    // MARK: Healing and checks

    /// Every link up, no loss: rounds of delivery and catch-up until nothing moves.
    func heal() throws {
        network.mendAll()
        var quiet = 0
        for round in 0..<80 {
            world += 2 * 3_600_000  // every backoff has ended
            for site in sites { site.follow(world) }
            for site in sites { try deliveryPass(site) }
            while !network.queue.isEmpty { try deliverOne(healing: true) }
            for site in sites { try catchUp(site, pages: 10_000, healing: true) }
            if try settled() { quiet += 1 } else { quiet = 0 }
            if quiet >= 2 { log("healed after \(round + 1) rounds"); return }
        }
        log("not settled after 80 rounds")
    }

    func settled() throws -> Bool {
        let statuses = try sites.map { try $0.site.syncStatus(nickname: Self.channel) }
        let needs = try sites.allSatisfy { try $0.site.catchUpNeeds(channel: Self.channel).isEmpty }
        return needs && Set(statuses.map(\.digest)).count == 1 && statuses.allSatisfy { $0.outbox == 0 && $0.held == 0 }
            && statuses.allSatisfy { $0.vector == statuses[0].vector }
    }

    /// The invariants; nil when they all hold.
    func check() throws -> String? {
        let statuses = try sites.map { try $0.site.syncStatus(nickname: Self.channel) }
        if Set(statuses.map(\.digest)).count != 1 { return "digests differ after healing: \(statuses.map { $0.digest.prefix(12) })" }
        for (i, s) in statuses.enumerated() {
            if s.held != 0 {
                let held = try sites[i].site.store.read { tx -> [String] in
                    guard let record = try tx.channel(nickname: Self.channel) else { return [] }
                    return try tx.pendingEntries(channel: record.rowID).map { "\($0.origin.text.prefix(4)):\($0.seq)" }
                }
                let vector = s.vector.seqs.map { "\($0.key.text.prefix(4)):\($0.value)" }.sorted()
                return "site \(i) still holds \(s.held) entries \(held) with vector \(vector)"
            }
            if s.outbox != 0 { return "site \(i) still has \(s.outbox) queued" }
            if let why = s.diverged { return "site \(i) is diverged: \(why)" }
        }
        let reference = try sites[0].site.log(nickname: Self.channel)
        let bodies = Set(reference.map(\.body))
        if let lost = model.puts.first(where: { $0.required && !bodies.contains($0.body) }) {
            var seen: [String] = []
            for site in sites {
                let hits = try site.site.store.read { tx -> [String] in
                    guard let record = try tx.channel(nickname: Self.channel) else { return [] }
                    return try (tx.entries(channel: record.rowID) + tx.pendingEntries(channel: record.rowID))
                        .filter { $0.body == lost.body }.map { "\($0.origin.text.prefix(4)):\($0.seq) \($0.id.prefix(6)) voided \(try tx.isVoided(channel: record.rowID, entryID: $0.id))" }
                }
                seen.append("site \(site.index): \(hits)")
            }
            return "write \(lost.body) made on site \(lost.site) is lost (\(seen.joined(separator: "; ")))"
        }
        for site in sites {
            if let wrong = try WinnerModel.mismatch(site: site.site, channel: Self.channel) { return "site \(site.index): \(wrong)" }
        }
        let states = try sites.map { try $0.site.state(nickname: Self.channel, includeDeleted: true).map { "\($0.entity)/\($0.key)=\($0.entryID)" } }
        if Set(states).count != 1 { return "states differ after healing" }
        return nil
    }
}
