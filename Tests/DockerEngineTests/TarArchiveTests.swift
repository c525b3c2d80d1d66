import BerthTestSupport
import DockerEngine
import Foundation
import Testing

/// Runs the system's `tar` with `arguments` in `directory` and returns its standard output.
func systemTar(_ arguments: [String], in directory: URL) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["tar"] + arguments
    process.currentDirectoryURL = directory
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw FixtureError("tar \(arguments) exited with \(process.terminationStatus)") }
    return String(decoding: data, as: UTF8.self)
}

@Suite("TarArchive")
struct TarArchiveTests {
    static let longPath = (1...12).map { "directory-\($0)" }.joined(separator: "/") + "/file-with-a-long-name.txt"

    static func sample() -> TarArchive {
        var archive = TarArchive()
        archive.append(.init(path: "bin", mode: 0o755, isDirectory: true))
        archive.append(.init(path: "bin/run.sh", contents: Array("#!/bin/sh\necho hi\n".utf8), mode: 0o755))
        archive.append(.init(path: "empty.txt"))
        archive.append(.init(path: "exact-block", contents: [UInt8](repeating: 0x41, count: 512)))
        archive.append(.init(path: "big.bin", contents: (0..<5000).map { UInt8($0 % 256) }, mode: 0o600))
        archive.append(.init(path: longPath, contents: Array("deep".utf8)))
        return archive
    }

    @Test("encoding then decoding gives back every entry")
    func roundTrip() throws {
        let archive = Self.sample()
        let bytes = try archive.encoded()
        #expect(bytes.count % 512 == 0)
        #expect(bytes.suffix(1024).allSatisfy { $0 == 0 })
        #expect(try TarArchive.decode(bytes).entries == archive.entries)
    }

    @Test("the system tar lists and extracts what TarArchive writes")
    func readableBySystemTar() throws {
        try TemporaryDirectory.withSync { directory in
            let file = directory.path("archive.tar")
            try Data(try Self.sample().encoded()).write(to: file)
            let listing = try systemTar(["-tf", "archive.tar"], in: directory.url)
                .split(separator: "\n").map(String.init)
            #expect(listing == ["bin/", "bin/run.sh", "empty.txt", "exact-block", "big.bin", Self.longPath])
            try FileManager.default.createDirectory(at: directory.path("out"), withIntermediateDirectories: true)
            _ = try systemTar(["-xf", "../archive.tar"], in: directory.path("out"))
            #expect(try String(contentsOf: directory.path("out/bin/run.sh"), encoding: .utf8) == "#!/bin/sh\necho hi\n")
            #expect(try Data(contentsOf: directory.path("out/big.bin")) == Data((0..<5000).map { UInt8($0 % 256) }))
            #expect(try String(contentsOf: directory.path("out/" + Self.longPath), encoding: .utf8) == "deep")
            let mode = try FileManager.default.attributesOfItem(atPath: directory.path("out/bin/run.sh").path)[.posixPermissions] as? Int
            #expect(mode == 0o755)
        }
    }

    @Test("TarArchive reads what the system tar writes, GNU long names included")
    func readsSystemTar() throws {
        try TemporaryDirectory.withSync { directory in
            let veryLong = String(repeating: "n", count: 180) + ".txt"
            try directory.write("src/a.txt", "alpha")
            try directory.write("src/sub/" + veryLong, "long")
            _ = try systemTar(["--format=gnu", "-cf", "../gnu.tar", "."], in: directory.path("src"))
            let archive = try TarArchive.decode(Array(try Data(contentsOf: directory.path("gnu.tar"))))
            let files = Dictionary(archive.entries.filter { !$0.isDirectory }.map { ($0.path, $0.contents) }, uniquingKeysWith: { a, _ in a })
            #expect(files["./a.txt"] == Array("alpha".utf8))
            #expect(files["./sub/" + veryLong] == Array("long".utf8))
            #expect(archive.entries.contains { $0.isDirectory && $0.path == "./sub" })
        }
    }

    @Test("ofFolder packs files and folders, hidden ones too, with their modes")
    func ofFolder() throws {
        try TemporaryDirectory.withSync { directory in
            try directory.write("ctx/Dockerfile", "FROM scratch\n")
            try directory.write("ctx/.hidden", "h")
            try directory.write("ctx/app/main.sh", "echo main")
            try FileManager.default.setAttributes([.posixPermissions: 0o750], ofItemAtPath: directory.path("ctx/app/main.sh").path)
            try FileManager.default.createSymbolicLink(atPath: directory.path("ctx/link").path, withDestinationPath: "/etc/passwd")
            let archive = try TarArchive.ofFolder(directory.path("ctx"))
            #expect(archive.entries.map(\.path) == [".hidden", "Dockerfile", "app", "app/main.sh"], "sorted, symlinks skipped")
            #expect(archive.entries.first { $0.path == "app" }?.isDirectory == true)
            #expect(archive.entries.first { $0.path == "app/main.sh" }?.mode == 0o750)
            #expect(archive.entries.first { $0.path == "Dockerfile" }?.contents == Array("FROM scratch\n".utf8))
        }
    }

    @Test("truncated or corrupt archives are errors, not crashes")
    func corrupt() throws {
        let bytes = try Self.sample().encoded()
        // Cut inside the data of big.bin, the fifth entry.
        #expect(throws: DockerError.self) { try TarArchive.decode(Array(bytes[0..<4000])) }
        var garbage = bytes
        for index in 124..<136 { garbage[index] = UInt8(ascii: "z") }
        #expect(throws: DockerError.self) { try TarArchive.decode(garbage) }
        #expect(try TarArchive.decode([]).entries.isEmpty)
    }

    @Test("a path that cannot fit the ustar name and prefix fields is refused")
    func unsplittablePath() {
        var archive = TarArchive()
        archive.append(.init(path: String(repeating: "x", count: 101)))
        #expect(throws: DockerError.self) { try archive.encoded() }
    }
}
