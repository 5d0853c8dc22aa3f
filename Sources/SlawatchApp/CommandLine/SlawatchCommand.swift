/// A command that another module adds to the `slawatch` command line, so that the app does not depend on
/// it: the executable registers the demo's commands when it calls `Slawatch.main`.
///
/// It is described like a built-in command (`CommandHelp`: its help, and from it the options and flags
/// it accepts besides the global `--database`, `--rules`, `--now` and `--log-format`), listed in
/// `slawatch --help`, and its `CommandError`s are reported like theirs: one line on stderr, the error's
/// exit code.
public struct SlawatchCommand: Sendable {
    public let help: CommandHelp
    public let run: @Sendable (CommandContext) async throws(CommandError) -> Void

    public init(help: CommandHelp, run: @escaping @Sendable (CommandContext) async throws(CommandError) -> Void) {
        self.help = help
        self.run = run
    }

    /// The first word of the command line, e.g. `demo`.
    public var name: String { help.name }
}
