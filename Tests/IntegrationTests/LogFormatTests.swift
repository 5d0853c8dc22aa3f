import Foundation
import Testing

/// `--log-format json` on every command: a command's failure is logged like everything else on
/// stderr, one JSON object per line with `level` and `msg`; without it, `slawatch: ` lines as README
/// 'Commands' says.
@Suite struct LogFormatTests {
    static func objects(_ text: String) -> [[String: Any]?] {
        text.split(separator: "\n").map { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
    }

    @Test func withJSONLogsAFailureIsOneLogObjectPerLineOfItsMessage() async throws {
        let rules = try TemporaryRules([
            "sla.json": WorkerRules.text(
                channels: #"{ consola: { type: "log" } }"#, routes: WorkerRules.allEvents(to: ["consola"])
            ).replacingOccurrences(of: "CRITICA: 4", with: #"CRITICA: "cuatro""#)
                .replacingOccurrences(of: "MEDIA: 24", with: "MEDIA: -1")
        ])

        let json = await slawatch(["check", "--rules", rules.path, "--log-format", "json"])
        #expect(json.status == 2)
        let objects = Self.objects(json.stderr)
        #expect(objects.count == 2, "\(json.stderr)")
        for object in objects {
            #expect(object?["level"] as? String == "error", "\(json.stderr)")
            #expect(object?["exit_code"] as? String == "2", "\(json.stderr)")
            let message = object?["msg"] as? String
            #expect(message?.hasPrefix(rules.path + "/sla.json: policies[0].targets.") == true, "\(json.stderr)")
        }

        let text = await slawatch(["check", "--rules", rules.path])
        #expect(text.status == 2)
        let lines = text.stderr.split(separator: "\n")
        #expect(lines.count == 2 && lines.allSatisfy { $0.hasPrefix("slawatch: ") }, "\(text.stderr)")

        // Also when the command line itself cannot be parsed.
        let usage = await slawatch(["check", "--log-format=json", "--no-such-option"])
        #expect(usage.status == 2)
        let usageObjects = Self.objects(usage.stderr)
        #expect(usageObjects.count == 1 && usageObjects.first??["level"] as? String == "error", "\(usage.stderr)")
        #expect((usageObjects.first??["msg"] as? String)?.contains("--no-such-option") == true, "\(usage.stderr)")
    }
}
