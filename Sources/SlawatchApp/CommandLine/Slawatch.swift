import Foundation
import SlawatchCore
import SlawatchStore

/// The `slawatch` command line: parses arguments, runs one command, and turns every failure into
/// one line on stderr with the exit code README 'Commands' documents.
public enum Slawatch {
    static let options: [String: Set<String>] = [
        "migrate": [],
        "check": [],
        "dashboard": ["role", "area", "format", "filter", "search", "sort", "top", "offset"],
        "ticket": ["format"],
        "demo": ["size", "dir", "format"],
        "run": ["interval", "metrics-file", "full-every"],
        "events": ["since", "format"],
        "deliveries": ["status", "format", "retry"],
        "report": ["format"],
    ]
    static let flags: [String: Set<String>] = [
        "dashboard": ["desc"],
        "run": ["once", "dry-run", "full"],
        "report": ["print", "send"],
        "demo": ["keep", "stop"],
    ]

    /// Runs the command line `arguments` (without the program name) and returns the exit code.
    public static func main(
        arguments: [String], environment: [String: String],
        output: @escaping (String) -> Void = { FileHandle.standardOutput.write(Data($0.utf8)) },
        errors: @escaping (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }
    ) async -> Int32 {
        do throws(CommandError) {
            let args = try Arguments(arguments, options: options, flags: flags)
            let context = try CommandContext(args, environment: environment, output: output, errors: errors)
            switch args.command {
            case "migrate": try await MigrateCommand.run(context)
            case "check": try CheckCommand.run(context)
            case "dashboard": try await DashboardCommand.run(context)
            case "ticket": try await TicketCommand.run(context)
            case "run": try await RunCommand.run(context)
            case "demo": try await DemoCommand.run(context)
            case "report": try await ReportCommand.run(context)
            case "events": try await EventsCommand.run(context)
            case "deliveries": try await DeliveriesCommand.run(context)
            default:
                throw CommandError.usage("'slawatch \(args.command)' is not available in this version yet; see README")
            }
            return 0
        } catch {
            errors("slawatch: " + error.message.replacingOccurrences(of: "\n", with: "\nslawatch: ") + "\n")
            return error.exitCode.rawValue
        }
    }
}

/// What every command gets: parsed arguments, the instant to act at, the environment and where
/// to write.
struct CommandContext {
    let args: Arguments
    let environment: [String: String]
    let now: Instant
    let nowWasGiven: Bool
    let output: (String) -> Void
    let errors: (String) -> Void

    init(_ args: Arguments, environment: [String: String], output: @escaping (String) -> Void, errors: @escaping (String) -> Void) throws(CommandError) {
        self.args = args
        self.environment = environment
        self.output = output
        self.errors = errors
        if let text = args["now"] {
            guard let instant = Instant(iso8601: text) else {
                throw .usage("--now expects an ISO 8601 instant such as 2026-03-24T10:30:00Z, found '\(text)'")
            }
            now = instant
            nowWasGiven = true
        } else {
            now = Instant(microseconds: Int64((Date().timeIntervalSince1970 * 1_000_000).rounded(.down)))
            nowWasGiven = false
        }
        if let format = args["log-format"], format != "json" && format != "text" {
            throw .usage("--log-format expects json or text, found '\(format)'")
        }
    }

    var rulesPath: String { args["rules"] ?? "./rules" }

    var log: Logger { Logger(format: args["log-format"] == "json" ? .json : .text, write: errors) }

    func loadRules() throws(CommandError) -> RuleSet {
        try RulesDirectory.load(rulesPath, environment: environment)
    }

    var databaseURL: String? { args["database"] ?? environment["DATABASE_URL"] }

    /// How to reach the database of `--database` or `DATABASE_URL`.
    func connectionSettings() throws(CommandError) -> ConnectionSettings {
        guard let url = databaseURL, !url.isEmpty else {
            throw .usage("no database given: pass --database URL or set DATABASE_URL (e.g. postgresql://user@127.0.0.1:5432/helpdesk)")
        }
        return ConnectionSettings(url: url)
    }

    /// The database for a command, connected (an unreachable one is exit code 3 before anything
    /// else): one connection on a thread of its own, since a command's statements run one after
    /// another.
    func database() async throws(CommandError) -> DatabasePool {
        let settings = try connectionSettings()
        let pool = DatabasePool(settings: settings, size: 1)
        try await pool.command { _ in }
        return pool
    }

    func format(allowed: [String], default value: String) throws(CommandError) -> String {
        let format = args["format"] ?? value
        guard allowed.contains(format) else {
            throw .usage("--format expects \(allowed.joined(separator: " or ")), found '\(format)'")
        }
        return format
    }
}
