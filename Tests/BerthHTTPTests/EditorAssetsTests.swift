import BerthCore
import BerthHTTP
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// The environment page's editor: CodeMirror's files served from the assets folder by an allow-list, and the page's
/// own lab and editor scripts.
@Suite("Editor assets: CodeMirror from the assets folder, the lab and editor scripts")
struct EditorAssetsTests {
    @Test("allowed CodeMirror files are served with their type; others, even present in the folder, are 404; a missing one names the setup script")
    func codemirrorAllowList() async throws {
        let assets = FileManager.default.temporaryDirectory.appendingPathComponent("berth-editor-assets-\(UUID().uuidString)", isDirectory: true)
        let folder = assets.appendingPathComponent("codemirror", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: assets) }
        try Data("/* core */".utf8).write(to: folder.appendingPathComponent("codemirror.js"))
        try Data("/* css */".utf8).write(to: folder.appendingPathComponent("codemirror.css"))
        try Data("/* not allowed */".utf8).write(to: folder.appendingPathComponent("SOURCE.txt"))
        try Data("/* not allowed */".utf8).write(to: folder.appendingPathComponent("mode-php.js"))
        try await APIHarness.with(policy: { $0.assetsDirectory = assets.path }) { harness in
            try await harness.application.test(.router) { client in
                let core = try await client.execute(uri: "/assets/codemirror/codemirror.js", method: .get)
                #expect(core.status == .ok)
                #expect(core.headers[.contentType] == "text/javascript; charset=utf-8")
                #expect(String(buffer: core.body) == "/* core */")
                let css = try await client.execute(uri: "/assets/codemirror/codemirror.css", method: .get)
                #expect(css.headers[.contentType] == "text/css; charset=utf-8")
                for name in ["SOURCE.txt", "mode-php.js", "..%2Fcodemirror%2Fcodemirror.js"] {
                    let refused = try await client.call(.get, "/assets/codemirror/\(name)")
                    #expect(refused.status == 404, "\(name)")
                    #expect(errorCode(refused.body) == "asset_not_found", "\(name)")
                }
                let missing = try await client.call(.get, "/assets/codemirror/mode-python.js")
                #expect(missing.status == 404)
                let message = (missing.body["error"] as? [String: Any])?["message"] as? String ?? ""
                #expect(message.contains("scripts/fetch-codemirror.sh"))
            }
        }
    }

    @Test("the environment page loads the lab and editor scripts, and both are served")
    func pageScripts() async throws {
        try await APIHarness.with { harness in
            try await harness.application.test(.router) { client in
                let page = String(buffer: try await client.execute(uri: "/environments/anything", method: .get).body)
                for script in ["lab.js", "editor.js"] {
                    #expect(page.contains("/assets/berth/\(script)"))
                    let served = try await client.execute(uri: "/assets/berth/\(script)", method: .get)
                    #expect(served.status == .ok)
                    #expect(served.headers[.contentType] == "text/javascript; charset=utf-8")
                }
            }
        }
    }
}
