import Foundation
import SlawatchApp
import Synchronization
import Testing

/// The lifecycle the worker (and later the API server) runs in: a first signal asks every
/// service to finish what it has in flight, a second stops at once, and one failing service
/// stops the others. Signals are SIGUSR1/SIGUSR2 here so that the test process itself is never
/// at risk; the reload test uses SIGWINCH and SIGURG (harmless by default), since a signal watched
/// again after its source was cancelled in the same process was not always seen.
@Suite(.serialized) struct ServiceGroupTests {
    /// Waits for a stop, then takes `finishing` seconds to finish its work in flight.
    struct PatientService: Service {
        let name = "patient"
        let finishing: Double
        let log: Recorder<String>

        func run(until shutdown: ShutdownRequest) async throws {
            log.append("started")
            await shutdown.wait()
            log.append("asked to stop")
            try await Task.sleep(nanoseconds: UInt64(finishing * 1e9))
            log.append("finished")
        }
    }

    struct FailingService: Service {
        struct Failure: Error {}
        let name = "failing"
        func run(until shutdown: ShutdownRequest) async throws {
            try await Task.sleep(nanoseconds: 50_000_000)
            throw Failure()
        }
    }

    /// Logs each reload it sees until it has seen two, then waits for a stop.
    struct ReloadingService: Service {
        let name = "reloading"
        let reload: ReloadRequest
        let log: Recorder<String>

        func run(until shutdown: ShutdownRequest) async throws {
            log.append("started")
            var seen = 0
            while seen < 2 {
                await reload.wait(beyond: seen)
                seen = reload.count
                log.append("reload \(seen)")
            }
            await shutdown.wait()
            log.append("stopped")
        }
    }

    @Test func theReloadSignalRequestsAReloadEachTimeAndStopsNothing() async throws {
        let log = Recorder<String>()
        let stoppedAtOnce = Recorder<Int32>()
        let reload = ReloadRequest()
        let group = ServiceGroup(
            services: [ReloadingService(reload: reload, log: log)], signals: [SIGURG], reload: reload,
            reloadSignal: SIGWINCH, stopAtOnce: { stoppedAtOnce.append($0) })
        let running = Task { try await group.run() }
        try await waitUntil { log.values == ["started"] }
        kill(getpid(), SIGWINCH)
        try await waitUntil { log.values.count == 2 }
        kill(getpid(), SIGWINCH)
        try await waitUntil { log.values.count == 3 }
        #expect(!group.shutdown.isRequested)
        // Reloads are not counted with the signals that stop: this first SIGURG stops gracefully.
        kill(getpid(), SIGURG)
        try await running.value
        #expect(log.values == ["started", "reload 1", "reload 2", "stopped"])
        #expect(stoppedAtOnce.values.isEmpty)
    }

    @Test func aFirstSignalLetsEveryServiceFinishItsWork() async throws {
        let log = Recorder<String>()
        let stoppedAtOnce = Recorder<Int32>()
        let group = ServiceGroup(
            services: [PatientService(finishing: 0.2, log: log), PatientService(finishing: 0.1, log: log)],
            signals: [SIGUSR1], stopAtOnce: { stoppedAtOnce.append($0) })
        let running = Task { try await group.run() }
        try await waitUntil { log.values.filter { $0 == "started" }.count == 2 }
        #expect(!group.shutdown.isRequested)
        kill(getpid(), SIGUSR1)
        try await running.value
        #expect(log.values.filter { $0 == "finished" }.count == 2, "\(log.values)")
        #expect(stoppedAtOnce.values.isEmpty)
    }

    @Test func aSecondSignalStopsAtOnce() async throws {
        let log = Recorder<String>()
        let stoppedAtOnce = Recorder<Int32>()
        let group = ServiceGroup(
            services: [PatientService(finishing: 1.0, log: log)], signals: [SIGUSR2],
            stopAtOnce: { stoppedAtOnce.append($0) })
        let running = Task { try await group.run() }
        try await waitUntil { log.values == ["started"] }
        kill(getpid(), SIGUSR2)
        try await waitUntil { log.values.contains("asked to stop") }
        kill(getpid(), SIGUSR2)
        try await waitUntil { !stoppedAtOnce.values.isEmpty }
        #expect(stoppedAtOnce.values == [SIGUSR2])
        #expect(!log.values.contains("finished"), "the second signal came while the service was finishing")
        try await running.value
    }

    @Test func aFailingServiceStopsTheOthersAndItsErrorIsThrown() async throws {
        let log = Recorder<String>()
        let group = ServiceGroup(services: [PatientService(finishing: 0, log: log), FailingService()], signals: [])
        await #expect(throws: FailingService.Failure.self) { try await group.run() }
        #expect(log.values == ["started", "asked to stop", "finished"])
    }

    @Test func aSleepEndsEarlyOnlyWhenAStopIsRequested() async throws {
        let shutdown = ShutdownRequest()
        let started = Date()
        #expect(await shutdown.sleep(microseconds: 50_000) == false)
        #expect(Date().timeIntervalSince(started) >= 0.045)
        let sleeper = Task { await shutdown.sleep(microseconds: 60_000_000) }
        try await Task.sleep(nanoseconds: 50_000_000)
        shutdown.request()
        #expect(await sleeper.value == true)
        #expect(Date().timeIntervalSince(started) < 30)
        // Once requested, it stays requested: waits and sleeps return at once.
        await shutdown.wait()
        #expect(await shutdown.sleep(microseconds: 60_000_000) == true)
    }

    @Test func aWaiterWhoseTaskIsCancelledReturnsWithoutAStop() async throws {
        let shutdown = ShutdownRequest()
        let waiter = Task { await shutdown.wait() }
        try await Task.sleep(nanoseconds: 20_000_000)
        waiter.cancel()
        await waiter.value
        #expect(!shutdown.isRequested)
    }

    func waitUntil(_ condition: () -> Bool) async throws {
        for _ in 0..<500 where !condition() { try await Task.sleep(nanoseconds: 10_000_000) }
        try #require(condition(), "timed out")
    }
}

/// A shared, append-only record for a test's services.
final class Recorder<Element: Sendable>: Sendable {
    private let storage = Mutex<[Element]>([])
    func append(_ element: Element) { storage.withLock { $0.append(element) } }
    var values: [Element] { storage.withLock { $0 } }
}
