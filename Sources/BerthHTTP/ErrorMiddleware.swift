import BerthCore
import Foundation
import Hummingbird
import Logging
import OpenAPIRuntime

/// The JSON error envelope every failing route answers with: `{"error":{"code","message"}}`.
public struct ErrorEnvelope: Codable, Sendable {
    /// The error body.
    public struct Body: Codable, Sendable {
        /// Stable snake_case code.
        public var code: String
        /// What went wrong and what to do next.
        public var message: String
    }

    /// The error.
    public var error: Body

    /// Creates an envelope for `error`.
    public init(_ error: BerthError) {
        self.error = Body(code: error.code.rawValue, message: error.message)
    }
}

extension BerthError.Code {
    /// The HTTP status of each code: the one place where errors meet HTTP.
    public var httpStatus: Int {
        switch self {
        case .badRequest, .invalidBody, .invalidConfig, .invalidQuery, .invalidRange, .invalidRequest, .invalidThreshold: 400
        case .invalidCredentials, .ticketInvalid, .ticketRequired, .unauthorized, .metricsTokenInvalid: 401
        case .attemptsExhausted, .csrfFailed, .environmentDisabled, .environmentLocked, .forbidden, .githubCodeRejected, .githubDenied, .githubStateMismatch, .originNotAllowed, .registrationClosed, .replicaGrantInvalid, .ticketWrongTerminal: 403
        case .assetNotFound, .attachmentNotFound, .environmentNotFound, .environmentsNotFound, .folderNotFound, .githubNotConfigured, .hintNotFound, .instanceNotFound, .metricsDisabled, .metricsNotHere, .recordingFileMissing, .recordingKeyNotFound, .recordingNotFound, .routeNotFound, .teamNotFound, .tokenNotFound, .userNotFound: 404
        case .methodNotAllowed: 405
        case .notAcceptable: 406
        case .alreadyMember, .auditConflict, .cannotDemoteSelf, .checkInProgress, .environmentRemoved, .imageNotBuilt, .instanceBusy, .instanceExists, .instanceNotActive, .instanceNotRunning, .maxLifetimeReached, .namespaceInUse, .recordingExists, .recordingLive, .renewTooEarly, .renewalLimitReached, .sessionExists, .storeConflict, .submissionExists, .teamNameTaken, .teamRequired, .tokenExists, .userNameTaken: 409
        case .bodyTooLarge: 413
        case .unsupportedMediaType: 415
        case .buildUnsupported, .githubLoginInvalid, .imageNotFound, .invalidAccess, .invalidFlag, .invalidName, .invalidReference, .invalidRole, .invalidSetting, .invalidTerminal, .noFlag, .notALab, .noInstance, .swarmUnsupported, .weakPassword: 422
        case .websocketRequired: 426
        case .globalCapReached, .ownerCapReached, .tooManyAttempts, .tooManyHints, .tooManySubmissions: 429
        case .analysisInvalid, .assetMissing, .auditEntryInvalid, .buildFailed, .contractInvalid, .contractUnavailable, .flagSecretInvalid, .flagSecretUnwritable, .flagWriteFailed, .instanceResetFailed, .instanceStartFailed, .internalError, .recordingDeleteFailed, .storeRowInvalid: 500
        // The instance file API.
        case .filePermissionDenied, .pathNotAllowed: 403
        case .fileNotFound: 404
        case .directoryNotEmpty, .notADirectory, .notAFile: 409
        case .fileChanged: 412
        case .fileTooLarge: 413
        case .fileOperationFailed, .filesUnavailable: 422
        // Workspaces.
        case .workspaceNotFound: 404
        case .workspaceInUse: 409
        case .workspaceInvalidArchive: 422
        case .workspaceFull: 507
        case .objectStorageUnavailable, .workspaceUnavailable: 503
        case .attachmentUnreadable, .dataDirUnavailable, .engineUnavailable, .flagSecretUnavailable, .githubUnavailable, .hostFirewallUnavailable, .noCapacity, .portsExhausted, .recordingKeyUnavailable, .serverIdInvalid, .serverIdUnavailable, .storeUnavailable, .notReady: 503
        }
    }
}

extension BerthError: HTTPResponseError {
    /// The HTTP status of the error's code.
    public var statusCode: Int { code.httpStatus }

    /// The HTTP status as Hummingbird's type.
    public var status: HTTPResponse.Status { HTTPResponse.Status(code: statusCode) }

    /// The envelope as a JSON response.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        if statusCode == 401 { headers[.wwwAuthenticate] = "Bearer realm=\"berth\"" }
        if let retryAfterSeconds { headers[.retryAfter] = "\(retryAfterSeconds)" }
        let body = (try? JSONEncoder().encode(ErrorEnvelope(self))) ?? Data("{\"error\":{\"code\":\"internal\",\"message\":\"\"}}".utf8)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// Turns every error into the JSON envelope with a stable code, and logs each request with
/// `client.ip`, `user.id`, method, path and status.
public struct ErrorMiddleware: RouterMiddleware {
    /// The request context.
    public typealias Context = BerthRequestContext

    /// The methods each route answers, for 405.
    let routes: RouteMethods

    /// Creates the middleware; `routes` tells a wrong method from a wrong path.
    public init(routes: RouteMethods = RouteMethods()) {
        self.routes = routes
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        var status = 500
        defer {
            let elapsed = ContinuousClock.now - started
            context.logger.info("request", metadata: [
                "client.ip": "\(context.clientIP)", "user.id": "\(context.facts.caller?.id ?? "-")", "http.method": "\(request.method.rawValue)",
                "http.path": "\(request.uri.path)", "http.status": "\(status)",
                "duration.ms": "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)",
            ])
        }
        /// The envelope of `berth`, with its status and code reported to the request log and the audit log.
        func answer(_ berth: BerthError) throws -> Response {
            status = berth.statusCode
            context.facts.errorCode = berth.code.rawValue
            return try berth.response(from: request, context: context)
        }
        do {
            let response = try await next(request, context)
            status = response.status.code
            return response
        } catch let error as ServerError {
            // The generated server wraps what a handler threw, and what it could not decode.
            let berth = Self.translate(error)
            if berth.statusCode == 500 {
                context.logger.error("unhandled error", metadata: ["client.ip": "\(context.clientIP)", "error": "\(error.underlyingError)"])
            }
            return try answer(berth)
        } catch let error as BerthError {
            return try answer(error)
        } catch let error as HTTPError {
            let allowed = error.status == .notFound ? routes.allowed(at: request.uri.path) : []
            if !allowed.isEmpty {
                var response = try answer(BerthError(
                    .methodNotAllowed, "\(request.uri.path.prefix(200)) answers \(allowed.joined(separator: ", ")), not \(request.method.rawValue)."
                ))
                response.headers[.allow] = allowed.joined(separator: ", ")
                return response
            }
            if error.status == .notFound, PageRoutes.wantsHTMLNotFound(request) {
                status = 404
                context.facts.errorCode = "page_not_found"
                return try PageRoutes.notFoundPage()
            }
            return try answer(Self.translate(error))
        } catch let error as DecodingError {
            return try answer(BerthError(.invalidBody, "The request body is not the JSON this route expects: \(Self.describe(error))"))
        } catch {
            context.logger.error("unhandled error", metadata: ["client.ip": "\(context.clientIP)", "error": "\(error)"])
            return try answer(BerthError(.internalError, "Berth hit an unexpected error; the operator's log has the details."))
        }
    }

    /// What the caller is told about an error from the generated server: the handler's own
    /// ``BerthError``, or `invalid_body`/`invalid_request` for input the contract's types refused.
    static func translate(_ error: ServerError) -> BerthError {
        switch error.underlyingError {
        case let berth as BerthError:
            return berth
        case let decoding as DecodingError where error.requestBody == nil:
            // Without a body (the transport passes none for an empty request), what did not
            // decode is a parameter: the query's (path parameters are strings).
            var expected = ""
            if case .typeMismatch(let type, _) = decoding { expected = " (expected \(type))" }
            let query = error.request.path.flatMap { $0.split(separator: "?", maxSplits: 1).dropFirst().first } ?? ""
            return BerthError(
                .invalidQuery, "The query '\(query.prefix(200))' is not what \(error.operationID) accepts\(expected); GET /api/v1/openapi.json describes it."
            )
        case let decoding as DecodingError:
            // Without a body (a request with a body but no content type is refused before), what
            // did not decode is a query parameter, such as `limit=abc` or an outcome not in its enum.
            guard error.request.headerFields[.contentType] != nil else {
                return BerthError(
                    .invalidQuery, "A query parameter is not what \(error.operationID) accepts (GET /api/v1/openapi.json): \(describe(decoding).replacingOccurrences(of: "(body): ", with: ""))"
                )
            }
            return BerthError(.invalidBody, "The request body is not the JSON this route expects: \(describe(decoding))")
        case let http as HTTPError:
            return translate(http)
        default:
            break
        }
        // Input the generated code refused before the handler ran: a missing or malformed
        // parameter or body, an unexpected content type, an Accept it cannot satisfy. The
        // runtime says which status; the text names the field.
        let text = "\(error.underlyingError)"
        let status = (error.underlyingError as? any HTTPResponseConvertible)?.httpStatus.code ?? 500
        switch status {
        case 415:
            return BerthError(.unsupportedMediaType, "Send the body as JSON with 'Content-Type: application/json' (\(text)).")
        case 406:
            return BerthError(.notAcceptable, "This route answers application/json; the Accept header allows none of what it sends (\(text)).")
        case 400 where text.localizedCaseInsensitiveContains("query"):
            return BerthError(.invalidQuery, "A query parameter is not what \(error.operationID) accepts (GET /api/v1/openapi.json): \(text)")
        case 400 where text.localizedCaseInsensitiveContains("body"):
            return BerthError(.invalidBody, "The request body is not what this route expects: \(text)")
        case 400..<500:
            return BerthError(.invalidRequest, "The request does not match GET /api/v1/openapi.json for \(error.operationID): \(text)")
        default:
            return BerthError(.internalError, "Berth hit an unexpected error; the operator's log has the details.")
        }
    }

    static func translate(_ error: HTTPError) -> BerthError {
        let message = error.body ?? error.status.reasonPhrase
        switch error.status.code {
        case 404: return BerthError(.routeNotFound, "No such route; GET /api/v1/openapi.json lists them.")
        case 405: return BerthError(.methodNotAllowed, message)
        case 413: return BerthError(.bodyTooLarge, "The request body is too large.")
        case 400: return BerthError(.invalidBody, "The request body is not valid JSON for this route: \(message)")
        default: return BerthError(.invalidRequest, "The request was refused (HTTP \(error.status.code)): \(message)")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let joined = context.codingPath.map(\.stringValue).joined(separator: ".")
            return joined.isEmpty ? "(body)" : joined
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return "missing field '\(parent == "(body)" ? key.stringValue : parent + "." + key.stringValue)'"
        case .typeMismatch(let type, let context): return "\(path(context)): expected \(type)"
        case .valueNotFound(let type, let context): return "\(path(context)): expected \(type), found null"
        case .dataCorrupted(let context): return "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
