import BerthCore
import BerthEngine
import Foundation
import Hummingbird

/// The browser pages (start page, terminal page, recordings list and player) and their static assets. Pages carry no data:
/// their scripts call the API with the user's token.
struct PageRoutes {
    let services: BerthServices

    /// Berth's own files, shipped in the binary's resource bundle.
    static let ownAssets: [String: String] = {
        var assets: [String: String] = ["berth.css": "text/css; charset=utf-8", "app.css": "text/css; charset=utf-8"]
        for script in [
            "terminal.js", "home.js", "recordings.js", "player.js", "app.js", "markdown.js", "login.js", "environment.js",
            "scoreboard.js", "team.js", "account.js", "admin.js", "lab.js", "editor.js",
        ] {
            assets[script] = "text/javascript; charset=utf-8"
        }
        return assets
    }()

    /// Pages at fixed paths and their files.
    static let pages: [String: String] = [
        "/": "index.html", "/login": "login.html", "/scoreboard": "scoreboard.html", "/team": "team.html",
        "/account": "account.html", "/admin": "admin.html", "/recordings": "recordings.html",
    ]

    /// xterm.js files fetched from a package registry by `make setup` into the assets folder.
    static let xtermAssets: [String: String] = [
        "xterm.min.js": "text/javascript; charset=utf-8", "xterm-addon-fit.min.js": "text/javascript; charset=utf-8",
        "xterm.min.css": "text/css; charset=utf-8",
    ]

    /// CodeMirror 5 files copied from Debian's libjs-codemirror by `make setup` (scripts/fetch-codemirror.sh) into the
    /// assets folder: the core, the `simple` addon, `meta.js` and the language modes the editor picks by file extension.
    static let codemirrorAssets: [String: String] = {
        var assets = ["codemirror.css": "text/css; charset=utf-8"]
        let modes = ["shell", "python", "javascript", "css", "xml", "htmlmixed", "markdown", "yaml", "clike", "go", "rust", "sql", "dockerfile"]
        for script in ["codemirror.js", "simple.js", "meta.js"] + modes.map({ "mode-\($0).js" }) {
            assets[script] = "text/javascript; charset=utf-8"
        }
        return assets
    }()

    func register(on table: RouteTable) {
        for (path, file) in Self.pages.sorted(by: { $0.key < $1.key }) {
            table.on(.get, path) { _, _ in try Self.page(file) }
        }
        table.on(.get, "/favicon.ico") { _, _ in
            Response(status: .noContent)
        }
        table.on(.get, "/instances/:id/terminal") { _, _ in try Self.page("terminal.html") }
        table.on(.get, "/recordings/:id") { _, _ in try Self.page("player.html") }
        table.on(.get, "/environments/:slug") { _, _ in try Self.page("environment.html") }
        table.on(.get, "/assets/berth/:file") { _, context in
            let name = try context.parameters.require("file")
            guard let type = Self.ownAssets[name] else { throw Self.missing(name) }
            return try Self.file(try Self.bundled(name), type: type)
        }
        vendored(on: table, folder: "xterm", files: Self.xtermAssets, library: "xterm.js", script: "scripts/fetch-xterm.sh")
        vendored(on: table, folder: "codemirror", files: Self.codemirrorAssets, library: "CodeMirror", script: "scripts/fetch-codemirror.sh")
    }

    /// Serves `/assets/<folder>/<file>` from the assets folder for the allowed `files` of a library fetched at setup.
    private func vendored(on table: RouteTable, folder: String, files: [String: String], library: String, script: String) {
        let assets = URL(fileURLWithPath: services.configuration.assetsDirectory, isDirectory: true).appendingPathComponent(folder, isDirectory: true)
        table.on(.get, "/assets/\(folder)/:file") { _, context in
            let name = try context.parameters.require("file")
            guard let type = files[name] else { throw Self.missing(name) }
            guard let data = FileManager.default.contents(atPath: assets.appendingPathComponent(name).path) else {
                throw BerthError(.assetNotFound, "\(library) is not installed at \(assets.path); run `make setup` (\(script)).")
            }
            return try Self.file(data, type: type)
        }
    }

    /// A bundled HTML page.
    static func page(_ name: String) throws -> Response {
        try file(try bundled(name), type: "text/html; charset=utf-8")
    }

    /// The HTML page for a URL that matches no route (JSON stays the answer under `/api/`).
    static func notFoundPage() throws -> Response {
        var response = try page("notfound.html")
        response.status = .notFound
        return response
    }

    /// Whether a request for a missing route gets the HTML page rather than the JSON envelope.
    static func wantsHTMLNotFound(_ request: Request) -> Bool {
        (request.method == .get || request.method == .head) && !request.uri.path.hasPrefix("/api/")
    }

    static func bundled(_ name: String) throws -> Data {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Web"),
              let data = FileManager.default.contents(atPath: url.path)
        else { throw BerthError(.assetMissing, "The page asset \(name) is missing from Berth's resource bundle.") }
        return data
    }

    static func missing(_ name: String) -> BerthError {
        BerthError(.assetNotFound, "No asset is called '\(name.prefix(64))'.")
    }

    /// A static response with headers that keep the page to its own scripts and out of other
    /// sites' frames (the environment page frames the terminal page, so the same origin may).
    static func file(_ data: Data, type: String) throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "no-cache"
        headers[.contentSecurityPolicy] =
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'self'"
        headers[.frameOptions] = "SAMEORIGIN"
        headers[.referrerPolicy] = "same-origin"
        headers[.xContentTypeOptions] = "nosniff"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
