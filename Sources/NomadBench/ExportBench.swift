import Foundation
import NomadCrypto
import NomadEngine
import NomadModel

/// Export and import of a channel with N entries (the passphrase file a clone or a backup is
/// made from), beside local replay of the same entries into a clone in the same run. The file
/// is one sealed document: both hold the whole log in memory (not streamed).
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
        var file: [UInt8] = []
        let export = try seconds { file = try a.exportChannel(nickname: "ch0", passphrase: passphrase, strength: .interactive) }
        let b = try Site.open(directory: "\(folder)/export-b", create: true)
        _ = try b.initialise(url: "https://b.export.invalid")
        let imported = try seconds { _ = try b.importChannel(file, passphrase: passphrase) }
        guard try b.syncStatus(nickname: "ch0").entries >= entries else { throw BenchError("the import holds fewer than \(entries) entries") }
        // The reference: the same entries replayed locally, as they come off the wire.
        let lines = try written.map { try WireJSON.encode($0) }
        let local = try seconds {
            for start in stride(from: 0, to: lines.count, by: 500) {
                _ = try reference.replay(nickname: "ch0", try lines[start..<min(start + 500, lines.count)].map {
                    try WireJSON.decode(ChangeEntry.self, from: $0, what: "entry")
                })
            }
        }
        let n = Double(entries)
        let mib = Double(file.count) / Double(1 << 20)
        return [
            BenchRow(name: String(format: "export to a passphrase file (%.0f MiB, interactive KDF)", mib), unit: "entries/s", count: entries,
                     ours: n / export, raw: n / local, reference: "local replay of the same entries"),
            BenchRow(name: "import of that file into a new site", unit: "entries/s", count: entries,
                     ours: n / imported, raw: n / local, reference: "local replay of the same entries"),
        ]
    }
}
