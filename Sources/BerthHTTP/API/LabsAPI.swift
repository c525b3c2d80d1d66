import BerthAPI
import BerthCore
import BerthEngine
import Foundation

extension BerthAPIHandler {
    // MARK: - Labs

    public func getLabProgress(_ input: Operations.GetLabProgress.Input) async throws -> Operations.GetLabProgress.Output {
        let caller = try APIRequest.caller()
        let view = try await services.labs.progress(environment: input.path.slug, for: caller)
        return .ok(.init(body: .json(Components.Schemas.LabProgress(view))))
    }

    public func runLabCheck(_ input: Operations.RunLabCheck.Input) async throws -> Operations.RunLabCheck.Output {
        let caller = try APIRequest.caller()
        let here = try APIRequest.here()
        let instance = try await services.lifecycle.instance(input.path.id, for: caller)
        here.facts.target = instance.id
        let result = try await services.labs.check(instance, by: caller)
        here.facts.detail = "step \(result.check.step), \(result.check.outcome.status.rawValue)"
        let check = result.check
        return .ok(.init(body: .json(.init(
            id: check.id, step: check.step, status: .init(check.outcome.status), failures: check.outcome.failures.map(Components.Schemas.LabCheckFailure.init),
            metrics: .init(additionalProperties: check.outcome.metrics), notes: check.outcome.notes,
            durationMilliseconds: check.outcome.durationMilliseconds, checkedAt: check.time, progress: Components.Schemas.LabProgress(result.progress)
        ))))
    }

    public func requestLabHint(_ input: Operations.RequestLabHint.Input) async throws -> Operations.RequestLabHint.Output {
        let caller = try APIRequest.caller()
        let here = try APIRequest.here()
        let instance = try await services.lifecycle.instance(input.path.id, for: caller)
        here.facts.target = instance.id
        let result = try await services.labs.hint(instance, by: caller)
        here.facts.detail = "step \(result.step), \(result.hint.source.rawValue)"
        let source: Components.Schemas.LabHintAnswer.SourcePayload = switch result.hint.source {
        case .ai: .ai
        case .authored: .authored
        case .none: .none
        }
        return .ok(.init(body: .json(.init(
            step: result.step, source: source, text: result.hint.text, authoredIndex: result.hint.authoredIndex, hintsLeft: result.hintsLeft
        ))))
    }

    public func listLabProgress(_ input: Operations.ListLabProgress.Input) async throws -> Operations.ListLabProgress.Output {
        let rows = try await services.labs.board(
            environment: input.query.environment, stuckAfterMinutes: input.query.stuckAfterMinutes ?? LabProgress.defaultStuckAfterMinutes
        )
        return .ok(.init(body: .json(.init(items: rows.map { row in
            .init(
                owner: .init(kind: row.owner.kind == .team ? .team : .user, id: row.owner.id, name: row.ownerName), environment: row.environment,
                step: row.step, stepTitle: row.stepTitle, stepIndex: row.stepIndex, stepCount: row.stepCount, stepStartedAt: row.stepStartedAt,
                timeOnStepSeconds: row.timeOnStepSeconds, lastCheckAt: row.lastCheckAt, lastFailure: row.lastFailure, stuck: row.stuck,
                completedAt: row.completedAt
            )
        }))))
    }
}

extension Components.Schemas.LabProgress {
    /// An owner's progress as the API shows it.
    init(_ view: LabProgress.View) {
        self.init(
            environment: view.environment,
            steps: view.steps.map { step in
                .init(
                    id: step.id, title: step.title, text: step.text, state: .init(step.state), hasCheck: step.hasCheck,
                    hintsAvailable: step.hintsAvailable, hintsGiven: step.hintsGiven, timeSpentSeconds: step.timeSpentSeconds, passedAt: step.passedAt
                )
            },
            currentStep: view.currentStep, completedAt: view.completedAt,
            lastCheck: view.lastCheck.map { check in
                .init(
                    id: check.id, step: check.step, status: .init(check.outcome.status),
                    failures: check.outcome.failures.map(Components.Schemas.LabCheckFailure.init),
                    metrics: .init(additionalProperties: check.outcome.metrics), notes: check.outcome.notes,
                    durationMilliseconds: check.outcome.durationMilliseconds, checkedAt: check.time
                )
            }
        )
    }
}

extension Components.Schemas.LabCheckFailure {
    init(_ failure: CheckFailure) {
        self.init(code: failure.code, message: failure.message, hint: failure.hint)
    }
}

extension Components.Schemas.LabStepProgress.StatePayload {
    init(_ state: LabProgress.StepState) {
        self = switch state {
        case .passed: .passed
        case .current: .current
        case .locked: .locked
        }
    }
}

extension Components.Schemas.LabCheckStatus {
    init(_ status: CheckOutcome.Status) {
        self = switch status {
        case .passed: .passed
        case .failed: .failed
        case .checkError: .checkError
        }
    }
}
