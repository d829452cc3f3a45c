import Foundation
import NomadCrypto
import NomadEngine
import NomadModel

/// Export and import of a channel with N entries (the passphrase file a clone or a backup is
/// made from), beside local replay of the same entries into a clone in the same run. Both
/// stream through a real file, as `channel export` and `channel import` do.
struct ExportBench {
    let entries: Int
    let folder: String

    func run() throws -> [BenchRow] {
        let a = try Site.open(directory: "\(folder)/export-a", create: true)
        _ = try a.initialise(url: "https://a.export.invalid")
        _ = try a.createChannel(nickname: "ch0")
        let reference = try Site.open(directory: "\(folder)/export-reference", create: true)
        _ = try reference.initialise(url: "https://reference.export.invalid")
        _ = try reference.importDocument(try a.exportDocument(nickname: "ch0"))
        let filler = String(repeating: "x", count: 160)
        var written: [ChangeEntry] = []
        written.reserveCapacity(entries)
        for start in stride(from: 0, to: entries, by: 500) {
            written += try a.append(nickname: "ch0", (start..<min(start + 500, entries)).map { i in
                Change(entity: "item", key: "note-\(i)", op: .put, body: #"{"content":"\#(filler)","n":\#(i)}"#)
            })
        }
        let passphrase = SecureBytes(Array("bench passphrase".utf8))
        let path = "\(folder)/export.nomad"
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let output = FileHandle(forWritingAtPath: path) else { throw BenchError("cannot write \(path)") }
        var size = 0
        let export = try seconds {
            size = try a.exportChannel(nickname: "ch0", passphrase: passphrase, strength: .interactive) { try output.write(contentsOf: $0) }.bytes
            try output.close()
        }
        let b = try Site.open(directory: "\(folder)/export-b", create: true)
        _ = try b.initialise(url: "https://b.export.invalid")
        guard let input = FileHandle(forReadingAtPath: path) else { throw BenchError("cannot read \(path)") }
        defer { try? input.close() }
        let imported = try seconds {
            _ = try b.importChannel(passphrase: passphrase, from: .init { try input.read(upToCount: $0).map { Array($0) } ?? [] })
        }
        guard try b.syncStatus(nickname: "ch0").entries >= entries else { throw BenchError("the import holds fewer than \(entries) entries") }
        // The reference: the same entries replayed locally, as they come off the wire.
        let lines = try written.map { try WireJSON.encode($0) }
        let local = try seconds {
            for start in stride(from: 0, to: lines.count, by: 500) {
                _ = try reference.replay(nickname: "ch0", try lines[start..<min(start + 500, lines.count)].map {
                    try ChangeEntry.decodeWire($0, what: "entry")
                })
            }
        }
        let n = Double(entries)
        let mib = Double(size) / Double(1 << 20)
        return [
            BenchRow(name: String(format: "export to a passphrase file (%.0f MiB, interactive KDF)", mib), unit: "entries/s", count: entries,
                     ours: n / export, raw: n / local, reference: "local replay of the same entries"),
            BenchRow(name: "import of that file into a new site", unit: "entries/s", count: entries,
                     ours: n / imported, raw: n / local, reference: "local replay of the same entries"),
        ]
    }
}
