import BerthCore
import DockerEngine
import Testing

/// Expects `body` to fail with a ``BerthError`` of this code.
public func expectBerthError(
    _ code: BerthError.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void
) async {
    do {
        try await body()
        Issue.record("expected \(code.rawValue), but it succeeded", sourceLocation: sourceLocation)
    } catch let error as BerthError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected BerthError \(code), got \(error)", sourceLocation: sourceLocation)
    }
}

/// Expects `body` to fail with a ``DockerError`` carrying the daemon's status and a message that
/// contains `fragment` (case-insensitively).
public func expectDockerError(
    status: Int, containing fragment: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void
) async {
    do {
        try await body()
        Issue.record("expected HTTP \(status) '\(fragment)', but it succeeded", sourceLocation: sourceLocation)
    } catch let error as DockerError {
        #expect(error.status == status, "\(error)", sourceLocation: sourceLocation)
        #expect(error.message.localizedCaseInsensitiveContains(fragment), "\(error)", sourceLocation: sourceLocation)
        #expect("\(error)".contains(error.message), "the description shows the daemon's message", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected a DockerError, got \(error)", sourceLocation: sourceLocation)
    }
}
