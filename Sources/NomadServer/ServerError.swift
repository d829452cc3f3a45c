import Foundation
import HTTPTypes
import Hummingbird
import NomadCrypto
import NomadEngine
import NomadModel
import NomadTransport

/// A refusal as the client sees it: a real HTTP status with `{"success":false,"message":…}`.
/// This is the one place where errors of the lower modules become HTTP statuses (DESIGN §4):
/// 400 malformed, 401 bad signature or signer ≠ sender, 403 unknown location or recipient not
/// hosted, 409 replayed token or fork, 413 too large, 415 wrong content type, 422 decryption or
/// entry-id failure.
public struct ServerError: HTTPResponseError, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String
    /// Machine-readable detail for the body (`code`, `origin`, `seq`), when the sender must act.
    public var detail: ErrorBody?

    public init(_ status: HTTPResponse.Status, _ message: String, detail: ErrorBody? = nil) {
        self.status = status
        self.message = message
        self.detail = detail
    }

    public var description: String { "\(status.code) \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var answer = detail ?? ErrorBody(message: message)
        answer.message = message
        let body = (try? WireJSON.encode(answer)) ?? #"{"success":false,"message":"error"}"#
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if status == .unauthorized && request.uri.path.hasPrefix("/api/") { headers[.wwwAuthenticate] = "Bearer" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// Maps an error from any lower module to its status.
    public static func from(_ error: any Error) -> ServerError {
        switch error {
        case let e as ServerError:
            return e
        case let e as SignatureError:
            return ServerError(.unauthorized, e.description)
        case let e as EngineError:
            let (status, body) = e.refusal
            let detail = body.code == nil ? nil : body
            return ServerError(HTTPResponse.Status(code: status), body.message, detail: detail)
        case let e as ModelError:
            if case .tooLarge = e { return ServerError(.contentTooLarge, "\(e)") }
            return ServerError(.badRequest, "\(e)")
        case let e as CryptoError:
            return ServerError(.unprocessableContent, "the payload cannot be opened by this site: \(e)")
        default:
            return ServerError(.internalServerError, "internal error: \(error)")
        }
    }
}
