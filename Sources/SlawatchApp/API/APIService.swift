import Glibc
import HTTPServer
import SlawatchCore
import SlawatchStore

/// `slawatch serve` as a ``Service``: the HTTP server runs from `init` until a stop is requested, then
/// stops accepting, lets the requests in flight finish and returns. A reload (SIGHUP) reads the rules
/// again: valid ones apply to the requests that start afterwards, invalid ones are logged and the
/// previous rules stay in force.
final class APIService: Service {
    let name = "api"
    let server: HTTPServer
    let handler: APIHandler
    let pool: BlockingConnectionPool
    let reload: ReloadRequest
    let rulesPath: String
    let environment: [String: String]
    let log: Logger

    init(
        server: HTTPServer, handler: APIHandler, pool: BlockingConnectionPool, reload: ReloadRequest,
        rulesPath: String, environment: [String: String], log: Logger
    ) {
        self.server = server
        self.handler = handler
        self.pool = pool
        self.reload = reload
        self.rulesPath = rulesPath
        self.environment = environment
        self.log = log
    }

    func run(until shutdown: ShutdownRequest) async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await shutdown.wait() }
            group.addTask { [self] in
                var seen = reload.count
                // Ends when the group is cancelled: wait(beyond:) returns and the loop sees it.
                while !Task.isCancelled {
                    await reload.wait(beyond: seen)
                    if Task.isCancelled || shutdown.isRequested { return }
                    seen = reload.count
                    reloadRules()
                }
            }
            await group.next()
            group.cancelAll()
        }
        log.info("stopping: finishing the requests in flight", ["in_flight": String(server.requestsInFlight)])
        // stop() blocks until the requests in flight are answered: on a thread of its own, not Swift's pool.
        let server = self.server
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            detachThread {
                server.stop()
                done.resume()
            }
        }
        pool.close()
        log.info("stopped")
    }

    private func reloadRules() {
        switch RulesReload.read(rulesPath, environment: environment) {
        case .invalid(let problems):
            for p in problems { log.error("invalid rules", ["file": p.file, "path": p.path, "error": p.message]) }
            log.error("rules not reloaded: the previous rules stay in force")
        case .rules(let rules):
            do {
                handler.replace(try APIConfiguration(rules: rules, now: handler.now))
                log.info("rules reloaded")
            } catch {
                log.error("invalid rules", ["error": error.message])
                log.error("rules not reloaded: the previous rules stay in force")
            }
        }
    }
}

/// Runs `body` on a detached POSIX thread.
private func detachThread(_ body: @escaping @Sendable () -> Void) {
    final class Box: @unchecked Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
    defer { pthread_attr_destroy(&attributes) }
    var id = pthread_t()
    let created = pthread_create(
        &id, &attributes,
        { argument in
            guard let argument else { return nil }
            Unmanaged<Box>.fromOpaque(argument).takeRetainedValue().body()
            return nil
        }, box)
    if created != 0 {
        // No thread: run it here rather than never.
        Unmanaged<Box>.fromOpaque(box).takeRetainedValue().body()
    }
}
