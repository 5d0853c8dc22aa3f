import Foundation
import LoopbackSinks
import PostgresClient
import SlawatchApp
import SlawatchCore
import Testing

/// Failure handling as the README's delivery rules describe it against a real HTTP sink: retries with backoff,
/// `Retry-After`, permanent 4xx, 410 disabling the channel, attempt limits, manual retry.
@Suite struct DeliveryFaultTests {
    static let now = WorkerClock.at(hours: 5)
    static let second = WorkerClock.second

    static func rules(url: String, channelExtra: String = "") throws -> TemporaryRules {
        try TemporaryRules(["sla.json": text(url: url, channelExtra: channelExtra)])
    }

    static func text(url: String, channelExtra: String = "") -> String {
        WorkerRules.text(
            channels: #"{ hook: { type: "webhook", url: "\#(url)"\#(channelExtra) } }"#,
            routes: WorkerRules.allEvents(to: ["hook"]))
    }

    /// One breached ticket and its single delivery after a first run at `now`.
    static func onlyDelivery(_ desk: WorkerHelpDesk) async throws -> DeliveryRow {
        let rows = try await desk.deliveries()
        try #require(rows.count == 1, "\(rows)")
        return rows[0]
    }

    @Test func aServerErrorIsRetriedAfterTheBackoffAndThenSent() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        try desk.addTicket()
        sink.enqueue(HTTPSink.Response(status: 500, text: "boom"))
        sink.enqueue(HTTPSink.Response(status: 502, text: "bad gateway"))
        let rules = try Self.rules(url: sink.url)
        try await requireRunOnce(rules, desk, at: Self.now)
        let failed = try await Self.onlyDelivery(desk)
        #expect(failed.status == "failed")
        #expect(failed.attempts == 1)
        #expect(failed.last_error?.contains("500") == true, "\(failed)")
        #expect(failed.errors.count == 1)
        #expect(failed.errors.first?.error.contains("500") == true)
        // Exponential backoff with jitter: the first retry is between 7.5 s and 15 s later.
        // Counted from the answer, a moment after --now.
        let due = try desk.dueAt(delivery: failed.id)
        #expect(due >= Self.now + 7_500_000 && due <= Self.now + 20 * Self.second, "due_at \(due)")

        // Not due yet: nothing is sent.
        try await requireRunOnce(rules, desk, at: Self.now + Self.second)
        #expect(sink.requests.count == 1)

        // The second failure (a 502) waits twice as long: between 15 s and 30 s.
        let secondAttempt = Self.now + 21 * Self.second
        try await requireRunOnce(rules, desk, at: secondAttempt)
        #expect(sink.requests.count == 2)
        let again = try await Self.onlyDelivery(desk)
        #expect(again.status == "failed")
        #expect(again.attempts == 2)
        #expect(again.last_error?.contains("502") == true, "\(again)")
        let secondDue = try desk.dueAt(delivery: again.id)
        #expect(
            secondDue >= secondAttempt + 15 * Self.second && secondDue <= secondAttempt + 35 * Self.second,
            "due_at \(secondDue)")

        let thirdAttempt = secondAttempt + 36 * Self.second
        try await requireRunOnce(rules, desk, at: thirdAttempt)
        #expect(sink.requests.count == 3)
        let sent = try await Self.onlyDelivery(desk)
        #expect(sent.status == "sent")
        #expect(sent.attempts == 3)
        // When the answer arrived: --now plus the moments the run took to get there.
        let sentAt = try #require(sent.sent_at.flatMap { Instant(iso8601: $0) })
        #expect(sentAt >= thirdAttempt && sentAt <= thirdAttempt + 5 * Self.second, "sent_at \(sentAt.iso8601)")
        // Every failure's reason is kept in the history.
        #expect(sent.errors.map(\.error).count == 2)
        #expect(
            sent.errors.first?.error.contains("500") == true && sent.errors.last?.error.contains("502") == true,
            "\(sent.errors.map(\.error))")
        // Every attempt carried the same idempotency id.
        let ids = Set(sink.requests.map { $0.header("webhook-id") ?? "" })
        #expect(ids.count == 1 && !ids.contains(""))
    }

    @Test func requestTimeout408IsRetried() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        try desk.addTicket()
        sink.enqueue(HTTPSink.Response(status: 408, text: "timeout"))
        let rules = try Self.rules(url: sink.url)
        try await requireRunOnce(rules, desk, at: Self.now)
        let failed = try await Self.onlyDelivery(desk)
        #expect(failed.status == "failed", "\(failed)")
        #expect(failed.last_error?.contains("408") == true)
        // Past the longest first backoff (15 s), counted from the answer a moment after --now.
        try await requireRunOnce(rules, desk, at: Self.now + 20 * Self.second)
        #expect(try await Self.onlyDelivery(desk).status == "sent")
    }

    @Test func retryAfterIsHonouredExactly() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        try desk.addTicket()
        sink.enqueue(HTTPSink.Response(status: 429, headers: [("Retry-After", "120")], text: "slow down"))
        let rules = try Self.rules(url: sink.url)
        try await requireRunOnce(rules, desk, at: Self.now)
        let failed = try await Self.onlyDelivery(desk)
        #expect(failed.status == "failed")
        #expect(failed.attempts == 1)
        #expect(failed.last_error?.contains("429") == true)
        // 120 s from the instant the answer arrived: --now plus the moments the run took to get there.
        let due = try desk.dueAt(delivery: failed.id)
        #expect(due >= Self.now + 120 * Self.second && due <= Self.now + 125 * Self.second, "due_at \(due.iso8601)")

        try await requireRunOnce(rules, desk, at: Self.now + 119 * Self.second)
        #expect(sink.requests.count == 1)
        try await requireRunOnce(rules, desk, at: Self.now + 126 * Self.second)
        #expect(sink.requests.count == 2)
        #expect(try await Self.onlyDelivery(desk).status == "sent")
    }

    /// The request timeout is fixed at 10 s in `Dispatcher.request(for:now:)` (no rules setting
    /// shortens it), so a sink answering late would make this test slow. A refused connection
    /// exercises the same path: no answer at all, retried.
    @Test func noAnswerIsRetriedAndSentOnceTheEndpointIsBack() async throws {
        let desk = try WorkerHelpDesk()
        let closed = try ClosedPort()
        try desk.addTicket()
        let rules = try Self.rules(url: closed.httpURL + "/hook")
        try await requireRunOnce(rules, desk, at: Self.now)
        let failed = try await Self.onlyDelivery(desk)
        #expect(failed.status == "failed")
        #expect(failed.attempts == 1)
        let reason = try #require(failed.last_error)
        #expect(!reason.isEmpty)
        #expect(reason.lowercased().contains("connect") || reason.lowercased().contains("refused"), "\(reason)")

        // Still down: a second failure, still to be retried.
        try await requireRunOnce(rules, desk, at: Self.now + 16 * Self.second)
        let again = try await Self.onlyDelivery(desk)
        #expect(again.status == "failed")
        #expect(again.attempts == 2)
        #expect(again.errors.count == 2)

        // The endpoint is back (the channel now points at a live sink).
        let sink = try HTTPSink()
        try Self.text(url: sink.url + "/hook").write(
            toFile: rules.path + "/sla.json", atomically: true, encoding: .utf8)
        try await requireRunOnce(rules, desk, at: Self.now + 3_600 * Self.second)
        #expect(sink.requests.count == 1)
        let sent = try await Self.onlyDelivery(desk)
        #expect(sent.status == "sent")
        #expect(sent.attempts == 3)
    }

    @Test func aClientErrorIsPermanent() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        try desk.addTicket()
        sink.enqueue(HTTPSink.Response(status: 400, text: "bad payload"))
        let rules = try Self.rules(url: sink.url)
        try await requireRunOnce(rules, desk, at: Self.now)
        let dead = try await Self.onlyDelivery(desk)
        #expect(dead.status == "dead")
        #expect(dead.attempts == 1)
        #expect(dead.last_error?.contains("400") == true, "\(dead)")
        // Never retried.
        try await requireRunOnce(rules, desk, at: Self.now + 86_000 * Self.second)
        #expect(sink.requests.count == 1)

        // Requeued by hand, the next run sends it.
        let retryAt = Self.now + 86_100 * Self.second
        let retry = await slawatch([
            "deliveries", "--retry", String(dead.id), "--database", desk.url, "--now", retryAt.iso8601,
        ])
        #expect(retry.status == 0, "\(retry.stderr)")
        #expect(retry.stdout.contains("\(dead.id)"))
        let requeued = try await Self.onlyDelivery(desk)
        #expect(requeued.status == "pending")
        try await requireRunOnce(rules, desk, at: retryAt)
        #expect(sink.requests.count == 2)
        let sent = try await Self.onlyDelivery(desk)
        #expect(sent.status == "sent")
        // The first failure stays in the history.
        #expect(sent.errors.contains { $0.error.contains("400") })

        // Only a dead delivery can be retried.
        let notDead = await slawatch(["deliveries", "--retry", String(dead.id), "--database", desk.url])
        #expect(notDead.status == 2)
        #expect(notDead.stderr.contains("not dead"))
    }

    @Test func goneDisablesTheChannel() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        try desk.addTicket()
        sink.enqueue(HTTPSink.Response(status: 410, text: "gone"))
        let rules = try Self.rules(url: sink.url)
        let run = try await requireRunOnce(rules, desk, at: Self.now)
        #expect(run.stderr.contains("disabled"), "the log says the channel was disabled: \(run.stderr)")
        let dead = try await Self.onlyDelivery(desk)
        #expect(dead.status == "dead")
        #expect(dead.last_error?.contains("410") == true)
        #expect(dead.channel == "hook (disabled)")

        let table = await slawatch(["deliveries", "--database", desk.url])
        #expect(table.status == 0)
        #expect(table.stdout.contains("hook (disabled)"), "\(table.stdout)")

        // A later event for the channel is recorded dead without any request.
        let second = try desk.addTicket(title: "Otro", created: WorkerClock.at(hours: 2))
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 7))
        #expect(sink.requests.count == 1)
        let rows = try await desk.deliveries()
        #expect(rows.count == 2)
        let later = try #require(rows.first { $0.label == second.code })
        #expect(later.status == "dead")
        #expect(later.attempts == 0)
        #expect(later.last_error?.contains("disabled") == true, "\(later)")
    }

    @Test func maxAttemptsMakesTheLastFailureDead() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        try desk.addTicket()
        sink.enqueue(HTTPSink.Response(status: 500), times: 5)
        let rules = try Self.rules(url: sink.url, channelExtra: ", max_attempts: 2")
        try await requireRunOnce(rules, desk, at: Self.now)
        #expect(try await Self.onlyDelivery(desk).status == "failed")
        try await requireRunOnce(rules, desk, at: Self.now + 60 * Self.second)
        let dead = try await Self.onlyDelivery(desk)
        #expect(dead.status == "dead")
        #expect(dead.attempts == 2)
        #expect(dead.last_error?.contains("500") == true)
        #expect(dead.last_error?.contains("2 attempts") == true, "\(dead)")
        #expect(dead.errors.count == 2)
        try await requireRunOnce(rules, desk, at: Self.now + 7_200 * Self.second)
        #expect(sink.requests.count == 2)
    }

    @Test func maxAgeMakesAnOldFailureDead() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        try desk.addTicket()
        sink.enqueue(HTTPSink.Response(status: 503), times: 5)
        let rules = try Self.rules(url: sink.url, channelExtra: #", max_age: "10m""#)
        try await requireRunOnce(rules, desk, at: Self.now)
        #expect(try await Self.onlyDelivery(desk).status == "failed")
        try await requireRunOnce(rules, desk, at: Self.now + 601 * Self.second)
        let dead = try await Self.onlyDelivery(desk)
        #expect(dead.status == "dead")
        #expect(dead.attempts == 2)
        #expect(dead.last_error?.contains("503") == true, "\(dead)")
    }

    /// Deliveries still claimed by some worker.
    static func stillClaimed(_ desk: WorkerHelpDesk) throws -> Int {
        try desk.connection.query("SELECT count(*) FROM slawatch.deliveries WHERE claimed_by IS NOT NULL").rows[0].int(
            0)
    }

    @Test func aClaimsMixedOutcomesAreAllRecorded() async throws {
        let desk = try WorkerHelpDesk()
        let sinks = try (ok: HTTPSink(), busy: HTTPSink(), bad: HTTPSink(), gone: HTTPSink())
        sinks.busy.enqueue(HTTPSink.Response(status: 500, text: "busy"))
        sinks.bad.enqueue(HTTPSink.Response(status: 400, text: "bad payload"))
        sinks.gone.enqueue(HTTPSink.Response(status: 410, text: "gone"))
        try desk.addTicket()
        let rules = try TemporaryRules([
            "sla.json": WorkerRules.text(
                channels: """
                    { ok: { type: "webhook", url: "\(sinks.ok.url)" }, busy: { type: "webhook", url: "\(sinks.busy.url)" },
                      bad: { type: "webhook", url: "\(sinks.bad.url)" }, gone: { type: "webhook", url: "\(sinks.gone.url)" } }
                    """,
                routes: WorkerRules.allEvents(to: ["ok", "busy", "bad", "gone"]))
        ])
        try await requireRunOnce(rules, desk, at: Self.now)

        let rows = Dictionary(uniqueKeysWithValues: try await desk.deliveries().map { ($0.channel, $0) })
        try #require(rows.count == 4, "\(rows.values)")
        let ok = try #require(rows["ok"])
        let busy = try #require(rows["busy"])
        let bad = try #require(rows["bad"])
        let gone = try #require(rows["gone (disabled)"], "\(rows.keys)")
        #expect(ok.status == "sent" && ok.attempts == 1 && ok.sent_at != nil && ok.errors.isEmpty, "\(ok)")
        #expect(busy.status == "failed" && busy.attempts == 1 && busy.sent_at == nil, "\(busy)")
        #expect(busy.last_error?.contains("500") == true && busy.errors.count == 1, "\(busy)")
        // Counted from the answer, a moment after --now.
        let due = try desk.dueAt(delivery: busy.id)
        #expect(due >= Self.now + 7_500_000 && due <= Self.now + 20 * Self.second, "due_at \(due)")
        #expect(bad.status == "dead" && bad.attempts == 1 && bad.last_error?.contains("400") == true, "\(bad)")
        #expect(gone.status == "dead" && gone.attempts == 1 && gone.last_error?.contains("410") == true, "\(gone)")
        #expect(try Self.stillClaimed(desk) == 0)
    }

    @Test func aBacklogOfSeveralClaimsIsSentOnceAndEveryOutcomeRecorded() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        // Every third delivery (by id, which the webhook-id carries) is refused for now.
        sink.respond { request in
            let id = Int(request.header("webhook-id")?.split(separator: "_").last ?? "") ?? 0
            return id % 3 == 0
                ? HTTPSink.Response(status: 503, text: "later") : HTTPSink.Response(status: 200, text: "{}")
        }
        // More than the first claim and spread over two: the pipeline records one while it sends the next.
        let count = 450
        for n in 0..<count { try desk.addTicket(title: "Ticket \(n)") }
        let rules = try Self.rules(url: sink.url)
        try await requireRunOnce(rules, desk, at: Self.now)

        let requests = sink.requests
        #expect(requests.count == count)
        #expect(Set(requests.compactMap { $0.header("webhook-id") }).count == count, "a webhook-id went out twice")
        let rows = try await desk.deliveries()
        #expect(rows.count == count)
        for row in rows {
            #expect(row.attempts == 1, "\(row)")
            #expect(row.status == (row.id % 3 == 0 ? "failed" : "sent"), "\(row)")
            if row.id % 3 == 0 { #expect(row.last_error?.contains("503") == true, "\(row)") }
        }
        #expect(try Self.stillClaimed(desk) == 0)
    }

    @Test func aNoticeThatCannotBeReadMakesItsDeliveryDeadAndSparesTheOthers() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        sink.enqueue(HTTPSink.Response(status: 500, text: "busy"), times: 2)
        try desk.addTicket(title: "Legible")
        let damaged = try desk.addTicket(title: "Ilegible")
        let rules = try Self.rules(url: sink.url)
        try await requireRunOnce(rules, desk, at: Self.now)
        #expect(try await desk.deliveries().allSatisfy { $0.status == "failed" })

        try desk.connection.query(
            "UPDATE slawatch.events SET notice = '{\"unexpected\": true}'::jsonb WHERE ticket_code = $1",
            [.text(damaged.code)])
        try await requireRunOnce(rules, desk, at: Self.now + 60 * Self.second)
        #expect(sink.requests.count == 3)
        let rows = try await desk.deliveries()
        let dead = try #require(rows.first { $0.label == damaged.code })
        #expect(dead.status == "dead", "\(dead)")
        #expect(dead.last_error?.contains("cannot be read") == true, "\(dead)")
        #expect(rows.first { $0.label != damaged.code }?.status == "sent", "\(rows)")
        #expect(try Self.stillClaimed(desk) == 0)
    }
}
