/// A failure the CLI reports as one line on stderr with a documented exit code.
public struct CommandError: Error, CustomStringConvertible, Sendable {
    /// SPEC section 7: 1 failure at run time, 2 bad usage or invalid rules, 3 database unreachable.
    public enum ExitCode: Int32, Sendable {
        case runtime = 1
        case usage = 2
        case databaseUnreachable = 3
    }
    public let exitCode: ExitCode
    public let message: String
    public var description: String { message }

    public init(_ exitCode: ExitCode, _ message: String) {
        self.exitCode = exitCode
        self.message = message
    }

    public static func usage(_ message: String) -> CommandError { CommandError(.usage, message) }
    public static func runtime(_ message: String) -> CommandError { CommandError(.runtime, message) }
}
