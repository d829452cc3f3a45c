import Foundation
import HTTPTypes
import Hummingbird
import NomadEngine
import NomadModel
import NomadStore
import NomadTransport

/// `GET /blob/{portable_id}/{hex}` (docs/PROTOCOL.md §12): a blob of the channel, for a clone
/// (signed like a sync pull), streamed from disk; `Range: bytes=a-b` or `bytes=a-` answers 206
/// with that part, so a fetch resumes where it stopped.
struct BlobRoutes: Sendable {
    let site: Site
    let check: InboundCheck
    let fileIO = FileIO()

    func register(on router: some RouterMethods<NodeContext>) {
        router.get("/blob/:portable_id/:hex") { request, context in try await serve(request, context: context) }
    }

    func serve(_ request: Request, context: NodeContext) async throws -> Response {
        let signature = try check.signature(request, body: nil)
        let pid = try PortableID(validating: context.parameters.get("portable_id") ?? "")
        let hex = context.parameters.get("hex") ?? ""
        guard BlobStore.isValid(hex) else { throw ServerError(.badRequest, "a blob is named by 64 lowercase hex digits") }
        guard let named = try site.channel(named: pid) else { throw ServerError(.forbidden, "channel \(pid.text) is not hosted on this site") }
        let channel = named.channel
        guard let requester = try site.liveLocations(of: channel).first(where: { "\($0.idURL)#ed25519" == signature.keyID }) else {
            throw ServerError(.forbidden, "'\(signature.keyID.prefix(200))' is not a live location of this channel")
        }
        try check.verify(signature, request: request, location: requester, channelKey: named.publicKey, required: HTTPSignature.getHeaders)
        try site.acceptPull(channel: channel, from: requester.siteID, token: InboundCheck.header(request, "x-zot-token") ?? "",
                            window: check.configuration.tokenWindowMilliseconds)
        guard try site.channelNames(blob: hex, channel: channel), let size = site.blobs.size(hex) else {
            throw ServerError(.notFound, "blob \(hex) is not held here for this channel")
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/octet-stream"
        headers[.acceptRanges] = "bytes"
        let path = site.blobs.path(hex)
        guard let rangeText = InboundCheck.header(request, "range") else {
            headers[.contentLength] = String(size)
            return Response(status: .ok, headers: headers, body: size == 0 ? .init() : try await fileIO.loadFile(path: path, context: context))
        }
        guard let (start, end) = Self.range(rangeText, size: size) else {
            headers[.contentRange] = "bytes */\(size)"
            return Response(status: .rangeNotSatisfiable, headers: headers)
        }
        headers[.contentRange] = "bytes \(start)-\(end)/\(size)"
        headers[.contentLength] = String(end - start + 1)
        guard let lower = Int(exactly: start), let upper = Int(exactly: end) else {
            throw ServerError(.rangeNotSatisfiable, "the range is too large")
        }
        return Response(status: .partialContent, headers: headers,
                        body: try await fileIO.loadFile(path: path, range: lower...upper, context: context))
    }

    /// `bytes=a-b` or `bytes=a-` within `size`, clamped at its end; nil when it is not one of
    /// those or starts at or past the end.
    static func range(_ text: String, size: UInt64) -> (UInt64, UInt64)? {
        guard text.hasPrefix("bytes="), text.utf8.count <= 64 else { return nil }
        let parts = text.dropFirst(6).split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let start = UInt64(parts[0]), start < size else { return nil }
        if parts[1].isEmpty { return (start, size - 1) }
        guard let end = UInt64(parts[1]), end >= start else { return nil }
        return (start, min(end, size - 1))
    }
}
