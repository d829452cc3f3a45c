import ArgumentParser
import Foundation
import NomadEngine
import NomadModel

struct BlobCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blob", abstract: "Store files' bytes (blobs) and see which ones a channel still lacks.",
        subcommands: [Put.self, List.self])

    struct Put: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store a file's bytes under their SHA-256 and add a file entry naming them; every clone fetches them.",
            discussion: """
                The file is read and hashed in chunks (never held in memory whole). The file entry's key is --key, or \\
                the file's name; its body is {"hash":"sha256://…","name":…,"size":…}.

                Example: nomadsync blob put alice ./photo.jpg --key photos/2026/photo.jpg
                """)
        @OptionGroup var options: DataOptions
        @Argument var nick: String
        @Argument var file: String
        @Option(parsing: .unconditional, help: "The file entry's key (default: the file's name).") var key: String?

        func run() throws {
            let site = try options.site()
            _ = try site.channel(nickname: nick)
            guard let input = FileHandle(forReadingAtPath: file) else { throw CLIError("cannot read \(file)") }
            defer { try? input.close() }
            let writer = try site.blobs.writer(maxBytes: Site.maxBlobBytes)
            do {
                while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
                    try chunk.withUnsafeBytes { try writer.write($0) }
                }
            } catch {
                writer.abandon()
                throw CLIError("the blob was not stored: \(error)")
            }
            let (hex, size) = try writer.finish()
            let name = URL(fileURLWithPath: file).lastPathComponent
            let entry = try site.addFile(nickname: nick, key: key ?? name, hex: hex, size: size, name: name)
            try Output.json(FileReference(hex: hex, size: size, name: name))
            Output.message("stored \(size) bytes as sha256://\(hex); file entry '\(entry.key)' goes to every clone, which fetch the bytes")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The blobs a channel still lacks here (being fetched from the clones).",
            discussion: "Example: nomadsync blob list alice")
        @OptionGroup var options: DataOptions
        @Argument var nick: String

        func run() throws {
            let missing = try options.site().missingBlobs(nickname: nick)
            for need in missing { print("sha256://\(need.hex)\t\(need.size.map(String.init) ?? "?") bytes") }
            Output.message("\(missing.count) blob(s) missing for '\(nick)'")
        }
    }
}
