/// A command as `slawatch COMMAND --help` shows it — what it does, its options with their defaults,
/// examples — and, from the same description, the options `Arguments` accepts for it: the help and
/// the parser cannot drift apart.
public struct CommandHelp: Sendable {
    /// One option: `--name VALUE` when it takes a value, `--name` (a flag) when it does not.
    public struct Option: Sendable {
        /// Without the dashes.
        public let name: String
        /// The value's placeholder, e.g. `DURATION`; nil for a flag.
        public let value: String?
        public let summary: String
        /// What applies when the option is not given; nil when there is nothing to say (a flag is off).
        public let defaultValue: String?

        public init(_ name: String, value: String? = nil, _ summary: String, default defaultValue: String? = nil) {
            self.name = name
            self.value = value
            self.summary = summary
            self.defaultValue = defaultValue
        }

        /// `--name VALUE` or `--name`.
        var synopsis: String { "--" + name + (value.map { " " + $0 } ?? "") }
    }

    /// The first word of the command line, e.g. `dashboard`.
    public let name: String
    /// What follows the command besides options, e.g. `CODE`; empty when nothing does.
    public let arguments: String
    /// One line: what the command does.
    public let summary: String
    public let options: [Option]
    /// Whole command lines, each one that works.
    public let examples: [String]
    /// Listed apart in `slawatch --help`, as meant for scripts and tests.
    public let forScripts: Bool

    public init(
        name: String, arguments: String = "", summary: String, options: [Option] = [], examples: [String],
        forScripts: Bool = false
    ) {
        self.name = name
        self.arguments = arguments
        self.summary = summary
        self.options = options
        self.examples = examples
        self.forScripts = forScripts
    }

    /// The options that take a value, without dashes.
    var valueOptions: Set<String> { Set(options.filter { $0.value != nil }.map(\.name)) }
    /// The options that take none, without dashes.
    var flags: Set<String> { Set(options.filter { $0.value == nil }.map(\.name)) }

    /// The whole help of the command; `globalOptions` are those every command takes.
    func text(globalOptions: [Option]) -> String {
        var lines = ["usage: slawatch \(name)\(arguments.isEmpty ? "" : " " + arguments) [options]", "", summary]
        if !options.isEmpty {
            lines += ["", "options:"] + Self.table(options)
        }
        lines += ["", "options every command takes:"] + Self.table(globalOptions)
        lines += ["", examples.count == 1 ? "example:" : "examples:"] + examples.map { "  " + $0 }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Options as aligned lines: synopsis, summary, default.
    static func table(_ options: [Option]) -> [String] {
        let width = options.map(\.synopsis.count).max() ?? 0
        return options.flatMap { option in
            let synopsis = option.synopsis + String(repeating: " ", count: width - option.synopsis.count)
            return wrapped("  \(synopsis)   ", option.summary + (option.defaultValue.map { " (default: \($0))" } ?? ""))
        }
    }

    /// `head` then `text`, the text broken between words so that lines stay within `width` columns,
    /// each further line indented as far as `head`.
    static func wrapped(_ head: String, _ text: String, width: Int = 100) -> [String] {
        let indent = String(repeating: " ", count: head.count)
        var lines: [String] = []
        var line = head
        var empty = true
        for word in text.split(separator: " ") {
            if !empty && line.count + 1 + word.count > width {
                lines.append(line)
                line = indent
                empty = true
            }
            line += (empty ? "" : " ") + word
            empty = false
        }
        return lines + [line]
    }
}
