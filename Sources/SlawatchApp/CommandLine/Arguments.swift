/// The command line, split into a command, its options (`--name value` or `--name=value`) and
/// flags (`--name`), checked against what each command accepts. An option given more than once keeps
/// every value: `self[name]` is the last one, `all(name)` all of them in order.
public struct Arguments {
    public let command: String
    /// The words that are neither options nor their values, after the command.
    public let positional: [String]
    private var values: [String: [String]] = [:]
    private var flags: Set<String> = []

    /// Options every command takes.
    static let globalOptions: Set<String> = ["database", "rules", "now", "log-format"]

    init(
        _ argv: [String], options: [String: Set<String>], flags allowedFlags: [String: Set<String>], usage: String
    ) throws(CommandError) {
        guard let first = argv.first, !first.hasPrefix("-") else { throw .usage(usage) }
        command = first
        guard let commandOptions = options[first] else {
            throw .usage("unknown command '\(first)'; expected one of \(options.keys.sorted().joined(separator: ", "))")
        }
        let accepted = commandOptions.union(Self.globalOptions)
        let acceptedFlags = allowedFlags[first] ?? []
        var positional: [String] = []
        var i = 1
        while i < argv.count {
            let arg = argv[i]
            i += 1
            guard arg.hasPrefix("--") else { positional.append(arg); continue }
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
                if let inline { values[name, default: []].append(inline); continue }
                guard i < argv.count else { throw .usage("--\(name) needs a value") }
                values[name, default: []].append(argv[i])
                i += 1
            } else {
                let all = (accepted.union(acceptedFlags)).sorted().map { "--" + $0 }.joined(separator: ", ")
                throw .usage("unknown option --\(name) for 'slawatch \(first)'; it accepts \(all)")
            }
        }
        self.positional = positional
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
