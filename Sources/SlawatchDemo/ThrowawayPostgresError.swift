/// Why a throwaway PostgreSQL could not be set up or stopped. `description` is one line that says what failed
/// and what to do about it.
public struct ThrowawayPostgresError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure; new kinds may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }

        public static let binariesNotFound = Code("binariesNotFound")
        public static let unusableDirectory = Code("unusableDirectory")
        public static let invalidSetting = Code("invalidSetting")
        public static let commandFailed = Code("commandFailed")
        public static let initdbFailed = Code("initdbFailed")
        public static let startFailed = Code("startFailed")
        public static let notAnswering = Code("notAnswering")
        public static let databaseFailed = Code("databaseFailed")
        public static let stopFailed = Code("stopFailed")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
