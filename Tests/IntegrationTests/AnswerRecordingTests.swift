import Foundation
import LoopbackSinks
import PostgresClient
import Synchronization
import Testing

/// Answers that arrive while the database is away for a moment (its sessions ended, connections
/// refused, as in a restart) are recorded once it answers again: a live worker never sends those
/// messages twice (README, 'What a receiver can rely on').
@Suite(.serialized) struct AnswerRecordingTests {
    @Test func answersArrivingWhileTheDatabaseIsAwayAreRecordedWithoutARepeat() async throws {
        let executable = try WorkerProcessTests.requireExecutable()
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        let received = Mutex<[String]>([])
        // Every message is answered after 3 s: the database goes away while they are on their way.
        sink.respond { request in
            received.withLock { $0.append(request.header("webhook-id") ?? "") }
            return HTTPSink.Response(status: 200, delay: .seconds(3))
        }
        for n in 0..<4 { try desk.addTicket(title: "Ticket \(n)") }
        let rules = try TemporaryRules([
            "sla.json": WorkerRules.text(
                channels: #"{ hook: { type: "webhook", url: "\#(sink.url)/hook", timeout: "10s" } }"#,
                routes: WorkerRules.allEvents(to: ["hook"]))
        ])
        let base = try #require(ProcessInfo.processInfo.environment["SLAWATCH_TEST_DATABASE_URL"])
        let admin = try PostgresConnection(url: base)
        func allowConnections(_ allowed: Bool) throws {
            try admin.execute("ALTER DATABASE \(desk.db.name) ALLOW_CONNECTIONS \(allowed)")
            if !allowed {
                try admin.query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                    [.text(desk.db.name)])
            }
        }
        defer { try? allowConnections(true) }
        let child = try WorkerProcessTests.Child(
            executable,
            [
                "run", "--interval", "1s", "--rules", rules.path, "--database", desk.url, "--now",
                WorkerClock.at(hours: 5).iso8601,
            ])
        let inFlight = await eventually(timeout: .seconds(60)) { received.withLock { $0.count } == 4 }
        try #require(inFlight, "stderr: \(child.stderr)")
        // The answers come while no session of the worker's is left and none can be opened.
        try allowConnections(false)
        try await Task.sleep(for: .seconds(4))
        try allowConnections(true)

        // All four recorded as sent: at once here, only after their leases ran out and they went
        // again if the answers were dropped.
        var recorded = false
        let deadline = Date().addingTimeInterval(40)
        while !recorded && Date() < deadline {
            let rows = (try? await desk.deliveries()) ?? []
            recorded = rows.count == 4 && rows.allSatisfy { $0.status == "sent" }
            if !recorded { try await Task.sleep(for: .milliseconds(500)) }
        }
        #expect(recorded, "stderr: \(child.stderr)")
        let ids = received.withLock { $0 }
        #expect(ids.count == 4 && Set(ids).count == 4, "a message answered while the database was away went again: \(ids)")
        #expect(try await desk.deliveries().allSatisfy { $0.attempts == 1 })
        kill(child.process.processIdentifier, SIGTERM)
        #expect(await child.waitForExit(timeout: .seconds(30)) == 0, "stderr: \(child.stderr)")
    }
}
