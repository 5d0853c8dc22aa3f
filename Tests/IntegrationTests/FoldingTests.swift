import Foundation
import LoopbackSinks
import SlawatchApp
import SlawatchCore
import Testing

// Rate limits never build a queue, and stale notifications are not sent (README, 'Rate limits and
// folding' and 'Superseding'): real PostgreSQL, the real worker, a loopback HTTP receiver.

/// Rules with one Slack-style channel (one message a second, the default) for every event.
private func slackRules(_ sink: HTTPSink) throws -> TemporaryRules {
    try TemporaryRules([
        "sla.json": WorkerRules.text(
            channels: #"{ soporte: { type: "slack", url: "\#(sink.url)/services/T000/B000/XXX" } }"#,
            routes: WorkerRules.allEvents(to: ["soporte"]))
    ])
}

/// Rules with one webhook channel and the routes given.
private func webhookRules(_ sink: HTTPSink, routes: String) throws -> TemporaryRules {
    try TemporaryRules([
        "sla.json": WorkerRules.text(
            channels: #"{ integraciones: { type: "webhook", url: "\#(sink.url)/hooks/sla" } }"#, routes: routes)
    ])
}

@Suite struct FoldingTests {
    @Test(arguments: [1, 20, 500])
    func aBurstThroughASlackChannelIsNamedInFullByOneRun(count: Int) async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        var codes: [String] = []
        for i in 1...count { codes.append(try desk.addTicket(title: "Corte \(i) <sucursal> & más").code) }
        let rules = try slackRules(sink)
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 5))

        let requests = sink.requests
        #expect(!requests.isEmpty && requests.count <= 5, "\(requests.count) messages")
        let texts = requests.map(\.bodyText).joined(separator: "\n")
        let missing = codes.filter { !texts.contains($0) }
        #expect(missing.isEmpty, "not named: \(missing.prefix(10))")
        if count == 500 {
            // A backlog larger than a claim (200) is still one fold, unless claims came slowly.
            #expect(requests.count <= 2, "\(requests.count) messages")
        }
        if count == 1 {
            // Nothing to fold: the usual message.
            #expect(requests.count == 1)
            #expect(requests[0].header("webhook-id")?.hasPrefix("msg_slawatch_fold_") == false)
        }
        // Nothing pending after `run --once`, and each delivery says which message carried it.
        let deliveries = try await desk.deliveries()
        #expect(deliveries.count == count)
        #expect(deliveries.allSatisfy { $0.status == "sent" && $0.attempts == 1 }, "\(deliveries.prefix(5))")
        let ids = Set(requests.compactMap { $0.header("webhook-id") })
        #expect(deliveries.allSatisfy { $0.message.map(ids.contains) == true }, "\(ids)")
        // A later run has nothing more to send.
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 5, seconds: 30))
        #expect(sink.requests.count == requests.count)
    }

    @Test func aNinetyWarningBurstIsNamedInFullInAFewMessagesWithinFiveSeconds() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        var codes: [String] = []
        for i in 1...90 { codes.append(try desk.addTicket(title: "Aviso \(i)").code) }
        let rules = try slackRules(sink)
        let migrate = await slawatch(["migrate", "--rules", rules.path, "--database", desk.url])
        try #require(migrate.status == 0, "\(migrate.stderr)")

        // Half of a 4-hour target: 90 warnings at once.
        let now = WorkerClock.at(hours: 2, seconds: 60)
        try await requireRunOnce(rules, desk, at: now)
        let requests = sink.requests
        #expect(!requests.isEmpty && requests.count <= 5, "\(requests.count) messages")
        // Within 5 s of the crossing, as each message's webhook-timestamp (the cycle's instant plus
        // its wait for a slot) says: wall-clock time would measure the machine's load as well.
        let stamps = requests.compactMap { $0.header("webhook-timestamp").flatMap { Int64($0) } }
        #expect(stamps.count == requests.count)
        #expect(stamps.allSatisfy { $0 - now.seconds < 5 }, "\(stamps) against \(now.seconds)")
        let texts = requests.map(\.bodyText).joined(separator: "\n")
        #expect(codes.allSatisfy { texts.contains($0) })
        #expect(texts.contains("90 alertas de SLA"))
        #expect(try await desk.deliveries(status: "pending").isEmpty)
        #expect(try await desk.deliveries().allSatisfy { $0.kind == "sla.warning" && $0.status == "sent" })
    }

    @Test func aStaleWarningIsSupersededByItsBreach() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        let ticket = try desk.addTicket()
        // Warnings wait an hour for company; breaches go at once, to the same place.
        let rules = try webhookRules(
            sink,
            routes: #"""
                [{ events: ["sla.warning"], channels: ["integraciones"], group_wait: "1h" },
                 { events: ["sla.breached"], channels: ["integraciones"] }]
                """#)
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 2, seconds: 300))
        #expect(try await desk.deliveries(status: "pending").count == 1)

        let metrics = FileManager.default.temporaryDirectory.appendingPathComponent("slawatch-\(UUID()).prom")
        defer { try? FileManager.default.removeItem(at: metrics) }
        try await requireRunOnce(
            rules, desk, at: WorkerClock.at(hours: 4, seconds: 60), ["--metrics-file", metrics.path])
        // Only the breach is sent; the warnings are superseded by it, with the reason.
        try #require(sink.requests.count == 1, "\(sink.requests.map(\.bodyText))")
        #expect(try jsonObject(sink.requests[0].body)["type"] as? String == "sla.breached")
        let deliveries = try await desk.deliveries()
        let breach = try #require(deliveries.first { $0.kind == "sla.breached" })
        #expect(breach.status == "sent")
        let warnings = deliveries.filter { $0.kind == "sla.warning" }
        #expect(warnings.count == 2, "\(deliveries)")
        for warning in warnings {
            #expect(warning.status == "superseded", "\(warning)")
            #expect(warning.superseded_by == breach.id)
            #expect(warning.attempts == 0)
            #expect(warning.last_error?.contains("delivery \(breach.id)") == true, "\(warning)")
            #expect(warning.last_error?.contains("sla.breached") == true, "\(warning)")
            #expect(warning.label == ticket.code)
        }
        #expect(try await desk.deliveries(status: "superseded").count == 2)
        let text = try String(contentsOf: metrics, encoding: .utf8)
        #expect(text.contains(#"slawatch_deliveries_total{channel="integraciones",outcome="superseded"} 2"#), "\(text)")
        let table = await slawatch(["deliveries", "--status", "superseded", "--database", desk.url])
        #expect(table.status == 0 && table.stdout.contains("superseded") && table.stdout.contains("2 rows"))

        // Their hour passes: nothing more is sent.
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 5, seconds: 300))
        #expect(sink.requests.count == 1)
    }

    @Test func aWarningOfATicketStoppedBeforeItWasSentIsSupersededWhenClaimed() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        let ticket = try desk.addTicket()
        let rules = try webhookRules(
            sink, routes: #"[{ events: ["sla.warning"], channels: ["integraciones"], group_wait: "30m" }]"#)
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 2, seconds: 300))
        try desk.setStatus(of: ticket.code, to: "RESUELTO", at: WorkerClock.at(hours: 2, seconds: 1_800))
        // An incremental cycle: the stopped ticket has no new event; its warning is due and claimed.
        let run = try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 2, seconds: 2_400))
        #expect(sink.requests.isEmpty, "\(sink.requests.map(\.bodyText))")
        #expect(run.stderr.contains("deliveries superseded"), "\(run.stderr)")
        let deliveries = try await desk.deliveries()
        try #require(deliveries.count == 1)
        #expect(deliveries[0].status == "superseded")
        #expect(deliveries[0].superseded_by == nil)
        #expect(deliveries[0].attempts == 0)
        #expect(deliveries[0].last_error?.contains("stopped") == true, "\(deliveries[0])")
    }

    @Test func aFullPassThatSeesTheTicketStoppedSupersedesItsWarningBeforeItIsDue() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        let ticket = try desk.addTicket()
        let rules = try webhookRules(
            sink, routes: #"[{ events: ["sla.warning"], channels: ["integraciones"], group_wait: "1h" }]"#)
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 2, seconds: 300))
        try desk.setStatus(of: ticket.code, to: "RESUELTO", at: WorkerClock.at(hours: 2, seconds: 1_800))
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 2, seconds: 2_400), ["--full"])
        let deliveries = try await desk.deliveries()
        try #require(deliveries.count == 1)
        #expect(deliveries[0].status == "superseded", "\(deliveries[0])")
        #expect(deliveries[0].last_error?.contains("stopped") == true, "\(deliveries[0])")
        // Its hour passes: nothing is sent.
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 3, seconds: 600))
        #expect(sink.requests.isEmpty, "\(sink.requests.map(\.bodyText))")
    }

    @Test func aReminderWaitingForItsRetryIsSupersededByALaterEvent() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        let ticket = try desk.addTicket()
        let rules = try webhookRules(
            sink, routes: WorkerRules.allEvents(to: ["integraciones"], extra: #", repeat: "1h""#))
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 4, seconds: 60))
        try #require(sink.requests.count == 1)
        // The first reminder is refused and waits for its retry.
        sink.enqueue(HTTPSink.Response(status: 500, text: "busy"))
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 5, seconds: 120))
        try #require(sink.requests.count == 2)
        let reminder = try #require(try await desk.deliveries().first { $0.status == "failed" })
        // Meanwhile the ticket is resolved: met_after_breach goes to the same place, the reminder not.
        try desk.setStatus(of: ticket.code, to: "RESUELTO", at: WorkerClock.at(hours: 5, seconds: 180))
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 5, seconds: 300))
        try #require(sink.requests.count == 3, "\(sink.requests.map(\.bodyText))")
        #expect(try jsonObject(sink.requests[2].body)["type"] as? String == "sla.met_after_breach")
        let deliveries = try await desk.deliveries()
        let met = try #require(deliveries.first { $0.kind == "sla.met_after_breach" })
        let after = try #require(deliveries.first { $0.id == reminder.id })
        #expect(after.status == "superseded" && after.superseded_by == met.id, "\(deliveries)")
        #expect(after.attempts == 1 && after.errors.count == 2, "\(after.errors.map(\.error))")
    }

    @Test func metAfterBreachIsNeverSupersededByTheStop() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        let ticket = try desk.addTicket()
        let rules = try webhookRules(
            sink, routes: WorkerRules.allEvents(to: ["integraciones"], extra: #", group_wait: "10m""#))
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 4, seconds: 60))
        try desk.setStatus(of: ticket.code, to: "RESUELTO", at: WorkerClock.at(hours: 4, seconds: 300))
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 4, seconds: 720))
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 4, seconds: 1_380))
        // The breach, not sent yet, is superseded by the later met_after_breach, which is sent.
        try #require(sink.requests.count == 1, "\(sink.requests.map(\.bodyText))")
        #expect(try jsonObject(sink.requests[0].body)["type"] as? String == "sla.met_after_breach")
        let deliveries = try await desk.deliveries()
        let met = try #require(deliveries.first { $0.kind == "sla.met_after_breach" })
        #expect(met.status == "sent", "\(deliveries)")
        let breach = try #require(deliveries.first { $0.kind == "sla.breached" })
        #expect(breach.status == "superseded" && breach.superseded_by == met.id, "\(deliveries)")
    }
}
