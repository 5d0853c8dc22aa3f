import Foundation
import SlawatchCore

/// How a command's failure reaches stderr: each line of its message as `slawatch: <line>` (README
/// 'Commands'), or, with `--log-format json`, each line as a log object of level `error` with the
/// exit code as a field, so that a log collector reading JSON reads every line.
enum ErrorLine {
    static func render(_ error: CommandError, arguments: [String]) -> String {
        guard wantsJSON(arguments) else {
            return "slawatch: " + error.message.replacingOccurrences(of: "\n", with: "\nslawatch: ") + "\n"
        }
        let time = Instant.wallNow().iso8601
        return error.message.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            JSONText.object([
                ("time", JSONText.string(time)), ("level", JSONText.string("error")),
                ("msg", JSONText.string(String(line))), ("exit_code", JSONText.string(String(error.exitCode.rawValue))),
            ]) + "\n"
        }.joined()
    }

    /// Whether the command line asks for JSON logs, read from the raw arguments: the failure may
    /// be that they could not be parsed. The last `--log-format` wins, as a repeated option does.
    static func wantsJSON(_ arguments: [String]) -> Bool {
        var format: String?
        for (i, argument) in arguments.enumerated() {
            if argument == "--log-format", i + 1 < arguments.count { format = arguments[i + 1] }
            if argument.hasPrefix("--log-format=") { format = String(argument.dropFirst("--log-format=".count)) }
        }
        return format == "json"
    }
}
