import BerthCore
import Testing

@Suite("DurationText and ByteSizeText")
struct UnitsTests {
    @Test("durations read seconds, minutes, hours, days and combinations", arguments: [
        ("90s", 90), ("30m", 1800), ("2h", 7200), ("1d", 86400), ("1h30m", 5400), ("45", 45), (" 10M ", 600),
        ("1d2h3m4s", 93784),
    ])
    func durations(text: String, seconds: Int) {
        #expect(DurationText.seconds(text) == seconds)
    }

    @Test("non-durations are rejected, including ones that would overflow", arguments: [
        "", "0", "0s", "-5m", "5x", "m", "1.5h", "30 minutes", "h1", "9999999999999999d", "99999999999999999999s",
        "9223372036854775807s1s",
    ])
    func badDurations(text: String) {
        #expect(DurationText.seconds(text) == nil)
    }

    @Test("format writes the shortest text that reads back to the same seconds", arguments: [
        (5400, "1h30m"), (90, "1m30s"), (7200, "2h"), (86400, "1d"), (59, "59s"), (0, "0s"), (93784, "1d2h3m4s"),
    ])
    func format(seconds: Int, text: String) {
        #expect(DurationText.format(seconds) == text)
        if seconds > 0 { #expect(DurationText.seconds(text) == seconds) }
    }

    @Test("byte sizes use binary units", arguments: [
        ("128m", Int64(128) << 20), ("1g", Int64(1) << 30), ("512k", Int64(512) << 10), ("1048576", Int64(1_048_576)),
        ("64MB", Int64(64) << 20), ("2GiB", Int64(2) << 30), ("100b", Int64(100)), (" 6m ", Int64(6) << 20),
    ])
    func sizes(text: String, bytes: Int64) {
        #expect(ByteSizeText.bytes(text) == bytes)
    }

    @Test("non-sizes and overflowing sizes are rejected", arguments: [
        "", "0", "-1m", "m", "1.5g", "10t", "huge", "9223372036854775807k",
    ])
    func badSizes(text: String) {
        #expect(ByteSizeText.bytes(text) == nil)
    }
}
