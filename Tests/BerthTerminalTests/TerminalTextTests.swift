import BerthCore
import BerthTerminal
import Foundation
import Logging
import Testing

@Suite("Terminal output as plain text")
struct TerminalTextTests {
    static func plain(_ text: String) -> String { TerminalText.plain(Array(text.utf8)) }

    @Test("colours, cursor moves, titles and charset switches are removed; the text stays")
    func escapes() {
        #expect(Self.plain("\u{1B}[1;32mplayer@lab\u{1B}[0m:\u{1B}[34m~\u{1B}[0m$ ls") == "player@lab:~$ ls")
        #expect(Self.plain("\u{1B}]0;player@lab: ~\u{07}$ pwd") == "$ pwd")
        #expect(Self.plain("\u{1B}]8;;https://x.example\u{1B}\\link\u{1B}]8;;\u{1B}\\ done") == "link done")
        #expect(Self.plain("\u{1B}(Bplain\u{1B}=\u{1B}[?2004h text\u{1B}[K") == "plain text")
        #expect(Self.plain("\u{1B}P1$r0m\u{1B}\\after") == "after")
    }

    @Test("a carriage return rewrites its line, a backspace erases, CRLF is a newline, other controls go")
    func controls() {
        #expect(Self.plain("progress 10%\rprogress 100%\r\ndone\r\n") == "progress 100%\ndone\n")
        #expect(Self.plain("lss\u{08} -l") == "ls -l")
        #expect(Self.plain("bell\u{07}\u{00}\u{7F} end\tx") == "bell end\tx")
        // UTF-8 text stays; a C1 CSI (U+009B) starts a sequence like ESC [ does.
        #expect(TerminalText.plain(Array("café ".utf8) + [0xC2, 0x9B] + Array("31mred".utf8)) == "café red")
    }

    @Test("the tail keeps the last lines within the byte limit, without trailing blank lines")
    func tail() {
        let text = (1...50).map { "line \($0)" }.joined(separator: "\n") + "\n\n   \n"
        let tail = TerminalText.tail(text, lines: 3, bytes: 4096)
        #expect(tail == "line 48\nline 49\nline 50")
        #expect(TerminalText.tail(text, lines: 40, bytes: 10) == "49\nline 50")
        #expect(TerminalText.tail("", lines: 40, bytes: 4096) == "")
    }

    @Test("the hub gives an instance's live screen as plain text, and nothing for an instance without a terminal")
    func hubScreenTail() async throws {
        let pty = FakePTY()
        let hub = TerminalHub(connector: FakePTYConnector(pty: pty), settings: TerminalSettings(), logger: Logger(label: "test")) { _ in
            TerminalInstanceStatus(containerID: "c", expiresAt: Date().addingTimeInterval(3600))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await hub.run() }
            _ = await hub.session(instanceID: "inst_s", name: "main", containerID: "c", terminal: TerminalSpec(), size: TerminalSize(cols: 80, rows: 24))
            #expect(await eventually { await pty.isUp })
            let output = (1...60).map { "\u{1B}[32mrow \($0)\u{1B}[0m\r\n" }.joined() + "\u{1B}]0;title\u{07}player@lab:~$ "
            #expect(await pty.produce(Array(output.utf8)))
            #expect(await eventually { await hub.screenTail(instanceID: "inst_s", lines: 40).hasSuffix("player@lab:~$ ") })
            let tail = await hub.screenTail(instanceID: "inst_s", lines: 40)
            #expect(tail.hasPrefix("row 22\nrow 23\n"))
            #expect(tail.split(separator: "\n").count == 40)
            #expect(!tail.contains("\u{1B}") && !tail.contains("title"))
            #expect(await hub.screenTail(instanceID: "inst_other") == "")
            await hub.closeAll(instanceID: "inst_s", reason: "test over")
            group.cancelAll()
        }
    }
}
