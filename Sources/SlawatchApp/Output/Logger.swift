import Foundation
import SlawatchCore

/// Structured logs on stderr: one JSON object per line (`--log-format json`) or `level message
/// key=value ...` (text, the default).
struct Logger: Sendable {
    enum Format { case json, text }
    let format: Format
    let write: @Sendable (String) -> Void

    func info(_ message: String, _ fields: [String: String] = [:]) { emit("info", message, fields) }
    func warning(_ message: String, _ fields: [String: String] = [:]) { emit("warning", message, fields) }
    func error(_ message: String, _ fields: [String: String] = [:]) { emit("error", message, fields) }

    private func emit(_ level: String, _ message: String, _ fields: [String: String]) {
        let time = Instant.wallNow().iso8601
        switch format {
        case .json:
            var pairs = [
                ("time", JSONText.string(time)), ("level", JSONText.string(level)), ("msg", JSONText.string(message)),
            ]
            pairs += fields.keys.sorted().map { ($0, JSONText.string(fields[$0]!)) }
            write(JSONText.object(pairs) + "\n")
        case .text:
            let rest = fields.keys.sorted().map { key -> String in
                let value = fields[key]!
                let quoted = value.contains(" ") || value.contains("\"") || value.isEmpty
                return "\(key)=" + (quoted ? JSONText.string(value) : value)
            }
            write(([time, level, message] + rest).joined(separator: " ") + "\n")
        }
    }
}
