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
        "run": ["interval", "metrics-file", "full-every"],
        "events": ["since", "format"],
        "deliveries": ["status", "format", "retry"],
        "report": ["format"],
    ]
    /// The built-in commands in the order the usage line lists them.
    static let usageOrder = ["migrate", "check", "run", "dashboard", "ticket", "events", "deliveries", "report"]
    static let flags: [String: Set<String>] = [
        "dashboard": ["desc"],
        "run": ["once", "dry-run", "full"],
        "report": ["print", "send"],
    ]

    /// Runs the command line `arguments` (without the program name) and returns the exit code. `commands` adds
    /// commands of other modules (the executable passes the demo's); a built-in command of the same name wins.
    public static func main(
        arguments: [String], environment: [String: String], commands: [SlawatchCommand] = [],
        output: @escaping @Sendable (String) -> Void = { FileHandle.standardOutput.write(Data($0.utf8)) },
        errors: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }
    ) async -> Int32 {
        do throws(CommandError) {
            let added = commands.filter { options[$0.name] == nil }
            var allOptions = options, allFlags = flags
            for command in added {
                allOptions[command.name] = command.options
                allFlags[command.name] = command.flags
            }
            let args = try Arguments(arguments, options: allOptions, flags: allFlags, usage: usageLine(added))
            let context = try CommandContext(args, environment: environment, output: output, errors: errors)
            switch args.command {
            case "migrate": try await MigrateCommand.run(context)
            case "check": try CheckCommand.run(context)
            case "dashboard": try await DashboardCommand.run(context)
            case "ticket": try await TicketCommand.run(context)
            case "run": try await RunCommand.run(context)
            case "report": try await ReportCommand.run(context)
            case "events": try await EventsCommand.run(context)
            case "deliveries": try await DeliveriesCommand.run(context)
            default:
                guard let command = added.first(where: { $0.name == args.command }) else {
                    throw CommandError.usage(
                        "'slawatch \(args.command)' is not available in this version yet; see README")
                }
                try await command.run(context)
            }
            return 0
        } catch {
            errors(ErrorLine.render(error, arguments: arguments))
            return error.exitCode.rawValue
        }
    }

    /// The one-line usage: the built-in commands and the listed added ones, then the added ones' notes.
    static func usageLine(_ added: [SlawatchCommand]) -> String {
        var names = usageOrder
        var notes: [String] = []
        for command in added {
            switch command.usage {
            case .listed: names.append(command.name)
            case .note(let text): notes.append(text)
            }
        }
        return (["usage: slawatch <\(names.joined(separator: "|"))> [options]; see README"] + notes)
            .joined(separator: "; ")
    }
}

/// What every command gets: parsed arguments, the instant to act at, the environment and where
/// to write. Public for the commands other modules add (`SlawatchCommand`).
public struct CommandContext {
    public let args: Arguments
    public let environment: [String: String]
    /// `--now`, or the current time.
    public let now: Instant
    /// True when `--now` was given.
    public let nowWasGiven: Bool
    /// Where the command's results go (stdout).
    public let output: @Sendable (String) -> Void
    /// Where diagnostics go (stderr).
    public let errors: @Sendable (String) -> Void

    init(_ args: Arguments, environment: [String: String], output: @escaping @Sendable (String) -> Void, errors: @escaping @Sendable (String) -> Void) throws(CommandError) {
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

    /// `--rules`, by default `./rules`.
    public var rulesPath: String { args["rules"] ?? "./rules" }

    var log: Logger { Logger(format: args["log-format"] == "json" ? .json : .text, write: errors) }

    /// The rules of `rulesPath`, checked; invalid rules are a usage error.
    public func loadRules() throws(CommandError) -> RuleSet {
        try RulesDirectory.load(rulesPath, environment: environment)
    }

    /// `--database`, else `DATABASE_URL`.
    public var databaseURL: String? { args["database"] ?? environment["DATABASE_URL"] }

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
