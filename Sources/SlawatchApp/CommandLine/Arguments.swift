/// The command line, split into a command, its options (`--name value` or `--name=value`) and
/// flags (`--name`), checked against what each command accepts (its `CommandHelp`). An option given
/// more than once keeps every value: `self[name]` is the last one, `all(name)` all of them in order.
public struct Arguments {
    public let command: String
    /// The words that are neither options nor their values, after the command.
    public let positional: [String]
    private var values: [String: [String]] = [:]
    private var flags: Set<String> = []

    /// Parses `argv` (without the program name) for the command it names, accepting the options its
    /// `CommandHelp` lists and the global ones. An unknown command or option is a usage error that
    /// suggests the closest known one.
    init(_ argv: [String], commands: [CommandHelp], globalOptions: [CommandHelp.Option]) throws(CommandError) {
        guard let first = argv.first, !first.hasPrefix("-") else { throw .usage(Self.usageLine(commands)) }
        command = first
        guard let help = commands.first(where: { $0.name == first }) else { throw Self.unknownCommand(first, commands) }
        let accepted = help.valueOptions.union(globalOptions.map(\.name))
        let acceptedFlags = help.flags
        var positional: [String] = []
        var i = 1
        while i < argv.count {
            let arg = argv[i]
            i += 1
            guard arg.hasPrefix("--") else {
                positional.append(arg)
                continue
            }
            var name = String(arg.dropFirst(2))
            var inline: String?
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            if acceptedFlags.contains(name) {
                guard inline == nil else { throw .usage("--\(name) takes no value") }
                flags.insert(name)
            } else if accepted.contains(name) {
                if let inline {
                    values[name, default: []].append(inline)
                    continue
                }
                guard i < argv.count else { throw .usage("--\(name) needs a value") }
                values[name, default: []].append(argv[i])
                i += 1
            } else {
                let all = accepted.union(acceptedFlags).sorted()
                let hint = NameSuggestion.closest(to: name, among: all).map { "did you mean --\($0)? " } ?? ""
                throw .usage(
                    "unknown option --\(name) for 'slawatch \(first)'; \(hint)it accepts "
                        + all.map { "--" + $0 }.joined(separator: ", ") + " (slawatch \(first) --help says more)")
            }
        }
        self.positional = positional
    }

    /// The usage error for a command that is not one of `commands`, suggesting the closest.
    static func unknownCommand(_ name: String, _ commands: [CommandHelp]) -> CommandError {
        let names = commands.map(\.name)
        let hint = NameSuggestion.closest(to: name, among: names).map { "did you mean '\($0)'? " } ?? ""
        let known = names.joined(separator: ", ")
        return .usage("unknown command '\(name)'; \(hint)expected one of \(known) (slawatch --help lists them)")
    }

    /// The short usage of a command line without a command: the commands, where to read more, and
    /// the commands meant for scripts with their options.
    static func usageLine(_ commands: [CommandHelp]) -> String {
        let listed = commands.filter { !$0.forScripts }.map(\.name).joined(separator: "|")
        let notes = commands.filter(\.forScripts).map { command in
            (["slawatch", command.name, command.arguments] + command.options.map(\.synopsis))
                .filter { !$0.isEmpty }.joined(separator: " ") + " is for scripts and tests"
        }
        return (["usage: slawatch <\(listed)> [options]; slawatch --help says what each does"] + notes)
            .joined(separator: "; ")
    }

    /// The value of option `--name`; the last one when it was given several times.
    public subscript(_ name: String) -> String? { values[name]?.last }
    /// Every value of option `--name`, in the order given.
    public func all(_ name: String) -> [String] { values[name] ?? [] }
    /// Whether flag `--flag` was given.
    public func has(_ flag: String) -> Bool { flags.contains(flag) }

    /// The value of option `--name` as a whole number; a usage error when it is not one.
    public func int(_ name: String) throws(CommandError) -> Int? {
        guard let text = self[name] else { return nil }
        guard let n = Int(text) else { throw .usage("--\(name) expects a whole number, found '\(text)'") }
        return n
    }
}
