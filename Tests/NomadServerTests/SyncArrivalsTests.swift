import Foundation
import NomadCrypto
import NomadModel
import Testing
@testable import NomadServer

/// Sync packets of one channel and site that are in the server together reach the writer in the
/// order of their entries; others are not held up.
struct SyncArrivalsTests {
    static let origin = try! OriginID(validating: Base64URL.encode([UInt8](repeating: 7, count: 16)))

    static func entries(_ seqs: ClosedRange<UInt64>) -> [ChangeEntry] {
        seqs.map { ChangeEntry(origin: origin, seq: $0, hlc: HybridTimestamp(milliseconds: 1_000 + $0, counter: 0),
                               entity: "note", key: "n\($0)", op: .put, body: "{}") }
    }

    /// What happened, in order.
    actor Events {
        var items: [String] = []
        func add(_ item: String) { items.append(item) }
        /// Waits (bounded) until `item` was added; false when it never was.
        func eventually(_ item: String) async -> Bool {
            for _ in 0..<500 where !items.contains(item) { try? await Task.sleep(for: .milliseconds(10)) }
            return items.contains(item)
        }
    }

    /// Two packets of one channel and site in the server, the later one opened with entries
    /// 501…1,000 and waiting for its turn (a task that adds "late accepted" when it gets it).
    struct TwoArrivals {
        let arrivals = SyncArrivals(longestWait: .seconds(60))
        let events = Events()
        var early: UInt64 = 0, late: UInt64 = 0
        var waiting: Task<Void, Never>?

        static func lateWaiting() async -> TwoArrivals {
            var two = TwoArrivals()
            two.early = await two.arrivals.arrive(channel: "c", site: "s")
            two.late = await two.arrivals.arrive(channel: "c", site: "s")
            await two.arrivals.opened(two.late, entries: SyncArrivalsTests.entries(501...1_000))
            let (arrivals, events, late) = (two.arrivals, two.events, two.late)
            two.waiting = Task { await arrivals.turn(late); await events.add("late accepted") }
            return two
        }

        /// The early packet leaves (accepted or refused); then the late one must get its turn.
        func earlyLeaves(saying event: String) async {
            await events.add(event)
            await arrivals.leave(early)
            await waiting?.value
            await arrivals.leave(late)
        }
    }

    @Test func aPacketWithLaterEntriesWaitsUntilTheEarlierOneLeaves() async throws {
        let arrivals = SyncArrivals(longestWait: .seconds(60))
        let early = await arrivals.arrive(channel: "c", site: "s")
        let late = await arrivals.arrive(channel: "c", site: "s")
        await arrivals.opened(late, entries: Self.entries(501...1_000))
        await arrivals.opened(early, entries: Self.entries(1...500))
        let events = Events()
        let waiting = Task { await arrivals.turn(late); await events.add("late accepted") }
        await arrivals.turn(early)
        await events.add("early accepted")
        try await Task.sleep(for: .milliseconds(100))
        await events.add("early left")
        await arrivals.leave(early)
        await waiting.value
        await arrivals.leave(late)
        #expect(await events.items == ["early accepted", "early left", "late accepted"])
        #expect(await arrivals.count == 0)
    }

    @Test func anEarlierArrivalStillBeingOpenedHoldsALaterOne() async throws {
        let two = await TwoArrivals.lateWaiting()
        try await Task.sleep(for: .milliseconds(100))
        // The earlier one opens with the lower entries: it goes first, the later one still waits.
        await two.events.add("early opened")
        await two.arrivals.opened(two.early, entries: Self.entries(1...500))
        await two.arrivals.turn(two.early)
        try await Task.sleep(for: .milliseconds(100))
        await two.earlyLeaves(saying: "early left")
        #expect(await two.events.items == ["early opened", "early left", "late accepted"])
        #expect(await two.arrivals.count == 0)
    }

    @Test func anEarlierArrivalThatFailsToOpenReleasesTheLaterOne() async throws {
        let two = await TwoArrivals.lateWaiting()
        try await Task.sleep(for: .milliseconds(100))
        await two.earlyLeaves(saying: "refused")
        #expect(await two.events.items == ["refused", "late accepted"])
    }

    @Test func packetsOfAnotherChannelOrSiteDoNotWait() async throws {
        let arrivals = SyncArrivals(longestWait: .seconds(60))
        let first = await arrivals.arrive(channel: "c", site: "s")
        await arrivals.opened(first, entries: Self.entries(1...500))
        let otherSite = await arrivals.arrive(channel: "c", site: "t")
        let otherChannel = await arrivals.arrive(channel: "d", site: "s")
        await arrivals.opened(otherSite, entries: Self.entries(501...1_000))
        await arrivals.opened(otherChannel, entries: Self.entries(501...1_000))
        let events = Events()
        let waiting = Task {
            await arrivals.turn(otherSite)
            await arrivals.turn(otherChannel)
            await events.add("others accepted")
        }
        #expect(await events.eventually("others accepted"))
        await arrivals.leave(first)
        await waiting.value
    }

    @Test func aPacketWithTheLowerEntriesDoesNotWaitForALaterOne() async throws {
        let arrivals = SyncArrivals(longestWait: .seconds(60))
        let later = await arrivals.arrive(channel: "c", site: "s")
        let lower = await arrivals.arrive(channel: "c", site: "s")
        await arrivals.opened(later, entries: Self.entries(501...1_000))
        await arrivals.opened(lower, entries: Self.entries(1...500))
        let events = Events()
        let waiting = Task { await arrivals.turn(lower); await events.add("lower accepted") }
        #expect(await events.eventually("lower accepted"))
        await waiting.value
    }

    @Test func aWaitEndsAfterTheLongestWait() async throws {
        let arrivals = SyncArrivals(longestWait: .milliseconds(200))
        let stuck = await arrivals.arrive(channel: "c", site: "s")
        let late = await arrivals.arrive(channel: "c", site: "s")
        await arrivals.opened(stuck, entries: Self.entries(1...500))
        await arrivals.opened(late, entries: Self.entries(501...1_000))
        await arrivals.turn(late)
        // It went on although the packet in front of it is still here.
        #expect(await arrivals.count == 2)
        await arrivals.leave(late)
        await arrivals.leave(stuck)
        #expect(await arrivals.count == 0)
    }
}
