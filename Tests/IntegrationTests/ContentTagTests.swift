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
                let ourReference = try #require(try ImageBuilder.reference(for: spec, folder: ourFolder))
                let ourID = try await harness.docker.inspectImage(ourReference).id
                var extraImages: [String] = []
                do {
                    // Another server, another folder with the same slug and a different Dockerfile.
                    try await TemporaryDirectory.with(prefix: "berth-other-server") { other in
                        try Environments.shell.write(into: other.url)
                        try "\(Environments.baseDockerfile)\nRUN echo other-server > /etc/berth-marker\n".write(
                            to: other.path("\(slug)/Dockerfile"), atomically: true, encoding: .utf8)
                        let theirReference = try #require(try ImageBuilder.reference(for: spec, folder: other.path(slug)))
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
    }
}
