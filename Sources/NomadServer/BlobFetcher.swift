import Foundation
import Logging
import NomadEngine
import NomadModel
import NomadStore
import NomadTransport

/// Fetches the blobs a channel's `file` entries name and this site lacks (docs/PROTOCOL.md §12),
/// from any live clone, in ranges of 8 MiB appended to a partial file — so a fetch cut off at
/// any point resumes after the bytes it has — and keeps a blob only once its SHA-256 matches
/// its name. A blob no clone could give is tried again after the backoff.
public struct BlobFetcher: Sendable {
    public let site: Site
    public let transport: any HTTPTransport
    public var backoff = Backoff()
    public var chunkBytes: UInt64 = 8 << 20
    let logger: Logger?

    public init(site: Site, transport: any HTTPTransport, backoff: Backoff = Backoff(), logger: Logger? = nil) {
        self.site = site
        self.transport = transport
        self.backoff = backoff
        self.logger = logger
    }

    /// Fetches every missing blob of the channel whose backoff has passed; returns how many
    /// were kept and how many failed.
    @discardableResult
    public func runOnce(_ channel: HostedChannel, dueOnly: Bool = true) async -> (fetched: Int, failed: Int) {
        guard let needs = try? site.missingBlobs(nickname: channel.nickname, dueOnly: dueOnly) else { return (0, 0) }
        var result = (fetched: 0, failed: 0)
        for need in needs {
            if let error = await fetch(need, channel: channel) {
                result.failed += 1
                try? site.blobFetched(need.hex, error: error, backoff: backoff)
                logger?.notice("blob fetch failed; will retry", metadata: ["channel": "\(channel.nickname)", "blob": "\(need.hex.prefix(16))…",
                                                                          "reason": "\(error.prefix(300))"])
            } else {
                result.fetched += 1
                try? site.blobFetched(need.hex, error: nil)
            }
        }
        return result
    }

    /// Tries each source and each of its URLs in turn; nil when the blob is kept, else why not.
    func fetch(_ need: BlobNeed, channel: HostedChannel) async -> String? {
        guard let keys = try? site.channelKeys(channel), let me = try? site.identity() else { return "the channel key cannot be opened" }
        let signer = RequestSigner(keys: keys, idURL: "\(me.url)/channel/\(channel.nickname)", random: site.random)
        let blobs = site.blobs
        var reasons: [String] = []
        let limit = min(need.size ?? Site.maxBlobBytes, Site.maxBlobBytes)
        for source in need.sources {
            for base in source.baseURLs {
                let url = "\(base)/blob/\(channel.portableID.text)/\(need.hex)"
                // Bounded: each round adds a chunk (or ends), and the blob is at most `limit` bytes.
                rounds: for _ in 0...(limit / chunkBytes + 1) {
                    let have = blobs.partialSize(need.hex)
                    guard have <= limit else { blobs.discardPartial(need.hex); reasons.append("\(base): more bytes than the entry states"); break rounds }
                    var request: OutboundRequest
                    do { request = try signer.get(url: url, now: site.clock.nowMilliseconds()) } catch {
                        reasons.append("\(base): \(error)")
                        break rounds
                    }
                    request.headers.append(("Range", "bytes=\(have)-\(have + chunkBytes - 1)"))
                    let answer: DownloadedResponse
                    do { answer = try await transport.download(request) } catch {
                        reasons.append("\(base): \(error)")
                        break rounds
                    }
                    defer { try? FileManager.default.removeItem(at: answer.file) }
                    var complete = false
                    switch answer.status {
                    case 206:
                        let got = (try? FileManager.default.attributesOfItem(atPath: answer.file.path)[.size] as? NSNumber)?.uint64Value ?? 0
                        do { try blobs.appendPartial(need.hex, from: answer.file, replace: false) } catch {
                            reasons.append("\(base): \(error)")
                            break rounds
                        }
                        complete = got < chunkBytes || (need.size.map { have + got >= $0 } ?? false)
                    case 200:
                        do { try blobs.appendPartial(need.hex, from: answer.file, replace: true) } catch {
                            reasons.append("\(base): \(error)")
                            break rounds
                        }
                        complete = true
                    case 416:
                        complete = true
                    default:
                        reasons.append("\(base): HTTP \(answer.status)")
                    }
                    guard complete else {
                        if answer.status == 206 { continue }
                        break rounds
                    }
                    if (try? blobs.finishPartial(need.hex, maxBytes: limit)) == true { return nil }
                    reasons.append("\(base): the bytes do not hash to the blob's name (dropped)")
                    break rounds
                }
            }
        }
        return reasons.isEmpty ? "no other live location to fetch it from" : reasons.joined(separator: "; ")
    }
}
