import Foundation
import Testing
@testable import NomadSimulator

/// Seeded multi-site scenarios with faults: each must heal to one state with every surviving write.
struct SimulatorTests {
    /// How many short scenarios the suite runs (NOMADSYNC_SIM_SCENARIOS overrides; CI keeps 2,000).
    static let scenarios = Int(ProcessInfo.processInfo.environment["NOMADSYNC_SIM_SCENARIOS"] ?? "") ?? 2000
    static let batches = 8

    @Test(arguments: 0..<batches)
    func seededScenariosHealToOneStateWithEveryWrite(batch: Int) throws {
        let per = (Self.scenarios + Self.batches - 1) / Self.batches
        for seed in UInt64(batch * per + 1)...UInt64((batch + 1) * per) {
            let result = try Simulation(.init(seed: seed, sites: 2 + Int(seed % 2), steps: 30)).run()
            #expect(result.failure == nil, "\(result.failure ?? ""); reproduce: \(result.reproduction)")
            if result.failure != nil { return }
        }
    }

    @Test func longerScenariosRestoreAndHealAndStillConverge() throws {
        var restores = 0, heals = 0, joins = 0, locationChanges = 0, equalHLCs = 0
        for seed in UInt64(10_001)...10_030 {
            let result = try Simulation(.init(seed: seed, sites: 3, steps: 120)).run()
            #expect(result.failure == nil, "\(result.failure ?? ""); reproduce: \(result.reproduction)")
            restores += result.restores
            heals += result.heals
            joins += result.joins
            locationChanges += result.locationChanges
            equalHLCs += result.equalHLCs
        }
        #expect(restores > 0 && heals > 0, "the scenarios exercised no restore (\(restores)) or no heal (\(heals))")
        #expect(joins > 0 && locationChanges > 0 && equalHLCs > 0,
                "no join (\(joins)), location change (\(locationChanges)) or equal-HLC pair (\(equalHLCs))")
    }

    @Test func theSameSeedGivesTheSameEventsByteForByte() throws {
        let a = try Simulation(.init(seed: 77, sites: 3, steps: 120)).run()
        let b = try Simulation(.init(seed: 77, sites: 3, steps: 120)).run()
        #expect(a.traceDigest == b.traceDigest && a.trace == b.trace)
        let c = try Simulation(.init(seed: 78, sites: 3, steps: 120)).run()
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
    func anOldRuleIsCaughtInSomeScenario(rule: OldRule) throws {
        var failed: String?
        for seed in UInt64(10_001)...10_100 where failed == nil {
            var configuration = Simulation.Configuration(seed: seed, sites: 3, steps: 120)
            rule.apply(to: &configuration)
            failed = try Simulation(configuration).run().failure
        }
        #expect(failed.map { failure in rule.expectedFailure.map(failure.contains) ?? true } == true, "\(rule): no scenario caught it (\(failed ?? "none failed"))")
    }
}
