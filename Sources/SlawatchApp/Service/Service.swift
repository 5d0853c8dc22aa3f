/// Something that runs until its work is done or it is asked to stop, such as the worker or,
/// later, the HTTP API server.
///
/// A service returns from `run` once `shutdown` is requested and what it had in flight is
/// finished (a worker's current cycle and its sends); it never leaves work half-recorded because
/// of a request to stop. An error it throws stops the other services of its group too.
public protocol Service: Sendable {
    /// A short name for the logs.
    var name: String { get }
    func run(until shutdown: ShutdownRequest) async throws
}
