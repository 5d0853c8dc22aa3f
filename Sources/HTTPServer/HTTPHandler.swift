/// Answers the requests of an ``HTTPServer``.
///
/// `respond(to:)` is synchronous and runs on one of libmicrohttpd's pool threads, never on Swift's
/// cooperative pool, so it may block (on a database call, for example); while it does, the other
/// connections served by the same pool thread wait. It is called concurrently from several threads.
/// It is called only for a complete request whose body fits the server's limit.
public protocol HTTPHandler: Sendable {
    func respond(to request: HTTPServerRequest) -> HTTPServerResponse
}
