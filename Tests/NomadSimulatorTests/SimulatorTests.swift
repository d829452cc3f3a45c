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

    /// The simulator can fail: with the heal after a fork answer switched off (the old rule),
    /// a restored site's reused seqs are never taken back and some scenario does not converge.
    @Test func withoutHealingAForkSomeScenarioFails() throws {
        var failed: String?
        for seed in UInt64(10_001)...10_100 where failed == nil {
            var configuration = Simulation.Configuration(seed: seed, sites: 3, steps: 120)
            configuration.healsForks = false
            failed = try Simulation(configuration).run().failure
        }
        #expect(failed != nil, "no scenario failed without fork healing: the simulator would not catch that bug")
    }

    /// The simulator can fail: with a refused packet's report recorded (the rule before one
    /// inbound transaction), some refusal changes the receiver.
    @Test func recordingRefusedReportsIsCaught() throws {
        var failed: String?
        for seed in UInt64(10_001)...10_100 where failed == nil {
            var configuration = Simulation.Configuration(seed: seed, sites: 3, steps: 120)
            configuration.recordsRefusedReports = true
            failed = try Simulation(configuration).run().failure
        }
        #expect(failed?.contains("refused packets changed the receiver") == true, "no scenario caught it: \(failed ?? "none failed")")
    }
}
