import Hummingbird

/// Headers every response carries: no MIME sniffing, no referrer to other sites, and no caching
/// of API answers (they hold tokens, flags and personal data). Pages add their own CSP.
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = BerthRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.xContentTypeOptions] = "nosniff"
        if response.headers[.referrerPolicy] == nil { response.headers[.referrerPolicy] = "same-origin" }
        if request.uri.path.hasPrefix("/api/"), response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }
}
