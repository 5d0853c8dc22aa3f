import Foundation
import LoopbackSinks
import PostgresClient
import SlawatchCore
import SlawatchStore
import Synchronization
import Testing

/// The outbox under crashes, slow receivers and an unavailable database (the README's "What a
/// receiver can rely on" and the worker section): leases held while sending and free soon after a
/// kill, outcomes recorded as answers arrive, per-attempt timing, evaluation beside sending, and
/// connection failures retried.
@Suite(.serialized) struct DeliveryLeaseTests {
    static let now = WorkerClock.at(hours: 5)
    static let second = WorkerClock.second

    static func rules(_ sink: HTTPSink, timeout: String = "10s") throws -> TemporaryRules {
        try TemporaryRules([
            "sla.json": WorkerRules.text(
                channels: #"{ hook: { type: "webhook", url: "\#(sink.url)/hook", timeout: "\#(timeout)" } }"#,
                routes: WorkerRules.allEvents(to: ["hook"]))
        ])
    }

    /// Counts the requests a sink's handler sees, and when each arrived.
    final class Arrivals: Sendable {
        private let state = Mutex<[(id: String, at: Date)]>([])
        /// Notes a request; returns how many came before it.
        func note(_ request: HTTPSink.Request) -> Int {
            state.withLock {
                $0.append((request.header("webhook-id") ?? "", Date()))
                return $0.count - 1
            }
        }
        var all: [(id: String, at: Date)] { state.withLock { $0 } }
    }

    /// A worker whose sends take longer than a lease keeps its claim (the lease is renewed): a second
    /// worker, even one whose `--now` is far ahead, never sends the same messages.
    @Test func aClaimLongerThanItsLeaseIsNotSentTwice() async throws {
        let executable = try WorkerProcessTests.requireExecutable()
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        // 48 messages, 2 s each, six at a time: sixteen seconds of sending, beyond the 10 s lease.
        sink.respond { _ in HTTPSink.Response(status: 200, delay: .seconds(2)) }
        for n in 0..<48 { try desk.addTicket(title: "Ticket \(n)") }
        let rules = try Self.rules(sink)
        let first = try WorkerProcessTests.Child(
            executable, ["run", "--once", "--rules", rules.path, "--database", desk.url, "--now", Self.now.iso8601])
        let started = await eventually(timeout: .seconds(60)) { !sink.requests.isEmpty }
        try #require(started, "stderr: \(first.stderr)")
        try await Task.sleep(for: .seconds(11))
        try #require(first.process.isRunning, "the first worker should still be sending: \(first.stderr)")
        // Past any lease counted from the first worker's --now, and past the first 10 s by the clock.
        try await requireRunOnce(rules, desk, at: Self.now + 130 * Self.second)
        let status = await first.waitForExit(timeout: .seconds(60))
        #expect(status == 0, "stderr: \(first.stderr)")
        let ids = sink.requests.compactMap { $0.header("webhook-id") }
        #expect(ids.count == 48, "\(ids.count) requests")
        #expect(Set(ids).count == ids.count, "a message was sent twice")
        #expect(try await desk.deliveries().allSatisfy { $0.status == "sent" && $0.attempts == 1 })
    }

    /// A worker killed while one message is on its way: the others were recorded as their answers
    /// came, so only that one is sent again, with its first copy's `webhook-id`, and its claim is
    /// free within seconds.
    @Test func aKillMidClaimRepeatsOnlyTheMessageInFlight() async throws {
        let executable = try WorkerProcessTests.requireExecutable()
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        let arrivals = Arrivals()
        // The third message hangs; every other one is answered at once.
        sink.respond { request in
            arrivals.note(request) == 2 ? HTTPSink.Response(status: 200, delay: .seconds(120)) : HTTPSink.Response()
        }
        for n in 0..<10 { try desk.addTicket(title: "Ticket \(n)") }
        let rules = try Self.rules(sink, timeout: "60s")
        let child = try WorkerProcessTests.Child(
            executable,
            ["run", "--interval", "1s", "--rules", rules.path, "--database", desk.url, "--now", Self.now.iso8601])
        let arrived = await eventually(timeout: .seconds(60)) { arrivals.all.count == 10 }
        try #require(arrived, "stderr: \(child.stderr)")
        // The nine answers are recorded within a flush (tens of milliseconds).
        let recorded = await eventually(timeout: .seconds(10)) {
            (try? desk.connection.query("SELECT count(*) FROM slawatch.deliveries WHERE status = 'sent'").rows[0]
                .int(0)) == 9
        }
        #expect(recorded, "the answered messages were not recorded as they came")
        kill(child.process.processIdentifier, SIGKILL)
        let killedAt = Date()
        _ = await child.waitForExit(timeout: .seconds(10))
        let hung = arrivals.all[2].id
        // Another worker takes the one in flight over once its lease has run out: seconds, not minutes.
        var repeated = false
        while !repeated && Date().timeIntervalSince(killedAt) < 20 {
            try await requireRunOnce(rules, desk, at: Self.now + 5 * Self.second)
            repeated = arrivals.all.count > 10
            if !repeated { try await Task.sleep(for: .milliseconds(500)) }
        }
        let freeAfter = Date().timeIntervalSince(killedAt)
        try #require(repeated, "the killed worker's claim was not taken over")
        #expect(freeAfter <= 13, "taken over \(freeAfter) s after the kill")
        let all = arrivals.all
        #expect(all.count == 11, "only the message in flight is sent again: \(all.map(\.id))")
        #expect(all.last?.id == hung, "the repeat carries its first copy's webhook-id")
        #expect(try await desk.deliveries().allSatisfy { $0.status == "sent" })
    }

    /// Polls the claim statement as another worker would, every 100 ms, until it has claimed all of
    /// `expected` deliveries or `timeout` has passed; returns what it claimed and after how long.
    static func claimAsAnotherWorker(
        _ desk: WorkerHelpDesk, expected: Int, at now: Instant, timeout: Duration, on session: ConnectionThread? = nil
    ) async throws -> (ids: Set<Int64>, after: Duration) {
        let other = session ?? ConnectionThread(settings: ConnectionSettings(url: desk.url))
        let clock = ContinuousClock()
        let start = clock.now
        var claimed: Set<Int64> = []
        while claimed.count < expected && clock.now - start < timeout {
            let ids = try await other.withConnection {
                try DeliveryQueue(connection: $0, worker: "test/another-worker").claim(now: now).map(\.id)
            }
            claimed.formUnion(ids)
            if claimed.count < expected { try await Task.sleep(for: .milliseconds(100)) }
        }
        return (claimed, clock.now - start)
    }

    /// A worker SIGKILLed while its messages are on their way: its claim is free for another worker
    /// within seconds (its session's lock went with it, and the bound it sent by has passed), not
    /// after the whole lease.
    @Test func aKilledHoldersClaimIsFreeWithinSeconds() async throws {
        let executable = try WorkerProcessTests.requireExecutable()
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        let arrivals = Arrivals()
        // The first answer comes at once (the worker then knows the receiver's connection and sends
        // the rest side by side); the other three hang.
        sink.respond { request in
            arrivals.note(request) == 0 ? HTTPSink.Response() : HTTPSink.Response(status: 200, delay: .seconds(120))
        }
        for n in 0..<4 { try desk.addTicket(title: "Ticket \(n)") }
        let rules = try Self.rules(sink, timeout: "60s")
        let child = try WorkerProcessTests.Child(
            executable,
            ["run", "--interval", "1s", "--rules", rules.path, "--database", desk.url, "--now", Self.now.iso8601])
        let sending = await eventually(timeout: .seconds(60)) { arrivals.all.count == 4 }
        try #require(sending, "\(arrivals.all.count) arrived; stderr: \(child.stderr)")
        // Another worker's session, open since before the kill, as a running worker's is.
        let another = ConnectionThread(settings: ConnectionSettings(url: desk.url))
        _ = try await another.withConnection {
            try DeliveryQueue(connection: $0, worker: "test/another-worker").nextDue()
        }
        // Long enough for renewals to have run: the claim is a renewed one, as most are at a kill.
        try await Task.sleep(for: .seconds(2))
        kill(child.process.processIdentifier, SIGKILL)
        _ = await child.waitForExit(timeout: .seconds(10))
        let (ids, after) = try await Self.claimAsAnotherWorker(
            desk, expected: 3, at: Self.now + 5 * Self.second, timeout: .seconds(20), on: another)
        #expect(ids.count == 3, "the killed worker's claim was not taken over")
        // The holder sent only within 4 s of its last renewal, which came at most 1 s before the kill.
        #expect(after <= .seconds(5.5), "free \(after) after the kill")
    }

    /// A live worker whose answers take longer than the lease keeps its claim while it renews:
    /// another worker claiming all the while gets none of its deliveries, and each is sent once.
    @Test func aLiveHoldersClaimIsNotTakenWhileItRenews() async throws {
        let executable = try WorkerProcessTests.requireExecutable()
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        let arrivals = Arrivals()
        sink.respond { request in
            arrivals.note(request) == 0 ? HTTPSink.Response() : HTTPSink.Response(status: 200, delay: .seconds(12))
        }
        for n in 0..<4 { try desk.addTicket(title: "Ticket \(n)") }
        let rules = try Self.rules(sink, timeout: "30s")
        let child = try WorkerProcessTests.Child(
            executable,
            ["run", "--interval", "1s", "--rules", rules.path, "--database", desk.url, "--now", Self.now.iso8601])
        let sending = await eventually(timeout: .seconds(60)) { arrivals.all.count == 4 }
        try #require(sending, "stderr: \(child.stderr)")
        // Past the 10 s lease of the claim itself: only the renewals keep it.
        let (ids, _) = try await Self.claimAsAnotherWorker(
            desk, expected: 1, at: Self.now + 5 * Self.second, timeout: .seconds(10.5))
        #expect(ids.isEmpty, "another worker took \(ids) from a live worker")
        let recorded = await eventually(timeout: .seconds(20)) {
            (try? desk.connection.query("SELECT count(*) FROM slawatch.deliveries WHERE status = 'sent'").rows[0]
                .int(0)) == 4
        }
        #expect(recorded, "stderr: \(child.stderr)")
        kill(child.process.processIdentifier, SIGTERM)
        #expect(await child.waitForExit(timeout: .seconds(30)) == 0, "stderr: \(child.stderr)")
        #expect(arrivals.all.count == 4, "sent once each: \(arrivals.all.map(\.id))")
        #expect(try await desk.deliveries().allSatisfy { $0.status == "sent" && $0.attempts == 1 })
    }

    /// The holder's lock, statement by statement: a claim past its bound (no renewal for 4 s) is not
    /// taken while its holder's session lives, nor by a session younger than the bound, and is taken
    /// by an older one as soon as the holder's session is gone. Two
    /// holders, one whose lock key (the hash of its id) is negative and one whose key is positive.
    @Test func aClaimPastItsBoundIsTakenOnlyOnceItsHoldersSessionIsGone() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        sink.respond { _ in HTTPSink.Response(status: 500, text: "later") }
        for n in 0..<2 { try desk.addTicket(title: "Ticket \(n)") }
        try await requireRunOnce(try Self.rules(sink), desk, at: Self.now)
        let later = Self.now + 3_600 * Self.second
        var holders: [String] = []
        for sign in [-1, 1] {
            let id = try (0..<64).map { "test/holder-\($0)" }.first { id in
                try desk.connection.query("SELECT hashtext($1)", [.text(id)]).rows[0].int(0).signum() == sign
            }
            holders.append(try #require(id))
        }
        var held: [String: Int64] = [:]
        var threads: [ConnectionThread] = []
        for holder in holders {
            let thread = ConnectionThread(settings: ConnectionSettings(url: desk.url, applicationName: holder))
            threads.append(thread)
            let ids = try await thread.withConnection { connection in
                let queue = DeliveryQueue(connection: connection, worker: holder)
                #expect(try queue.holdSession())
                #expect(try queue.holdSession(), "taken again by the same session")
                return try queue.claim(now: later, limit: 1).map(\.id)
            }
            let first = try #require(ids.first, "nothing to claim")
            held[holder] = first
        }
        // Another worker's session, older than the bound by the time it claims.
        let another = ConnectionThread(settings: ConnectionSettings(url: desk.url))
        _ = try await another.withConnection {
            try DeliveryQueue(connection: $0, worker: "test/another-worker").nextDue()
        }
        try await Task.sleep(for: .seconds(4.5))
        let live = try await Self.claimAsAnotherWorker(
            desk, expected: 1, at: later, timeout: .seconds(1), on: another)
        #expect(live.ids.isEmpty, "taken from a live session: \(live.ids)")
        var taken: Set<Int64> = []
        for (n, holder) in holders.enumerated() {
            _ = try desk.connection.query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [.text(holder)])
            if n == 0 {
                // A session younger than the bound (as every session is after a restart) does not go by
                // the lock: the holder may be alive and about to take its lock again.
                let young = try await Self.claimAsAnotherWorker(desk, expected: 1, at: later, timeout: .seconds(2))
                #expect(young.ids.isEmpty, "taken by a session younger than the bound: \(young.ids)")
            }
            let free = try await Self.claimAsAnotherWorker(
                desk, expected: 1, at: later, timeout: .seconds(3), on: another)
            #expect(free.ids == [held[holder]!], "\(holder)'s claim once its session ended: \(free.ids)")
            taken.formUnion(free.ids)
        }
        #expect(taken.count == 2)
    }

    /// PostgreSQL refuses new connections when the worker starts, and again later while it runs
    /// full passes (whose reading connections are new ones): the worker waits, logs, and goes on.
    @Test func aDatabaseRefusingConnectionsDoesNotStopTheWorker() async throws {
        let executable = try WorkerProcessTests.requireExecutable()
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        try desk.addTicket(title: "Caída del portal")
        let rules = try Self.rules(sink)
        // From the server's first database: a session cannot close its own database to connections.
        let base = try #require(ProcessInfo.processInfo.environment["SLAWATCH_TEST_DATABASE_URL"])
        let admin = try PostgresConnection(url: base)
        func allowConnections(_ allowed: Bool) throws {
            try admin.execute("ALTER DATABASE \(desk.db.name) ALLOW_CONNECTIONS \(allowed)")
        }
        try allowConnections(false)
        defer { try? allowConnections(true) }
        let child = try WorkerProcessTests.Child(
            executable, ["run", "--interval", "1s", "--full", "--rules", rules.path, "--database", desk.url])
        try await Task.sleep(for: .seconds(3))
        #expect(child.process.isRunning, "the worker gave up at the start: \(child.stderr)")
        try allowConnections(true)
        let first = await eventually(timeout: .seconds(30)) { sink.requests.count == 1 }
        try #require(first, "stderr: \(child.stderr)")
        try allowConnections(false)
        try await Task.sleep(for: .seconds(4))
        #expect(child.process.isRunning, "the worker exited while connections were refused: \(child.stderr)")
        try allowConnections(true)
        try desk.addTicket(title: "Caída del correo")
        let second = await eventually(timeout: .seconds(40)) { sink.requests.count == 2 }
        #expect(second, "stderr: \(child.stderr)")
        #expect(child.stderr.contains("unavailable; retrying"), "each failure is logged: \(child.stderr)")
        kill(child.process.processIdentifier, SIGTERM)
        #expect(await child.waitForExit(timeout: .seconds(30)) == 0, "stderr: \(child.stderr)")
    }

    /// Backoff and `Retry-After` count from the instant the attempt's answer arrived, not from the
    /// cycle's start: a receiver that takes 3 s to answer pushes the retry back by those 3 s.
    @Test func backoffAndRetryAfterCountFromTheAttempt() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        try desk.addTicket()
        let rules = try Self.rules(sink)
        sink.enqueue(HTTPSink.Response(status: 500, text: "boom", delay: .seconds(3)))
        try await requireRunOnce(rules, desk, at: Self.now)
        let failed = try #require(try await desk.deliveries().first)
        let due = try desk.dueAt(delivery: failed.id)
        // Half the 15 s backoff at least, after the answer 3 s into the run.
        #expect(due >= Self.now + 10_500_000, "due_at \(due.iso8601)")

        let retried = Self.now + 20 * Self.second
        sink.enqueue(HTTPSink.Response(status: 429, headers: [("Retry-After", "5")], text: "later", delay: .seconds(2)))
        try await requireRunOnce(rules, desk, at: retried)
        let again = try desk.dueAt(delivery: failed.id)
        #expect(again >= retried + 7 * Self.second, "due_at \(again.iso8601)")
        #expect(again <= retried + 12 * Self.second, "due_at \(again.iso8601)")
    }

    /// `webhook-timestamp` is made as each transfer starts: messages that wait for a connection
    /// behind a slow receiver carry the time they left, not the cycle's.
    @Test func webhookTimestampIsMadeWhenTheMessageLeaves() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        let arrivals = Arrivals()
        sink.respond { request in
            _ = arrivals.note(request)
            return HTTPSink.Response(status: 200, delay: .seconds(1))
        }
        for n in 0..<24 { try desk.addTicket(title: "Ticket \(n)") }
        try await requireRunOnce(try Self.rules(sink), desk, at: Self.now)
        let requests = sink.requests
        try #require(requests.count == 24)
        let arrivedAt = Dictionary(arrivals.all.map { ($0.id, $0.at) }, uniquingKeysWith: { first, _ in first })
        let stamps = requests.compactMap { r in
            r.header("webhook-timestamp").flatMap(Int64.init).map { (r.header("webhook-id") ?? "", $0) }
        }
        try #require(stamps.count == 24)
        let (firstID, firstStamp) = stamps.min { $0.1 < $1.1 }!
        let spread = stamps.map(\.1).max()! - firstStamp
        #expect(spread >= 2, "24 messages, six at a time, 1 s each: the stamps spread over seconds, not \(spread)")
        for (id, stamp) in stamps {
            let arrivedLater = arrivedAt[id]!.timeIntervalSince(arrivedAt[firstID]!)
            #expect(abs(Double(stamp - firstStamp) - arrivedLater) <= 1.5, "\(id): stamp \(stamp)")
        }
        // The stamps follow --now: the first one is within seconds of it.
        #expect(firstStamp >= Self.now.seconds && firstStamp <= Self.now.seconds + 10)
    }

    /// A storm being sent to a slow receiver does not hold up the detection of the next breach.
    @Test func evaluationRecordsACrossingOnTimeWhileAStormIsSent() async throws {
        let executable = try WorkerProcessTests.requireExecutable()
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        sink.respond { _ in HTTPSink.Response(status: 200, delay: .seconds(1)) }
        // 120 breaches to send at once (twenty seconds at six a time), and one more 6 s later.
        for n in 0..<120 { try desk.addTicket(title: "Ticket \(n)") }
        let late = try desk.addTicket(title: "Ticket tardío", created: WorkerClock.at(hours: 1, seconds: 6))
        let rules = try Self.rules(sink)
        let child = try WorkerProcessTests.Child(
            executable,
            ["run", "--interval", "1s", "--rules", rules.path, "--database", desk.url, "--now", Self.now.iso8601])
        let started = Date()
        let storm = await eventually(timeout: .seconds(30)) { !sink.requests.isEmpty }
        try #require(storm, "stderr: \(child.stderr)")
        let detected = await eventually(timeout: .seconds(30)) {
            (try? desk.events().contains { $0.code == late.code && $0.kind == "sla.breached" }) == true
        }
        let after = Date().timeIntervalSince(started)
        try #require(detected, "stderr: \(child.stderr)")
        // The storm takes twenty seconds to send: a breach recorded within 15 s was not waiting for it
        // (the margin covers a loaded machine's process start and first full pass).
        #expect(after <= 15, "the breach due 6 s in was recorded \(after) s in")
        #expect(sink.requests.count < 121, "recorded while the storm was still being sent")
        kill(child.process.processIdentifier, SIGTERM)
        #expect(await child.waitForExit(timeout: .seconds(60)) == 0, "stderr: \(child.stderr)")
    }
}
