@testable import SlawatchApp
import SlawatchCore
@testable import SlawatchStore
import Testing

/// The dashboard element written in place as bytes (the CLI's spool, the HTTP API's dashboard) is the
/// text of its fields (`DashboardCommand.fields`), whatever the values: escapes, NULLs, text that is not
/// ASCII, numbers whole or not, instants with and without a fraction, in years past 9999 too.
@Suite struct DashboardJSONTests {
    @Test func theBytesAreTheFieldsText() {
        let texts = ["TKT-1", "", "a\"b\\c", "line\nbreak\ttab\u{1}", "Facturación ñ", "emoji 🚀", "ñ\u{0301}"]
        let numbers: [Double] = [0, 8, -3.5, 0.1, 1e15, -1e16, 123.456789012345, 1e-7, 24.000000000000004, -0.0]
        let instants: [Int64] = [
            0, 1, -1, 1_774_348_200_000_000, 1_774_348_200_123_400, 253_402_300_800_000_000, -62_167_219_200_000_001,
        ]
        var index = 0
        for text in texts {
            for number in numbers {
                for micros in instants {
                    index += 1
                    let entry = DashboardEntry(
                        ticketID: text + "-id", code: text, category: index % 3 == 0 ? nil : text,
                        requesterEmail: index % 2 == 0 ? nil : text, status: text, priority: text,
                        area: index % 5 == 0 ? nil : text, updatedAt: Instant(microseconds: micros), slaHours: number,
                        hoursRemaining: -number, isOverdue: index % 2 == 0)
                    var bytes: [UInt8] = [1, 2]
                    DashboardCommand.appendJSON(entry, to: &bytes)
                    #expect(
                        String(decoding: bytes.dropFirst(2), as: UTF8.self)
                            == JSONText.object(DashboardCommand.fields(entry)), "\(text) \(number) \(micros)")
                }
            }
        }
    }
}
