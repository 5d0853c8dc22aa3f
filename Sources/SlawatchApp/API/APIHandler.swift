import HTTPServer
import SlawatchCore
import SlawatchStore
import Synchronization

/// The HTTP API (README, "The HTTP API"): routes each request to its endpoint, on libmicrohttpd's
/// thread, with a database connection borrowed from a blocking pool for the request's length.
///
/// Whatever happens, the answer is in the endpoint's error shape: a database failure is logged with
/// the server's text and answered 503 (unreachable, busy, timed out) or 500 without it.
final class APIHandler: HTTPHandler {
    let pool: BlockingConnectionPool
    let metrics: APIMetrics
    let log: Logger
    /// The request's instant: the clock, or `--now` when `serve` was given one.
    let now: @Sendable () -> Instant
    private let current: Mutex<APIConfiguration>

    init(
        configuration: APIConfiguration, pool: BlockingConnectionPool, metrics: APIMetrics, log: Logger,
        now: @escaping @Sendable () -> Instant
    ) {
        current = Mutex(configuration)
        self.pool = pool
        self.metrics = metrics
        self.log = log
        self.now = now
    }

    var configuration: APIConfiguration { current.withLock { $0 } }

    /// Rules reloaded: requests that start from now on use them.
    func replace(_ configuration: APIConfiguration) { current.withLock { $0 = configuration } }

    func respond(to request: HTTPServerRequest) -> HTTPServerResponse {
        let started = ContinuousClock.now
        let route = APIRoute(method: request.method, path: request.path)
        let context = APIRequest(
            http: request, now: now(), configuration: configuration, pool: pool, log: log, metrics: metrics)
        let response = route.respond(context)
        metrics.record(route: route.name, status: response.status, seconds: (ContinuousClock.now - started).seconds)
        return response
    }

    /// The answer to a request the server refused itself (a body over the limit, a stop under way), in
    /// the shape of the endpoint the path names.
    @Sendable static func rejection(_ rejection: HTTPRejection, metrics: APIMetrics) -> HTTPServerResponse {
        let shape = APIErrorShape.forPath(rejection.path)
        metrics.record(
            route: APIRoute(method: rejection.method, path: rejection.path).name, status: rejection.status, seconds: 0)
        return shape.response(rejection.status, now: Instant.wallNow())
    }
}

extension Duration {
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}
