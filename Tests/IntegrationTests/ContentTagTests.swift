import BerthCore
import BerthEngine
import BerthTestSupport
import DockerEngine
import Foundation
import Testing

extension Integration {
    @Suite("Images tagged by content, instances started by id")
    struct ContentTagTests {
        @Test("another server's build of the same slug gets its own tag and never changes this server's image; a running instance keeps the id it started from")
        func buildsDoNotInterfere() async throws {
            try await LifecycleHarness.with(environments: [Environments.shell]) { harness in
                let builder = ImageBuilder(docker: harness.docker)
                let slug = Environments.shellSlug
                let ourFolder = await harness.catalog.folder(of: slug)
                let spec = try #require(await harness.catalog.environment(slug))
                let ourReference = try #require(try await ImageBuilder.reference(for: spec, folder: ourFolder))
                let ourID = try await harness.docker.inspectImage(ourReference).id
                var extraImages: [String] = []
                do {
                    // Another server, another folder with the same slug and a different Dockerfile.
                    try await TemporaryDirectory.with(prefix: "berth-other-server") { other in
                        try Environments.shell.write(into: other.url)
                        try "\(Environments.baseDockerfile)\nRUN echo other-server > /etc/berth-marker\n".write(
                            to: other.path("\(slug)/Dockerfile"), atomically: true, encoding: .utf8)
                        let theirReference = try #require(try await ImageBuilder.reference(for: spec, folder: other.path(slug)))
                        #expect(theirReference != ourReference)
                        let theirID = try await builder.build(spec, folder: other.path(slug)) { _ in }
                        extraImages.append(theirID)
                        #expect(theirID != ourID)
                        #expect(try await harness.docker.inspectImage(ourReference).id == ourID, "their build must not move our tag")
                    }

                    let alice = try await harness.player("alice")
                    let first = try await harness.lifecycle.request(environment: slug, by: alice)
                    #expect(try await harness.container(of: first).imageID == ourID)
                    #expect(try await harness.exec(first, "cat /etc/berth-marker").stdout == "built-by-berth\n")

                    // Our own folder changes and is rebuilt: a new tag and id. The running instance keeps
                    // the image it started from; the next one starts from the new build.
                    try "\(Environments.baseDockerfile)\nRUN echo rebuilt > /etc/berth-marker\n".write(
                        to: ourFolder.appendingPathComponent("Dockerfile"), atomically: true, encoding: .utf8)
                    let rebuiltID = try await builder.build(spec, folder: ourFolder) { _ in }
                    extraImages.append(rebuiltID)
                    #expect(rebuiltID != ourID)
                    #expect(try await harness.container(of: first).imageID == ourID)
                    #expect(try await harness.exec(first, "cat /etc/berth-marker").stdout == "built-by-berth\n")

                    let bob = try await harness.player("bob")
                    let second = try await harness.lifecycle.request(environment: slug, by: bob)
                    #expect(try await harness.container(of: second).imageID == rebuiltID)
                    #expect(try await harness.exec(second, "cat /etc/berth-marker").stdout == "rebuilt\n")
                } catch {
                    for id in extraImages { try? await harness.docker.removeImage(id, force: true) }
                    throw error
                }
                for instance in try await harness.lifecycle.instances(for: harness.admin, activeOnly: true) {
                    _ = try await harness.lifecycle.stop(instance.id, by: harness.admin)
                }
                for id in extraImages { try? await harness.docker.removeImage(id, force: true) }
            }
        }

        @Test("the content tag follows the folder: unchanged gives the remembered tag, any edit a new one")
        func referenceFollowsEdits() async throws {
            try await TemporaryDirectory.with(prefix: "berth-context") { directory in
                _ = try directory.write("env/Dockerfile", "FROM scratch\n")
                let file = try directory.write("env/data.txt", "aaaa")
                let spec = EnvironmentSpec(slug: "ctx", name: "Context")
                let folder = directory.path("env")
                let first = try #require(try await ImageBuilder.reference(for: spec, folder: folder))
                #expect(try await ImageBuilder.reference(for: spec, folder: folder) == first)
                // Same size, new content and a later modification time.
                try "bbbb".write(to: file, atomically: false, encoding: .utf8)
                try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(5)], ofItemAtPath: file.path)
                let second = try #require(try await ImageBuilder.reference(for: spec, folder: folder))
                #expect(second != first)
                _ = try directory.write("env/more.txt", "x")
                #expect(try await ImageBuilder.reference(for: spec, folder: folder) != second)
            }
        }
}
}
