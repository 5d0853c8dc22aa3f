import Dispatch
import Foundation
import Synchronization

/// Runs services side by side until all have returned, and turns Unix signals into a graceful
/// shutdown: the first SIGTERM or SIGINT asks every service to stop once its work in flight is
/// done; a second one stops the process at once. Given a ``ReloadRequest``, SIGHUP requests a
/// reload from the services that share it, as often as it arrives; it never stops anything.
///
/// When one service throws, the others are asked to stop gracefully and the first error is
/// rethrown once all have returned.
public struct ServiceGroup: Sendable {
    let services: [any Service]
    let signals: [Int32]
    /// What a second signal does: by default one line on stderr and exit code 1.
    let stopAtOnce: @Sendable (Int32) -> Void
    public let shutdown = ShutdownRequest()
    /// What SIGHUP (`reloadSignal`) requests; nil: the signal is left alone.
    let reload: ReloadRequest?
    let reloadSignal: Int32

    public init(
        services: [any Service], signals: [Int32] = [SIGTERM, SIGINT], reload: ReloadRequest? = nil,
        reloadSignal: Int32 = SIGHUP, stopAtOnce: @escaping @Sendable (Int32) -> Void = ServiceGroup.exitAtOnce
    ) {
        self.services = services
        self.signals = signals
        self.reload = reload
        self.reloadSignal = reloadSignal
        self.stopAtOnce = stopAtOnce
    }

    @Sendable public static func exitAtOnce(_ signal: Int32) {
        FileHandle.standardError.write(Data("slawatch: second signal (\(signal)): stopping at once\n".utf8))
        exit(1)
    }

    public func run() async throws {
        let handlers = SignalHandlers(signals) { [shutdown, stopAtOnce] number, count in
            if count == 1 { shutdown.request() } else { stopAtOnce(number) }
        }
        // A handlers object of its own: reloads are not counted with the signals that stop.
        let reloads = reload.map { reload in SignalHandlers([reloadSignal]) { _, _ in reload.request() } }
        defer {
            handlers.cancel()
            reloads?.cancel()
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for service in services {
                group.addTask { [shutdown] in try await service.run(until: shutdown) }
            }
            var firstError: (any Error)?
            while !group.isEmpty {
                do {
                    try await group.next()
                } catch {
                    if firstError == nil { firstError = error }
                    shutdown.request()
                }
            }
            if let firstError { throw firstError }
        }
    }
}

/// Unix signals delivered through DispatchSource (never in a signal handler), counted across all
/// the signals it watches.
final class SignalHandlers {
    private final class Count: Sendable {
        let value = Atomic<Int>(0)
    }
    private let sources: [any DispatchSourceSignal]
    private let count = Count()

    init(_ signals: [Int32], handler: @escaping @Sendable (Int32, Int) -> Void) {
        var sources: [any DispatchSourceSignal] = []
        let queue = DispatchQueue(label: "slawatch.signals")
        for number in signals {
            // The default action (terminate) must not run: the source sees the signal instead.
            signal(number, SIG_IGN)
            sources.append(DispatchSource.makeSignalSource(signal: number, queue: queue))
        }
        self.sources = sources
        for (number, source) in zip(signals, sources) {
            source.setEventHandler { [count] in
                let seen = count.value.add(1, ordering: .sequentiallyConsistent).newValue
                handler(number, seen)
            }
            source.resume()
        }
    }

    func cancel() {
        for source in sources { source.cancel() }
    }
}
