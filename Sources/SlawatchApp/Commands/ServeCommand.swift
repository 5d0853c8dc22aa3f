import Foundation
import HTTPServer
import SlawatchCore
import SlawatchStore

/// `slawatch serve`: the read-only HTTP API (README, "The HTTP API") in a ``ServiceGroup``: SIGTERM or
/// SIGINT stop accepting and let the requests in flight finish (exit 0), SIGHUP reloads the rules.
///
/// With `--now` every request is answered as of that instant (tokens are checked against it too): for
/// tests that compare the API with the CLI at one instant.
enum ServeCommand {
    static func run(_ context: CommandContext) async throws(CommandError) {
        let args = context.args
        let rules = try context.loadRules()
        let listen = args["listen"] ?? rules.api?.listen ?? "127.0.0.1:8080"
        guard let (host, port) = APISettings.hostAndPort(listen) else {
            throw .usage("--listen expects HOST:PORT with a numeric address, such as 127.0.0.1:8080, found '\(listen)'")
        }
        let poolSize = try args.int("pool") ?? 8
        guard (1...256).contains(poolSize) else {
            throw .usage("--pool expects 1 to 256 connections, found \(poolSize)")
        }
        // As many threads as connections by default: a request holds its thread while its statement runs,
        // so fewer threads than connections leave connections idle while clients wait, and more would
        // only wait for a connection.
        let threads = try args.int("threads") ?? poolSize
        guard (1...256).contains(threads) else { throw .usage("--threads expects 1 to 256, found \(threads)") }
        var timeout: Int64 = 30_000_000
        if let text = args["timeout"] {
            guard let micros = DurationText.microseconds(text), micros >= 1_000_000, micros <= 3_600_000_000 else {
                throw .usage("--timeout expects a duration from 1s to 1h, such as 30s, found '\(text)'")
            }
            timeout = micros
        }
        let fixed = context.nowWasGiven ? context.now : nil
        let now: @Sendable () -> Instant = { fixed ?? Instant.wallNow() }
        let configuration = try APIConfiguration(rules: rules, now: now)
        let log = context.log
        let pool = BlockingConnectionPool(settings: try context.connectionSettings(), size: poolSize)
        // Unreachable at start is exit code 3, as for every command; later outages are 503s.
        do {
            try pool.withConnection { try WorkerStore(connection: $0).ping() }
        } catch {
            throw CommandError.from(error)
        }
        let metrics = APIMetrics()
        let handler = APIHandler(configuration: configuration, pool: pool, metrics: metrics, log: log, now: now)
        let server: HTTPServer
        do {
            server = try HTTPServer(
                configuration: .init(
                    host: host, port: port, threadPoolSize: threads, maxRequestBodyBytes: 1 << 20,
                    connectionTimeout: .microseconds(timeout), stopTimeout: .seconds(60),
                    rejectionResponse: { APIHandler.rejection($0, metrics: metrics) },
                    log: { log.warning("http server", ["detail": $0]) }),
                handler: handler)
        } catch {
            throw .runtime("cannot listen on \(listen): \(error)")
        }
        let shown = host.contains(":") ? "[\(host)]" : host
        context.output("listening on http://\(shown):\(server.port)\n")
        log.info("listening", ["address": "http://\(shown):\(server.port)", "pool": String(poolSize)])
        let reload = ReloadRequest()
        let service = APIService(
            server: server, handler: handler, pool: pool, reload: reload, rulesPath: context.rulesPath,
            environment: context.environment, log: log)
        var stopAtOnce: @Sendable (Int32) -> Void = ServiceGroup.exitAtOnce
        if log.format == .json {
            stopAtOnce = { number in
                log.error("second signal: stopping at once", ["signal": String(number)])
                exit(1)
            }
        }
        do {
            try await ServiceGroup(services: [service], reload: reload, stopAtOnce: stopAtOnce).run()
        } catch {
            throw CommandError.from(error)
        }
    }
}
