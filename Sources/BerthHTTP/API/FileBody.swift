import BerthCore
import Foundation
import OpenAPIRuntime

/// A response body that streams `count` bytes of a file from `offset`, in bounded reads, so a
/// large attachment or a long recording never sits whole in memory.
///
/// The file is opened when the body is first read: a HEAD request, whose body is dropped, opens
/// nothing. It never yields more than `count` bytes, even when the file grew after its size was
/// announced (a live recording, a file replaced since it was hashed).
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = HTTPBody.ByteChunk

    /// Bytes read from disk per chunk.
    static let chunkBytes = 64 << 10

    let path: String
    let offset: Int64
    let count: Int64
    /// The error when the file can no longer be opened.
    let unreadable: BerthError

    struct AsyncIterator: AsyncIteratorProtocol {
        let chunks: FileChunks
        var handle: FileHandle?
        var left: Int64
        var opened = false

        mutating func next() async throws -> HTTPBody.ByteChunk? {
            if !opened {
                opened = true
                guard left > 0 else { return nil }
                guard let file = FileHandle(forReadingAtPath: chunks.path) else { throw chunks.unreadable }
                if chunks.offset > 0 { try file.seek(toOffset: UInt64(chunks.offset)) }
                handle = file
            }
            guard let file = handle, left > 0 else {
                close()
                return nil
            }
            guard let data = try file.read(upToCount: Int(Swift.min(Int64(FileChunks.chunkBytes), left))), !data.isEmpty else {
                // The file shrank under us: end here rather than send bytes that are not there.
                close()
                return nil
            }
            left -= Int64(data.count)
            if left <= 0 { close() }
            return ArraySlice(data)
        }

        mutating func close() {
            try? handle?.close()
            handle = nil
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(chunks: self, left: Swift.max(0, count))
    }

    /// The body, with its length announced.
    var body: HTTPBody {
        HTTPBody(self, length: .known(count), iterationBehavior: .single)
    }
}
