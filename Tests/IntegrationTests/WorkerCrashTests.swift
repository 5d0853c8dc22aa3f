import Foundation
import LoopbackSinks
import SlawatchCore
import Testing

/// What happens when a receiver does not answer in time, and when a worker dies between a send and
/// its record (the README's "What a receiver can rely on").
@Suite struct WorkerCrashTests {
    @Test func aReceiverThatDoesNotAnswerInTimeIsRetried() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        sink.enqueue(HTTPSink.Response(status: 200, delay: .seconds(3)))
        try desk.addTicket(title: "Caída del portal")
        let rules = try TemporaryRules([
            "sla.json": WorkerRules.text(
                channels: #"{ hook: { type: "webhook", url: "\#(sink.url)/hook", timeout: "300ms" } }"#,
                routes: WorkerRules.allEvents(to: ["hook"]))
        ])
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 5))
        let first = try await desk.deliveries()
        #expect(first.count == 1)
        #expect(first.first?.status == "failed")
        #expect(first.first?.attempts == 1)
        #expect(first.first?.last_error?.lowercased().contains("time") == true, "\(first)")
        // The next attempt, after the backoff, finds the receiver answering.
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 5, seconds: 60))
        let second = try await desk.deliveries()
        #expect(second.first?.status == "sent", "\(second)")
        #expect(second.first?.attempts == 2)
        #expect(Set(sink.requests.compactMap { $0.header("webhook-id") }).count == 1)
    }

    /// The worker is killed after the receiver has the message and before the worker records it:
    /// the delivery stays claimed; when its lease ends (seconds later, by the database's clock whatever
    /// `--now` says) another cycle sends it again, with the same
    /// `webhook-id`, so the receiver can drop the repeat. Nothing is lost.
    @Test func aWorkerKilledBetweenSendAndRecordRepeatsWithTheSameWebhookID() async throws {
        let executable = try WorkerProcessTests.requireExecutable()
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        // The first answer comes very late, and the worker waits up to a minute for it: the kill
        // lands while it waits even on a machine slowed down by a parallel test run.
        sink.enqueue(HTTPSink.Response(status: 200, delay: .seconds(120)))
        try desk.addTicket(title: "Caída del correo")
        let rules = try TemporaryRules([
            "sla.json": WorkerRules.text(
                channels: #"{ hook: { type: "webhook", url: "\#(sink.url)/hook", timeout: "60s" } }"#,
                routes: WorkerRules.allEvents(to: ["hook"]))
        ])
        let child = try WorkerProcessTests.Child(
            executable,
            [
                "run", "--interval", "1s", "--rules", rules.path, "--database", desk.url, "--now",
                WorkerClock.at(hours: 5).iso8601,
            ])
        let arrived = await eventually(timeout: .seconds(30)) { !sink.requests.isEmpty || !child.process.isRunning }
        try #require(arrived && child.process.isRunning, "stderr: \(child.stderr)")
        kill(child.process.processIdentifier, SIGKILL)
        _ = await child.waitForExit(timeout: .seconds(10))
        let claimed = try await desk.deliveries()
        #expect(claimed.count == 1)
        #expect(claimed.first?.status == "pending", "recorded as nothing yet: \(claimed)")

        // Within the lease nobody takes it over; after it, the next cycle sends it again.
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 5, seconds: 30))
        #expect(sink.requests.count == 1)
        try await Task.sleep(for: .seconds(11))
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 5, seconds: 31))
        let requests = sink.requests
        let rows = try await desk.deliveries()
        try #require(requests.count == 2, "\(rows)")
        let ids = requests.compactMap { $0.header("webhook-id") }
        #expect(ids.count == 2 && ids[0] == ids[1], "the repeat carries the same webhook-id: \(ids)")
        #expect(requests[0].body == requests[1].body)
        let after = try await desk.deliveries()
        #expect(after.first?.status == "sent")
    }

    /// The worker's database connection is cut (the server ends its session): the worker says so,
    /// connects again and goes on; nothing delivered before is sent again, what comes after is sent.
    @Test func aLostDatabaseConnectionIsReestablished() async throws {
        let executable = try WorkerProcessTests.requireExecutable()
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        try desk.addTicket(title: "Caída del portal")
        let rules = try TemporaryRules([
            "sla.json": WorkerRules.text(
                channels: #"{ hook: { type: "webhook", url: "\#(sink.url)/hook" } }"#,
                routes: WorkerRules.allEvents(to: ["hook"]))
        ])
        let child = try WorkerProcessTests.Child(
            executable,
            [
                "run", "--interval", "1s", "--rules", rules.path, "--database", desk.url, "--now",
                WorkerClock.at(hours: 5).iso8601,
            ])
        let first = await eventually(timeout: .seconds(30)) { sink.requests.count >= 1 || !child.process.isRunning }
        try #require(first && child.process.isRunning, "stderr: \(child.stderr)")

        let cut = try desk.connection.query(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'slawatch' AND pid <> pg_backend_pid()"
        ).rows[0].int(0)
        try #require(cut >= 1, "the worker's session was not found")
        try desk.connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'slawatch' AND pid <> pg_backend_pid()"
        )
        let noticed = await eventually(timeout: .seconds(30)) {
            child.stderr.contains("re-established") || !child.process.isRunning
        }
        #expect(noticed && child.process.isRunning, "stderr: \(child.stderr)")

        // A ticket that breaches after the cut, updated as a help desk would.
        let late = try desk.addTicket(title: "Caída del correo", created: WorkerClock.at(hours: 0.9))
        try desk.connection.query(
            "UPDATE public.tickets SET actualizado_en = $1::timestamptz WHERE codigo = $2",
            [.text(WorkerClock.at(hours: 5).iso8601), .text(late.code)])
        let second = await eventually(timeout: .seconds(30)) { sink.requests.count >= 2 || !child.process.isRunning }
        #expect(second && child.process.isRunning, "stderr: \(child.stderr)")

        kill(child.process.processIdentifier, SIGTERM)
        let status = await child.waitForExit(timeout: .seconds(15))
        #expect(status == 0, "stderr: \(child.stderr)")
        #expect(sink.requests.count == 2, "each notification exactly once")
        let rows = try await desk.deliveries()
        #expect(rows.count == 2 && rows.allSatisfy { $0.status == "sent" }, "\(rows)")
    }
}
