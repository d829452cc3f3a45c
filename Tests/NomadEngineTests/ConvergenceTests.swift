import Foundation
import NomadCrypto
import NomadModel
import Testing
@testable import NomadEngine

/// Property: N replicas make random puts and deletes; entries are delivered in random order,
/// with duplicates and losses; then anti-entropy sends each replica what it lacks. Every replica
/// must end with the same digest and the same state, whatever the seed.
@Suite struct ConvergenceTests {
    /// A small deterministic generator for the test's own choices (SplitMix64).
    struct Dice {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
        mutating func shuffle<T>(_ items: [T]) -> [T] {
            var a = items
            if a.count < 2 { return a }
            for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, below(i + 1)) }
            return a
        }
    }

    static let seeds: [UInt64] = Array(1...12)

    @Test(arguments: seeds)
    func replicasConvergeUnderReorderingDuplicationAndLoss(seed: UInt64) throws {
        var dice = Dice(state: seed)
        let replicaCount = 2 + dice.below(3)  // 2...4
        let sharedClock = ManualClock(milliseconds: TestSite.start)
        var replicas: [TestSite] = []
        defer { replicas.forEach { $0.remove() } }
        for i in 0..<replicaCount {
            // Each replica gets its own clock, drifting within a few seconds of the others.
            let clock = ManualClock(milliseconds: sharedClock.nowMilliseconds() + UInt64(dice.below(3000)))
            replicas.append(try TestSite(url: "https://r\(i).example", seed: seed * 100 + UInt64(i), clock: clock))
        }
        _ = try replicas[0].site.createChannel(nickname: "c")
        for r in replicas.dropFirst() { try replicas[0].clone("c", to: r) }

        // Rounds of local writes and lossy, reordered, duplicated delivery.
        var inFlight: [[ChangeEntry]] = Array(repeating: [], count: replicaCount)
        for _ in 0..<(20 + dice.below(20)) {
            let writer = dice.below(replicaCount)
            let r = replicas[writer]
            r.clock.advance(by: UInt64(dice.below(50)))
            let key = "k\(dice.below(6))"
            let entity = dice.chance(20) ? "x-extra" : "item"
            let entry = dice.chance(25)
                ? try r.delete("c", key, entity: entity)
                : try r.put("c", key, "{\"v\":\(dice.next() % 1000),\"by\":\(writer)}", entity: entity)
            for target in 0..<replicaCount where target != writer {
                if dice.chance(30) { continue }                        // lost
                inFlight[target].append(entry)
                if dice.chance(20) { inFlight[target].append(entry) }  // duplicated
            }
            // Sometimes deliver a random, shuffled part of what is in flight.
            let target = dice.below(replicaCount)
            if dice.chance(40), !inFlight[target].isEmpty {
                let batch = dice.shuffle(inFlight[target])
                let cut = dice.below(batch.count + 1)
                _ = try replicas[target].site.replay(nickname: "c", Array(batch.prefix(cut)))
                inFlight[target] = Array(batch.dropFirst(cut))
            }
        }
        // Deliver the rest (shuffled), then anti-entropy: everyone's full log, shuffled, twice.
        for (i, r) in replicas.enumerated() where !inFlight[i].isEmpty {
            _ = try r.site.replay(nickname: "c", dice.shuffle(inFlight[i]))
        }
        for _ in 0..<2 {
            for (i, r) in replicas.enumerated() {
                for (j, other) in replicas.enumerated() where j != i {
                    _ = try r.site.replay(nickname: "c", dice.shuffle(try other.site.log(nickname: "c")))
                }
            }
        }

        let reference = replicas[0]
        for r in replicas {
            let status = try r.site.channelStatus(nickname: "c")
            #expect(status.held == 0 && status.missing.isEmpty && status.diverged == nil)
            #expect(status.digest == (try reference.digest("c")))
            #expect(status.vector == (try reference.site.channelStatus(nickname: "c").vector))
            #expect(try r.stateSnapshot("c") == reference.stateSnapshot("c"))
            #expect(status.digest == (try r.recomputedDigest("c")))
        }
    }

    @Test func theDigestDoesNotDependOnArrivalOrder() throws {
        let a = try TestSite(seed: 1); defer { a.remove() }
        let b = try TestSite(url: "https://b.example", seed: 2); defer { b.remove() }
        let c = try TestSite(url: "https://c.example", seed: 3); defer { c.remove() }
        _ = try a.site.createChannel(nickname: "ch")
        try a.clone("ch", to: b)
        try a.clone("ch", to: c)
        // a writes 20 more entries after the clones were made.
        let before = try a.site.log(nickname: "ch").count
        for i in 0..<20 { _ = try a.put("ch", "k\(i % 5)", "{\"i\":\(i)}") }
        let fresh = Array(try a.site.log(nickname: "ch").dropFirst(before))
        var dice = Dice(state: 99)
        _ = try b.site.replay(nickname: "ch", fresh)                  // in order
        for chunk in dice.shuffle(fresh).chunked(3) {                // c: shuffled, in small batches
            _ = try c.site.replay(nickname: "ch", chunk)
        }
        // Swap b's and c's own location entries so both hold the same set.
        _ = try b.site.replay(nickname: "ch", try c.site.log(nickname: "ch"))
        _ = try c.site.replay(nickname: "ch", try b.site.log(nickname: "ch"))
        #expect(try b.digest("ch") == c.digest("ch"))
        #expect(try b.stateSnapshot("ch") == c.stateSnapshot("ch"))
    }
}

extension Array {
    func chunked(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
