import BerthCore
import Foundation
import Hummingbird

/// Encodes API answers: ISO 8601 dates, sorted keys, `application/json`.
public enum JSONResponse {
    /// The encoder every route uses.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// A response with `value` as its JSON body.
    public static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder().encode(value)
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Decodes a JSON body into `type`, answering 400 `invalid_body` when it does not fit.
    public static func decode<T: Decodable>(_ type: T.Type, from request: Request, context: BerthRequestContext) async throws -> T {
        var request = request
        let buffer = try await request.collectBody(upTo: context.maxUploadSize)
        guard buffer.readableBytes > 0 else {
            throw BerthError.badRequest("invalid_body", "The request needs a JSON body.")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw BerthError.badRequest("invalid_body", "The request body is not the JSON this route expects: \(ErrorMiddleware.describe(error))")
        }
    }
}
