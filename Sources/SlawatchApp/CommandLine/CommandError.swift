import SlawatchStore

/// A failure the CLI reports as one line on stderr with a documented exit code.
public struct CommandError: Error, CustomStringConvertible, Sendable {
    /// README, 'Commands': 1 failure at run time, 2 bad usage or invalid rules, 3 database unreachable.
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

    /// A store failure as the CLI reports it: an unreachable database is exit code 3, a column a
    /// rule or filter names but the view lacks is a usage error, anything else 1. The CLI shows
    /// the server's own words too: they are what a person needs to fix a view or a permission.
    init(_ error: StoreError) {
        switch error.code {
        case .unavailable:
            self.init(
                .databaseUnreachable,
                error.messageWithDetail + "; check --database or DATABASE_URL and that the server is running")
        case .unknownColumn:
            self.init(.usage, error.messageWithDetail)
        default:
            self.init(.runtime, error.messageWithDetail)
        }
    }

    /// Any failure of a command: a `CommandError` as it is, a store failure mapped, anything else
    /// a failure at run time.
    static func from(_ error: any Error) -> CommandError {
        switch error {
        case let error as CommandError: return error
        case let error as StoreError: return CommandError(error)
        default: return .runtime("\(error)")
        }
    }
}

extension ConnectionProvider {
    /// Runs `body` with a connection (on the connection's thread); every failure becomes a
    /// `CommandError`.
    func command<T>(_ body: (StoreConnection) throws -> T) async throws(CommandError) -> T {
        do {
            return try await withConnection(body)
        } catch {
            throw CommandError.from(error)
        }
    }
}
