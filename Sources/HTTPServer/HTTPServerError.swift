/// The server could not start: a bad address, a port in use, or libmicrohttpd refusing its options.
public struct HTTPServerError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
