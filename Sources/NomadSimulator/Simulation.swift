import Foundation
import NomadCrypto
import NomadEngine
import NomadModel

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
        /// At most this many new clones joining during the run (from another site's export).
        public var maxJoins = 1
        /// At most this many rekeys during the run (each `update` or linking at random). Off by
        /// default: a site restored from a backup older than its own rekey does not always heal
        /// yet (docs/OPERATIONS.md, Simulation).
        public var maxRekeys = 0
        /// False replays the rule before docs/PROTOCOL.md §3.2: a `fork` answer is only a
        /// refusal, and the site that reused its writer never takes its entries back.
        public var healsForks = true
        /// True replays the rule before refusals recorded nothing: a refused packet still
        /// records the sender's report (vector and digest) on the receiver.
        public var recordsRefusedReports = false

        public init(seed: UInt64, sites: Int = 3, steps: Int = 60) {
            self.seed = seed
            self.sites = sites
            self.steps = steps
        }

        public var reproduction: String {
            "nomadsync simulate --seed \(seed) --sites \(sites) --steps \(steps) --max-restores \(maxRestores) --max-joins \(maxJoins)"
                + " --max-rekeys \(maxRekeys)"
                + (healsForks ? "" : " --no-fork-heal") + (recordsRefusedReports ? " --record-refused-reports" : "")
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
        /// Clones that joined during the run, location changes made, and pairs of writes to
        /// the same document with equal HLCs (the origin breaks the tie).
        public var joins: Int
        public var rekeys: Int
        public var locationChanges: Int
        public var equalHLCs: Int
        /// Times a site raised its `diverged` alarm on a packet during the run (a fork can make
        /// two clones hold different entries at one place until the heal's `voided` list arrives).
        public var divergedAlarms: Int
        /// Refused packets after which the receiver's status had changed (must stay 0).
        public var refusalsThatWrote: Int
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
    var joins = 0
    var rekeys = 0
    var locationChanges = 0
    var equalHLCs = 0
    var divergedAlarms = 0
    var refusalsThatWrote = 0
    static let channel = "c"
    /// Heartbeats every virtual second, small packets and pages, so a short run exercises them.
    static let policy = DeliveryPolicy(heartbeatMilliseconds: 1_000, packetEntries: 50)

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
                      restores: restores, heals: heals, joins: joins, rekeys: rekeys, locationChanges: locationChanges, equalHLCs: equalHLCs,
                      divergedAlarms: divergedAlarms, refusalsThatWrote: refusalsThatWrote,
                      failure: failure, trace: trace)
    }

    func log(_ line: String) { trace.append(line) }

    // MARK: Set-up

    func setUp() throws {
        for i in 0..<max(2, configuration.sites) {
            let skew = Int64(dice.below(60_000)) - 30_000
            sites.append(try SimulatedSite(index: i, seed: dice.next(), world: world, skew: skew, policy: Self.policy))
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
        let roll = dice.below(102)
        switch roll {
        case 100...: try rekey(on: dice.pick(sites))
        case 0..<32: try write(on: dice.pick(sites))
        case 32..<34: try twinWrite()
        case 34..<54: try deliveryPass(dice.pick(sites))
        case 54..<79: try deliverOne()
        case 79..<88: try catchUp(dice.pick(sites), pages: 1)
        case 88..<89: try changeLocation(of: dice.pick(sites))
        case 89..<90: try join()
        case 90..<93:
            let (a, b) = (dice.below(sites.count), dice.below(sites.count))
            if a != b { network.toggle(a, b); log("partition \(a)-\(b) \(network.isCut(a, b) ? "cut" : "mended")") }
        case 93..<95:
            let site = dice.pick(sites)
            for message in network.drop(from: site.index) { _ = try site.planner.record(.unreachable("crashed"), of: message.action) }
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

    /// A site gives the channel a new key; the others switch when they apply its `key` entry.
    func rekey(on site: SimulatedSite) throws {
        guard rekeys < configuration.maxRekeys else { return }
        let update = dice.below(2) == 0
        let outcome = try site.site.rekey(nickname: Self.channel, update: update)
        rekeys += 1
        log("rekey \(site.index) \(update ? "update" : "link") \(outcome.newPortableID.text.prefix(6))")
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

    /// Two sites write the same document at the same instant: their clocks are set to one
    /// reading past every HLC issued so far, so both entries carry the same HLC.
    func twinWrite() throws {
        let a = dice.below(sites.count)
        let b = (a + 1 + dice.below(sites.count - 1)) % sites.count
        let instant = sites.map { $0.clock.nowMilliseconds() }.reduce(0, max) + 61_000
        sites[a].clock.set(instant)
        sites[b].clock.set(instant)
        let key = "k\(dice.below(5))"
        var hlcs: [HybridTimestamp] = []
        for index in [a, b] {
            let body = #"{"w":\#(model.puts.count + model.deletes + 1)}"#
            let entry = try sites[index].site.append(nickname: Self.channel, [Change(entity: "item", key: key, op: .put, body: body)])[0]
            model.puts.append(.init(site: index, body: body))
            hlcs.append(entry.hlc)
        }
        if hlcs[0] == hlcs[1] { equalHLCs += 1 }
        log("twin write \(a),\(b) item/\(key) hlc \(hlcs[0] == hlcs[1] ? "equal" : "different")")
    }

    /// A site publishes its location again with another fallback URL.
    func changeLocation(of site: SimulatedSite) throws {
        locationChanges += 1
        try site.site.setFallbacks(nickname: Self.channel, ["https://s\(site.index)-\(locationChanges).sim"])
        log("location \(site.index) fallback \(locationChanges)")
    }

    /// A new clone joins from another site's export, as `channel import` makes one; the others
    /// learn of it from its first packet (which carries its location entry).
    func join() throws {
        guard joins < configuration.maxJoins else { return }
        let from = dice.pick(sites)
        let site = try SimulatedSite(index: sites.count, seed: dice.next(), world: world, skew: Int64(dice.below(60_000)) - 30_000,
                                     policy: Self.policy)
        _ = try site.site.importDocument(try from.site.exportDocument(nickname: Self.channel))
        sites.append(site)
        joins += 1
        log("join \(site.index) from \(from.index)")
    }

    /// What the delivery worker does for one site: the planner's sends, except to a location
    /// that still has a packet of ours in flight (one request at a time, as the worker).
    func deliveryPass(_ site: SimulatedSite) throws {
        for send in try site.planner.sends(channel: try site.channel()) {
            guard let to = sites.firstIndex(where: { $0.siteID == send.location.siteID }), !network.outstanding(site.index, to) else { continue }
            network.send(.init(from: site.index, to: to, action: send, token: Hex.encode(dice.bytes(12))))
            log("send \(site.index)->\(to) \(send.packet.entryCount)")
        }
    }

    /// Delivers one packet in flight, chosen at random (reordering), maybe lost or duplicated,
    /// and hands the answer to the sender's planner.
    func deliverOne(healing: Bool = false) throws {
        guard !network.queue.isEmpty else { return }
        let index = healing ? 0 : dice.below(network.queue.count)
        let message = network.take(at: index)
        let sender = sites[message.from]
        if !healing, network.isCut(message.from, message.to) || dice.below(100) < configuration.lossPercent {
            _ = try sender.planner.record(.unreachable("lost"), of: message.action)
            log("lost \(message.from)->\(message.to)")
            return
        }
        if !healing, !message.duplicate, dice.below(100) < configuration.duplicatePercent {
            var copy = message
            copy.duplicate = true
            network.queue.append(copy)
        }
        let receipt = sites[message.to].receive(message, recordingRefusedReports: configuration.recordsRefusedReports)
        var answer = receipt.answer
        if receipt.healed { heals += 1 }
        if receipt.diverged { divergedAlarms += 1 }
        if receipt.refusalWrote { refusalsThatWrote += 1 }
        log("deliver \(message.from)->\(message.to) \(Self.summary(answer))\(receipt.diverged ? " diverged" : "")\(receipt.refusalWrote ? " REFUSAL WROTE" : "")")
        guard !message.duplicate else { return }  // nobody waits for a duplicate's answer
        if !configuration.healsForks, case .refused(var refusal) = answer, refusal.fork != nil {
            refusal.body?.code = nil  // a sender of the old rule: a fork is only a refusal
            answer = .refused(refusal)
        }
        if case .healed = try sender.planner.record(answer, of: message.action) {
            heals += 1
            log("heal \(message.from) after \(Self.summary(answer))")
        }
    }

    static func summary(_ answer: PeerAnswer<DeliveryAnswer>) -> String {
        switch answer {
        case .answered: return "accepted"
        case .refused(let refusal):
            if let fork = refusal.fork { return "fork \(fork.seq)" }
            return refusal.unknownLocation ? "unknown sender" : "refused \(refusal.status) \((refusal.body?.message ?? "").prefix(60))"
        case .unreachable(let reason): return "unreachable \(reason)"
        }
    }

    /// What catch-up does for one site: the planner's pulls, page by page, each answer served
    /// by the source site's engine as the sync pull route serves it.
    func catchUp(_ site: SimulatedSite, pages: Int, healing: Bool = false) throws {
        var left = pages
        for pull in try site.planner.pulls(channel: try site.channel()) {
            var next: PullAction? = pull
            while let action = next, left > 0 {
                guard let from = sites.firstIndex(where: { $0.siteID == action.source.siteID }) else { break }
                let answer: PeerAnswer<SealedPage>
                if !healing, network.isCut(site.index, from) {
                    answer = .unreachable("partition")
                } else {
                    left -= 1
                    answer = try serve(action, by: sites[from], to: site)
                }
                let step = try site.planner.record(answer, of: action)
                switch step.event {
                case .applied(let report, let pulled):
                    log("pull \(site.index)<-\(from) \(action.origin.text.prefix(4)) \(pulled) applied \(report.applied)")
                case .failed(_, let reason, _, _):
                    log("pull \(site.index)<-\(from) failed: \(reason.prefix(40))")
                }
                next = step.next
            }
            if left == 0 { return }
        }
    }

    /// What `GET /sync/{portable_id}/entries` answers (after its HTTP checks).
    func serve(_ action: PullAction, by server: SimulatedSite, to requester: SimulatedSite) throws -> PeerAnswer<SealedPage> {
        do {
            // The route serves the id the requester names (its current one), under any id the
            // channel had; an id the server has not heard of yet is 403.
            let asked = try requester.channel().portableID
            guard let named = try server.site.channel(named: asked) else {
                return .refused(PeerRefusal(url: action.source.url, status: 403, body: ErrorBody(message: "not hosted under \(asked.text.prefix(6))")))
            }
            return .answered(try server.site.servePage(channel: named.channel, as: asked, to: try requester.ownLocation(), origin: action.origin,
                                                       after: action.after, limit: action.limit))
        } catch let error as EngineError {
            let (status, body) = error.refusal
            return .refused(PeerRefusal(url: action.source.url, status: status, body: body))
        }
    }

    func restore(_ site: SimulatedSite) throws {
        guard restores < configuration.maxRestores, let backup = site.backups.isEmpty ? nil : dice.pick(site.backups) else { return }
        for message in network.drop(from: site.index) { _ = message }
        try site.restore(from: backup)
        // A write that no site holds any more (applied or held) went with the restore.
        let held = try Set(sites.flatMap { try $0.bodies() })
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
        if refusalsThatWrote > 0 { return "\(refusalsThatWrote) refused packets changed the receiver's status (see REFUSAL WROTE in the trace)" }
        let statuses = try sites.map { try $0.site.syncStatus(nickname: Self.channel) }
        if Set(statuses.map(\.digest)).count != 1 { return "digests differ after healing: \(statuses.map { $0.digest.prefix(12) })" }
        for (i, s) in statuses.enumerated() {
            if s.held != 0 {
                let held = try sites[i].site.heldEntries(nickname: Self.channel).map { "\($0.origin.text.prefix(4)):\($0.seq)" }
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
                let hits = try (site.site.log(nickname: Self.channel) + site.site.heldEntries(nickname: Self.channel))
                    .filter { $0.body == lost.body }
                    .map { "\($0.origin.text.prefix(4)):\($0.seq) \($0.id.prefix(6)) voided \(try site.site.isVoided(nickname: Self.channel, entryID: $0.id))" }
                seen.append("site \(site.index): \(hits)")
            }
            return "write \(lost.body) made on site \(lost.site) is lost (\(seen.joined(separator: "; ")))"
        }
        for site in sites {
            if let wrong = try WinnerModel.mismatch(site: site.site, channel: Self.channel) { return "site \(site.index): \(wrong)" }
        }
        let keys = try sites.map { try $0.site.channel(nickname: Self.channel) }
        if Set(keys.map(\.publicKey)).count != 1 || Set(keys.map(\.portableID)).count != 1 {
            return "sites end on different channel keys: \(keys.map { $0.portableID.text.prefix(6) })"
        }
        if let pending = statuses.firstIndex(where: { $0.rekeyPending != nil }) { return "site \(pending) still has a rekey pending" }
        let states = try sites.map { try $0.site.state(nickname: Self.channel, includeDeleted: true).map { "\($0.entity)/\($0.key)=\($0.entryID)" } }
        if Set(states).count != 1 { return "states differ after healing" }
        return nil
    }
}
