/// A command that another module adds to the `slawatch` command line, so that the app does not depend on
/// it: the executable registers the demo's commands when it calls `Slawatch.main`.
///
/// It is parsed like a built-in command (its options and flags plus the global `--database`, `--rules`,
/// `--now` and `--log-format`), and its `CommandError`s are reported like theirs: one line on stderr, the
/// error's exit code.
public struct SlawatchCommand: Sendable {
    /// How the command appears in the usage line.
    public enum Usage: Sendable {
        /// Listed beside the built-in commands, after them.
        case listed
        /// Not listed; the text is appended to the usage line instead, e.g. for a command meant for scripts.
        case note(String)
    }

    /// The first word of the command line, e.g. `demo`.
    public let name: String
    /// Options that take a value (`--size N`), without the dashes.
    public let options: Set<String>
    /// Options without a value (`--keep`), without the dashes.
    public let flags: Set<String>
    public let usage: Usage
    public let run: @Sendable (CommandContext) async throws(CommandError) -> Void

    public init(
        name: String, options: Set<String> = [], flags: Set<String> = [], usage: Usage = .listed,
        run: @escaping @Sendable (CommandContext) async throws(CommandError) -> Void
    ) {
        self.name = name
        self.options = options
        self.flags = flags
        self.usage = usage
        self.run = run
    }
}
