import Foundation
import Testing

extension RealProcesses {
    /// Every command's `--help` shows an example, found by walking the real command tree.
    @Suite(.serialized)
    struct HelpTests {
        /// The subcommand names a `--help` text lists under SUBCOMMANDS.
        static func subcommands(of help: String) -> [String] {
            guard let start = help.range(of: "SUBCOMMANDS:") else { return [] }
            return help[start.upperBound...].split(separator: "\n").compactMap { line in
                // A name is indented by exactly two spaces; descriptions continue further in.
                guard line.hasPrefix("  "), line.dropFirst(2).first?.isLowercase == true,
                      let name = line.dropFirst(2).split(separator: " ").first, name != "help" else { return nil }
                return String(name)
            }
        }

        @Test func everyCommandsHelpHasAnExample() throws {
            let cli = CLI(data: tempPath("help"))
            var pending: [[String]] = [[]]
            var seen = 0
            var missing: [String] = []
            while let path = pending.popLast(), seen < 200 {
                seen += 1
                let help = try cli.run(path + ["--help"]).stdout
                let children = Self.subcommands(of: help)
                if children.isEmpty, !help.contains("Example") { missing.append(path.joined(separator: " ")) }
                pending += children.map { path + [$0] }
            }
            #expect(seen > 30, "only \(seen) commands were found")
            #expect(missing.isEmpty, "no example in: \(missing)")
        }
    }
}
