import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import NomadSimulator

/// Seeded multi-site scenarios with faults: each must heal to one state with every surviving write.
struct SimulatorTests {
    /// How many short scenarios the suite runs (NOMADSYNC_SIM_SCENARIOS overrides; CI keeps 2,000).
    static let scenarios = Int(ProcessInfo.processInfo.environment["NOMADSYNC_SIM_SCENARIOS"] ?? "") ?? 2000
    static let batches = 8

    @Test(arguments: 0..<batches)
    func seededScenariosHealToOneStateWithEveryWrite(batch: Int) async throws {
        let per = (Self.scenarios + Self.batches - 1) / Self.batches
        let seeds = UInt64(batch * per + 1)...UInt64((batch + 1) * per)
        let failed = try await onOwnThread { () throws -> Simulation.Result? in
            for seed in seeds {
                let result = try Simulation(.init(seed: seed, sites: 2 + Int(seed % 2), steps: 30)).run()
                if result.failure != nil { return result }
            }
            return nil
        }
        #expect(failed?.failure == nil, "\(failed?.failure ?? ""); reproduce: \(failed?.reproduction ?? "")")
    }

    @Test func longerScenariosRestoreAndHealAndStillConverge() async throws {
        var restores = 0, heals = 0, joins = 0, rekeys = 0, locationChanges = 0, equalHLCs = 0
        let results = try await onOwnThread {
            try (UInt64(10_001)...10_030).map { try Simulation(.init(seed: $0, sites: 3, steps: 120)).run() }
        }
        for result in results {
            #expect(result.failure == nil, "\(result.failure ?? ""); reproduce: \(result.reproduction)")
            restores += result.restores
            heals += result.heals
            joins += result.joins
            rekeys += result.rekeys
            locationChanges += result.locationChanges
            equalHLCs += result.equalHLCs
        }
        #expect(restores > 0 && heals > 0, "the scenarios exercised no restore (\(restores)) or no heal (\(heals))")
        #expect(joins > 0 && locationChanges > 0 && equalHLCs > 0,
                "no join (\(joins)), location change (\(locationChanges)) or equal-HLC pair (\(equalHLCs))")
        #expect(rekeys == 0)
    }

    /// Rekeys (update and link, concurrent ones included) with joins, restores, loss,
    /// duplication, partitions and crashes: every site ends on one key, nothing pending, every
    /// write kept.
    @Test func rekeysConvergeWithJoinsAndFaults() async throws {
        let results = try await onOwnThread {
            try (UInt64(30_001)...30_150).map { seed -> Simulation.Result in
                var configuration = Simulation.Configuration(seed: seed, sites: 3, steps: seed <= 30_010 ? 120 : 30)
                configuration.maxRekeys = 2
                return try Simulation(configuration).run()
            }
        }
        for result in results {
            #expect(result.failure == nil, "\(result.failure ?? ""); reproduce: \(result.reproduction)")
        }
        #expect(results.map(\.rekeys).reduce(0, +) > 50, "too few rekeys to mean anything")
    }

    /// A site restored from a backup made before its own rekey: packets hand it its own
    /// genuine key entry back. The seeds the simulator found it with (it used to keep one entry
    /// held forever, then looped on forks): they must heal.
    @Test(arguments: [(UInt64(1385), 30), (UInt64(10_014), 120)])
    func aRestoreBeforeTheSitesOwnRekeyHeals(seed: UInt64, steps: Int) async throws {
        var configuration = Simulation.Configuration(seed: seed, sites: 3, steps: steps)
        configuration.maxRekeys = 1
        let result = try await onOwnThread { [configuration] in try Simulation(configuration).run() }
        #expect(result.failure == nil, "\(result.failure ?? ""); reproduce: \(result.reproduction)")
        #expect(result.restores == 1 && result.rekeys == 1)
    }

    @Test func theSameSeedGivesTheSameEventsByteForByte() async throws {
        let (a, b, c) = try await onOwnThread {
            (try Simulation(.init(seed: 77, sites: 3, steps: 120)).run(),
             try Simulation(.init(seed: 77, sites: 3, steps: 120)).run(),
             try Simulation(.init(seed: 78, sites: 3, steps: 120)).run())
        }
        #expect(a.traceDigest == b.traceDigest && a.trace == b.trace)
        #expect(c.traceDigest != a.traceDigest)
    }

    /// An old rule the simulator must catch, and what its first failing scenario must say.
    enum OldRule: String, CaseIterable, Sendable {
        /// A fork answer does not make the site heal: a restored site's reused seqs are never
        /// taken back and some scenario does not converge.
        case noForkHeal
        /// A refused packet's report is recorded (the rule before one inbound transaction).
        case recordsRefusedReports

        /// Words the failure must contain (any failure will do when nil).
        var expectedFailure: String? { self == .noForkHeal ? nil : "refused packets changed the receiver" }

        func apply(to configuration: inout Simulation.Configuration) {
            switch self {
            case .noForkHeal: configuration.healsForks = false
            case .recordsRefusedReports: configuration.recordsRefusedReports = true
            }
        }
    }

    /// The simulator can fail: under each old rule some scenario of the first hundred fails.
    @Test(arguments: OldRule.allCases)
    func anOldRuleIsCaughtInSomeScenario(rule: OldRule) async throws {
        let failed = try await onOwnThread { () throws -> String? in
            for seed in UInt64(10_001)...10_100 {
                var configuration = Simulation.Configuration(seed: seed, sites: 3, steps: 120)
                rule.apply(to: &configuration)
                if let failure = try Simulation(configuration).run().failure { return failure }
            }
            return nil
        }
        #expect(failed.map { failure in rule.expectedFailure.map(failure.contains) ?? true } == true, "\(rule): no scenario caught it (\(failed ?? "none failed"))")
    }
}

/// Runs CPU-bound scenarios on a thread of their own, at a low scheduling priority (nice 15).
///
/// Swift Testing runs tests on the cooperative pool, which has one thread per core: synchronous
/// scenario loops held both threads of a two-core CI machine for minutes, and the tests that drive
/// real node processes, waiting for a thread to resume on, overran their bounds. On threads of
/// their own at normal priority they took the CPU instead (eight busy threads on two cores), and
/// a 10 ms timer test took a minute. At nice 15 they use what the other tests leave idle.
/// Assertions stay in the calling test.
func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            #if os(Linux)
            // Linux applies setpriority to one thread when given its id (/proc/thread-self → PID/task/TID).
            if let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self"),
               let tid = link.split(separator: "/").last.flatMap({ id_t($0) }) {
                _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), tid, 15)
            }
            #endif
            continuation.resume(with: Result { try work() })
        }
        thread.stackSize = 8 << 20
        thread.start()
    }
}
