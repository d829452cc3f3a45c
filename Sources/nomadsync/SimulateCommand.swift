import ArgumentParser
import Foundation
import NomadSimulator

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run seeded multi-site scenarios of the engine on a virtual clock and network, with faults.",
        discussion: """
            Each scenario: SITES sites clone one channel, then STEPS random events — local writes, lossy, duplicated and \
            reordered delivery, catch-up pulls, partitions, crashes, backups and restores of older backups, skewed \
            clocks, writes with equal HLCs, location changes, a clone joining — then a healing phase. It fails unless every site ends with the same digest and state, nothing \
            held or diverged, and every surviving write present. A failure prints the command that reproduces it.

            Example: nomadsync simulate --seed 1 --scenarios 200
            """)

    @Option(help: "The first seed.") var seed: UInt64 = 1
    @Option(help: "How many scenarios (seeds seed, seed+1, …).") var scenarios: Int = 1
    @Option(help: "Sites per scenario.") var sites: Int = 3
    @Option(help: "Random events per scenario before healing.") var steps: Int = 60
    @Option(help: "At most this many restores of an older backup per scenario.") var maxRestores: Int = 1
    @Option(help: "At most this many new clones joining during a scenario.") var maxJoins: Int = 1
    @Option(help: "At most this many rekeys during a scenario.") var maxRekeys: Int = 0
    @Flag(help: "Print each scenario's trace digest.") var verbose = false
    @Flag(help: "Replay the old rule: a fork answer does not make the site heal (to see the simulator catch it).")
    var noForkHeal = false
    @Flag(help: "Replay the old rule: a refused packet still records the sender's report (to see the simulator catch it).")
    var recordRefusedReports = false
    @Flag(help: "Print the event trace of every failing scenario.") var trace = false

    func validate() throws {
        guard (2...16).contains(sites) else { throw ValidationError("--sites must be from 2 to 16") }
        guard (0...1_000_000).contains(steps) else { throw ValidationError("--steps must be from 0 to 1000000") }
        guard (0...1000).contains(maxRestores) else { throw ValidationError("--max-restores must be from 0 to 1000") }
        guard (0...16).contains(maxJoins) else { throw ValidationError("--max-joins must be from 0 to 16") }
        guard (0...16).contains(maxRekeys) else { throw ValidationError("--max-rekeys must be from 0 to 16") }
        guard scenarios >= 1 else { throw ValidationError("--scenarios must be at least 1") }
        guard seed <= UInt64.max - UInt64(scenarios) else { throw ValidationError("--seed is too large for that many scenarios") }
    }

    func run() throws {
        let started = Date()
        var failures = 0
        var writes = 0, restores = 0, heals = 0, joins = 0, rekeys = 0, locationChanges = 0, equalHLCs = 0, alarms = 0
        for n in 0..<scenarios {
            var configuration = Simulation.Configuration(seed: seed + UInt64(n), sites: sites, steps: steps)
            configuration.maxRestores = maxRestores
            configuration.maxJoins = maxJoins
            configuration.maxRekeys = maxRekeys
            configuration.healsForks = !noForkHeal
            configuration.recordsRefusedReports = recordRefusedReports
            let result = try Simulation(configuration).run()
            writes += result.writes
            restores += result.restores
            heals += result.heals
            joins += result.joins
            rekeys += result.rekeys
            locationChanges += result.locationChanges
            equalHLCs += result.equalHLCs
            alarms += result.divergedAlarms
            if verbose { print("seed \(result.configuration.seed): \(result.events) events, trace \(result.traceDigest.prefix(16))") }
            if let failure = result.failure {
                failures += 1
                print("FAILED seed \(result.configuration.seed): \(failure)\n  reproduce: \(result.reproduction)")
                if trace { print(result.trace.map { "    " + $0 }.joined(separator: "\n")) }
            }
        }
        let seconds = Date().timeIntervalSince(started)
        print("\(scenarios - failures) passed, \(failures) failed (\(writes) writes, \(restores) restores, \(heals) heals, \(joins) joins, \(rekeys) rekeys, \(locationChanges) location changes, \(equalHLCs) equal-HLC pairs, \(alarms) diverged alarms, \(String(format: "%.1f", seconds)) s)")
        if failures > 0 { throw ExitCode(1) }
    }
}
