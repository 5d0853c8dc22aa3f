import Foundation
import SlawatchCore
import SlawatchStore

/// The `slawatch` command line: parses arguments, runs one command, and turns every failure into
/// one line on stderr with the exit code of the README ("Commands"). `--help` and `--version` answer
/// on stdout.
public enum Slawatch {
    /// Runs the command line `arguments` (without the program name) and returns the exit code. `commands` adds
    /// commands of other modules (the executable passes the demo's); a built-in command of the same name wins.
    public static func main(
        arguments: [String], environment: [String: String], commands: [SlawatchCommand] = [],
        output: @escaping @Sendable (String) -> Void = { FileHandle.standardOutput.write(Data($0.utf8)) },
        errors: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }
    ) async -> Int32 {
        do throws(CommandError) {
            let builtIn = Set(CommandCatalog.commands.map(\.name))
            let added = commands.filter { !builtIn.contains($0.name) }
            let all = CommandCatalog.commands + added.map(\.help)
            if let answer = try help(arguments, all) {
                output(answer)
                return 0
            }
            let args = try Arguments(arguments, commands: all, globalOptions: CommandCatalog.globalOptions)
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
            case "whatif": try await WhatIfCommand.run(context)
            case "forecast": try await ForecastCommand.run(context)
            case "serve": try await ServeCommand.run(context)
            case "token": try await TokenCommand.run(context)
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

    /// What to print instead of running a command: the overview for `slawatch --help` (`-h`, `help`),
    /// a command's help for `slawatch COMMAND --help` (`-h` anywhere after it, or `help COMMAND`), the
    /// versions for `--version`; nil for a command line that runs a command.
    static func help(_ arguments: [String], _ all: [CommandHelp]) throws(CommandError) -> String? {
        guard let first = arguments.first else { return nil }
        let asksHelp: (String) -> Bool = { $0 == "--help" || $0 == "-h" }
        switch first {
        case "--version", "-V":
            return SlawatchVersion.report
        case "--help", "-h", "help":
            guard first == "help", arguments.count > 1 else { return CommandCatalog.overview(all) }
            return try commandHelp(arguments[1], all)
        default:
            if first.hasPrefix("-") {
                let hint =
                    NameSuggestion.closest(to: first, among: ["--help", "--version"]).map { "did you mean \($0)? " }
                    ?? ""
                throw .usage("unknown option \(first) before the command; \(hint)\(Arguments.usageLine(all))")
            }
            guard arguments.dropFirst().contains(where: asksHelp) else { return nil }
            return try commandHelp(first, all)
        }
    }

    /// The help of command `name`; an unknown one is a usage error, as when running it.
    private static func commandHelp(_ name: String, _ all: [CommandHelp]) throws(CommandError) -> String {
        guard let command = all.first(where: { $0.name == name }) else { throw Arguments.unknownCommand(name, all) }
        return command.text(globalOptions: CommandCatalog.globalOptions)
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

    init(
        _ args: Arguments, environment: [String: String], output: @escaping @Sendable (String) -> Void,
        errors: @escaping @Sendable (String) -> Void
    ) throws(CommandError) {
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
            now = Instant.wallNow()
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
            throw .usage(
                "no database given: pass --database URL or set DATABASE_URL (e.g. postgresql://user@127.0.0.1:5432/helpdesk)"
            )
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
