import Foundation
import NomadCrypto
import Testing
@testable import NomadFuzzing

/// Every input kept under `Tests/Fixtures/fuzz/<target>/` (crashes found by `ops/fuzz.sh`, and
/// the inputs that once trapped a node) goes through its target again: none may trap. A trap
/// ends this test process, which fails the suite.
struct FuzzRegressionTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/fuzz")

    static func inputs(_ target: FuzzTarget) throws -> [[UInt8]] {
        let dir = root.appendingPathComponent(target.rawValue)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { !$0.hasPrefix(".") }.sorted()
        return try names.map { Array(try Data(contentsOf: dir.appendingPathComponent($0))) }
    }

    @Test(arguments: FuzzTarget.allCases)
    func everyKeptInputIsRefusedOrParsedWithoutATrap(target: FuzzTarget) throws {
        let inputs = try Self.inputs(target)
        #expect(!inputs.isEmpty, "no regression inputs for \(target.rawValue)")
        for input in inputs { target.run(input) }
    }

    /// A few thousand byte-level mutations of the kept inputs per target, from a fixed seed: a
    /// quick guard in every test run (libFuzzer goes much further in ops/fuzz.sh).
    @Test(arguments: FuzzTarget.allCases)
    ///
    /// The loop yields now and then: the runner's cooperative pool has one thread per core, and
    /// nine of these loops at once held it for minutes from the tests that wait on timers.
    func mutationsOfTheKeptInputsDoNotTrap(target: FuzzTarget) async throws {
        let seeds = try Self.inputs(target)
        let random = SeededRandom(seed: 7)
        for round in 0..<2000 {
            var input = seeds[round % seeds.count]
            let edits = 1 + Int(random.uint64() % 4)
            for _ in 0..<edits {
                let r = random.uint64()
                switch r % 4 {
                case 0 where !input.isEmpty: input[Int(r >> 8) % input.count] = UInt8(truncatingIfNeeded: r >> 40)
                case 1 where !input.isEmpty: input.remove(at: Int(r >> 8) % input.count)
                case 2: input.insert(UInt8(truncatingIfNeeded: r >> 40), at: input.isEmpty ? 0 : Int(r >> 8) % input.count)
                default: input += Array("9999999999999999999999".utf8.prefix(Int(r >> 16) % 22))
                }
            }
            target.run(input)
            if round % 50 == 0 { await Task.yield() }
        }
    }
}
