import CurlTransport
import Foundation
import LoopbackSinks
import PostgresClient
import SlawatchApp
import SlawatchCore
import Testing

/// The worker end to end (the README's worker and delivery sections): a real PostgreSQL, `slawatch run --once` in
/// process at fixed `--now` instants, and a real HTTP sink on loopback.
@Suite struct WorkerTests {
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    static let fourHours: Int64 = 14_400_000_000

    static func webhookRules(_ sink: HTTPSink, extraRoute: String = "", channelExtra: String = "") throws
        -> TemporaryRules
    {
        try TemporaryRules([
            "sla.json": WorkerRules.text(
                channels:
                    #"{ integraciones: { type: "webhook", url: "\#(sink.url)/hooks/sla", secret: "\#(secret)"\#(channelExtra) } }"#,
                routes: WorkerRules.allEvents(to: ["integraciones"], extra: extraRoute))
        ])
    }

    @Test func breachedTicketsAreNotifiedExactlyOnceWithStandardWebhooksSignatures() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        var tickets: [String: (id: String, code: String)] = [:]
        for title in ["Caída del ERP", "Facturación detenida", "VPN sin servicio"] {
            let ticket = try desk.addTicket(title: title)
            tickets[ticket.code] = ticket
        }
        let rules = try Self.webhookRules(sink)
        let now = WorkerClock.at(hours: 5)
        try await requireRunOnce(rules, desk, at: now)

        let requests = sink.requests
        #expect(requests.count == 3, "\(requests.map(\.bodyText))")
        let signer = try WebhookSignature(secret: Self.secret)
        var seenIDs = Set<String>()
        var seenLabels = Set<String>()
        for request in requests {
            #expect(request.method == "POST")
            #expect(request.target == "/hooks/sla")
            #expect(request.header("Content-Type")?.hasPrefix("application/json") == true)
            let id = try #require(request.header("webhook-id"))
            #expect(id.hasPrefix("msg_") && !id.contains(" ") && !id.contains(","), "webhook-id \(id)")
            #expect(seenIDs.insert(id).inserted, "webhook-id \(id) sent twice")
            // Made as the message left: --now plus the moments the run took to get there.
            let timestamp = try #require(request.header("webhook-timestamp").flatMap { Int64($0) })
            #expect(timestamp >= now.seconds && timestamp <= now.seconds + 5, "webhook-timestamp \(timestamp)")
            // Standard Webhooks: space-separated "v1,<base64>" signatures over "id.timestamp.body".
            let signatures = try #require(request.header("webhook-signature")).split(separator: " ").map(String.init)
            let expected = try signer.signature(messageID: id, timestamp: Int(timestamp), body: request.body)
            #expect(signatures.contains(expected), "signatures \(signatures), expected \(expected)")
            for signature in signatures {
                #expect(signature.hasPrefix("v1,") && Data(base64Encoded: String(signature.dropFirst(3)))?.count == 32)
            }

            let body = try jsonObject(request.body)
            #expect(body["type"] as? String == "sla.breached")
            #expect(body["timestamp"] as? String == now.iso8601)
            let data = try #require(body["data"] as? [String: Any])
            let label = try #require(data["label"] as? String)
            let ticket = try #require(tickets[label], "unknown label \(label)")
            #expect(seenLabels.insert(label).inserted, "\(label) notified twice")
            #expect(data["event_id"] as? String == "\(ticket.id)/sla.breached/0/\(Self.fourHours)")
            #expect(data["kind"] as? String == "sla.breached")
            #expect(data["ticket_uuid"] as? String == ticket.id)
            #expect(data["prioridad_nom"] as? String == "CRITICA")
            #expect(data["estado_code"] as? String == "ABIERTO")
            #expect(data["area_asignada"] as? String == "TECNOLOGIA")
            #expect((data["sla_horas"] as? NSNumber)?.doubleValue == 4)
            #expect((data["horas_restantes"] as? NSNumber)?.doubleValue == -1)
            #expect(data["crossed_at"] as? String == "2026-03-24T12:00:00Z")
            #expect(data["due_at"] as? String == "2026-03-24T12:00:00Z")
            #expect(
                ["Caída del ERP", "Facturación detenida", "VPN sin servicio"].contains(data["title"] as? String ?? ""))
        }
        #expect(seenLabels == Set(tickets.keys))

        let deliveries = try await desk.deliveries()
        #expect(deliveries.count == 3)
        #expect(
            deliveries.allSatisfy {
                $0.status == "sent" && $0.attempts == 1
                    && $0.sent_at.flatMap { Instant(iso8601: $0) }.map { $0 >= now && $0 <= now + 5 * WorkerClock.second }
                        == true
            }, "\(deliveries)")
        let eventsBefore = try desk.events()
        // 50, 75 and 90 % and the breach of each ticket; only the breach is notified.
        #expect(eventsBefore.count == 12)
        #expect(eventsBefore.filter(\.notified).map(\.kind) == ["sla.breached", "sla.breached", "sla.breached"])

        // A re-run at the same instant sends nothing and records nothing.
        try await requireRunOnce(rules, desk, at: now)
        #expect(sink.requests.count == 3)
        #expect(try desk.events() == eventsBefore)
        #expect(try desk.count("deliveries") == 3)

        let listed = await slawatch(["events", "--format", "json", "--database", desk.url])
        #expect(listed.status == 0, "\(listed.stderr)")
        let events = try JSONDecoder().decode([EventRow].self, from: Data(listed.stdout.utf8))
        #expect(events.count == 12)
        #expect(Set(events.map(\.label)) == Set(tickets.keys))
        for code in tickets.keys {
            let mine = events.filter { $0.label == code }
            #expect(mine.map(\.kind).sorted() == ["sla.breached", "sla.warning", "sla.warning", "sla.warning"])
            #expect(mine.filter { $0.kind == "sla.warning" }.map(\.level).sorted() == [50, 75, 90])
            #expect(mine.allSatisfy { $0.sla_horas == 4 && $0.detected_at == now.iso8601 })
            #expect(mine.filter(\.notified).map(\.kind) == ["sla.breached"])
            #expect(mine.first { $0.kind == "sla.warning" && $0.level == 50 }?.crossed_at == "2026-03-24T10:00:00Z")
        }
        // --since after the detection lists nothing.
        let later = await slawatch(["events", "--format", "json", "--since", (now + 1).iso8601, "--database", desk.url])
        #expect(later.status == 0)
        #expect(later.stdout == "[]\n")
    }

    @Test func severalLevelsCrossedAtOnceAreAllRecordedButOnlyTheLatestIsNotified() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        let ticket = try desk.addTicket(title: "Base de datos sin réplica")
        let rules = try TemporaryRules([
            "sla.json": WorkerRules.text(
                channels: #"{ integraciones: { type: "webhook", url: "\#(sink.url)" } }"#,
                routes: WorkerRules.allEvents(to: ["integraciones"]), escalateAfter: #"["1h", "4h"]"#)
        ])
        // The worker was down from before the first warning until 5.5 h after creation.
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 5.5))

        let events = try desk.events()
        let prefix = ticket.id + "/"
        #expect(
            Set(events.map(\.id))
                == Set(
                    [
                        "sla.warning/50", "sla.warning/75", "sla.warning/90", "sla.breached/0", "sla.escalated/3600",
                    ].map { prefix + $0 + "/\(Self.fourHours)" }), "\(events)")
        #expect(events.filter(\.notified).map(\.id) == [prefix + "sla.escalated/3600/\(Self.fourHours)"])

        let requests = sink.requests
        try #require(requests.count == 1, "\(requests.map(\.bodyText))")
        let body = try jsonObject(requests[0].body)
        #expect(body["type"] as? String == "sla.escalated")
        let data = try #require(body["data"] as? [String: Any])
        #expect((data["level"] as? NSNumber)?.doubleValue == 3600)
        #expect(data["crossed_at"] as? String == "2026-03-24T13:00:00Z")
        #expect(try desk.count("deliveries") == 1)

        // The second escalation, reached later, is its own notification.
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 8, seconds: 1))
        #expect(sink.requests.count == 2)
        let second = try jsonObject(sink.requests[1].body)
        #expect(second["type"] as? String == "sla.escalated")
        #expect(((second["data"] as? [String: Any])?["level"] as? NSNumber)?.doubleValue == 14_400)
    }

    @Test func aCrossingAnotherWorkerRecordedFirstIsNotNotifiedAgainAndTheRestArePlannedWithoutIt() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        let ticket = try desk.addTicket()
        let rules = try TemporaryRules([
            "sla.json": WorkerRules.text(
                channels: #"{ integraciones: { type: "webhook", url: "\#(sink.url)" } }"#,
                routes: WorkerRules.allEvents(to: ["integraciones"]))
        ])
        // The breach is already stored under its id, as by a worker that got there between this one's
        // look at the stored events (by ticket) and its insert: filed under another ticket id, the look
        // misses it and the insert meets it.
        let breach = "\(ticket.id)/sla.breached/0/\(Self.fourHours)"
        let migrate = await slawatch(["migrate", "--rules", rules.path, "--database", desk.url])
        try #require(migrate.status == 0, "\(migrate.stderr)")
        try desk.connection.query(
            """
            INSERT INTO slawatch.events (id, ticket_id, ticket_code, kind, level, target_us, detected_at, notified, notice)
            VALUES ($1, 'another worker', $2, 'sla.breached', 0, $3, now(), true, '{}')
            """, [.text(breach), .text(ticket.code), .text(String(Self.fourHours))])
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 5))

        // Of the crossings still new, the latest (the 90 % warning) is the one notified.
        let prefix = ticket.id + "/"
        let events = try desk.events()
        #expect(
            events.filter(\.notified).map(\.id).sorted()
                == [breach, prefix + "sla.warning/90/\(Self.fourHours)"].sorted(), "\(events)")
        let requests = sink.requests
        try #require(requests.count == 1, "\(requests.map(\.bodyText))")
        let body = try jsonObject(requests[0].body)
        #expect(body["type"] as? String == "sla.warning")
        #expect(((body["data"] as? [String: Any])?["level"] as? NSNumber)?.doubleValue == 90)
        #expect(try desk.count("deliveries") == 1)
    }

    @Test func aPriorityChangeReArmsTheLevelsAgainstTheNewTarget() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        let ticket = try desk.addTicket(title: "Impresora de facturas")
        let rules = try TemporaryRules([
            "sla.json": WorkerRules.text(
                channels: #"{ integraciones: { type: "webhook", url: "\#(sink.url)" } }"#,
                routes: WorkerRules.allEvents(to: ["integraciones"]))
        ])
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 5))
        let critical = try desk.events()
        #expect(critical.count == 4)
        #expect(critical.allSatisfy { $0.targetHours == 4 })
        #expect(sink.requests.count == 1)

        // Downgraded to ALTA (8 h): 5 h elapsed is past its 50 % level only.
        try desk.setPriority(of: ticket.code, to: "ALTA", at: WorkerClock.at(hours: 5, seconds: 30))
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 5, seconds: 60))
        let afterChange = try desk.events()
        let fresh = afterChange.filter { !critical.map(\.id).contains($0.id) }
        #expect(fresh.map(\.id) == ["\(ticket.id)/sla.warning/50/28800000000"], "\(afterChange)")
        #expect(fresh.allSatisfy { $0.notified && $0.targetHours == 8 })
        try #require(sink.requests.count == 2)
        let warning = try #require(try jsonObject(sink.requests[1].body)["data"] as? [String: Any])
        #expect(warning["kind"] as? String == "sla.warning")
        #expect((warning["level"] as? NSNumber)?.doubleValue == 50)
        #expect((warning["sla_horas"] as? NSNumber)?.doubleValue == 8)
        #expect(warning["prioridad_nom"] as? String == "ALTA")

        // The new target's later levels and its breach come in their turn.
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 8, seconds: 1))
        let all = try desk.events()
        #expect(
            all.filter { $0.targetHours == 8 }.map(\.id).sorted() == [
                "\(ticket.id)/sla.breached/0/28800000000", "\(ticket.id)/sla.warning/50/28800000000",
                "\(ticket.id)/sla.warning/75/28800000000", "\(ticket.id)/sla.warning/90/28800000000",
            ])
        #expect(sink.requests.count == 3)
        #expect(try jsonObject(sink.requests[2].body)["type"] as? String == "sla.breached")
    }

    @Test func aBurstWithinGroupWaitBecomesOneBatchMessage() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        var codes: Set<String> = []
        for i in 1...5 { codes.insert(try desk.addTicket(title: "Corte de red \(i)").code) }
        let rules = try Self.webhookRules(sink, extraRoute: #", group_wait: "30s""#)
        let now = WorkerClock.at(hours: 5)
        try await requireRunOnce(rules, desk, at: now)
        #expect(sink.requests.isEmpty, "sent before group_wait passed: \(sink.requests.map(\.bodyText))")
        let waiting = try await desk.deliveries()
        #expect(waiting.count == 5)
        #expect(
            waiting.allSatisfy {
                $0.status == "pending" && $0.attempts == 0 && $0.due_at == (now + 30 * WorkerClock.second).iso8601
            }, "\(waiting)")

        try await requireRunOnce(rules, desk, at: now + 31 * WorkerClock.second)
        let requests = sink.requests
        try #require(requests.count == 1, "\(requests.map(\.bodyText))")
        let body = try jsonObject(requests[0].body)
        #expect(body["type"] as? String == "sla.batch")
        let events = try #require((body["data"] as? [String: Any])?["events"] as? [[String: Any]])
        #expect(events.count == 5)
        #expect(Set(events.compactMap { $0["label"] as? String }) == codes)
        #expect(events.allSatisfy { $0["kind"] as? String == "sla.breached" })
        // One message, one signature over it, made as it left (--now plus a moment).
        let id = try #require(requests[0].header("webhook-id"))
        let timestamp = try #require(requests[0].header("webhook-timestamp").flatMap { Int($0) })
        #expect(timestamp >= Int((now + 31 * WorkerClock.second).seconds))
        #expect(timestamp <= Int((now + 36 * WorkerClock.second).seconds))
        let signature = try WebhookSignature(secret: Self.secret).signature(
            messageID: id, timestamp: timestamp, body: requests[0].body)
        #expect(requests[0].header("webhook-signature") == signature)
        #expect(try await desk.deliveries().allSatisfy { $0.status == "sent" && $0.attempts == 1 })
    }

    @Test func aSlackChannelFoldsWhatItsRateDoesNotAllowOneByOne() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        var codes: [String] = []
        for i in 1...3 { codes.append(try desk.addTicket(title: "Alerta \(i)").code) }
        let rules = try TemporaryRules([
            "sla.json": WorkerRules.text(
                channels: #"{ soporte: { type: "slack", url: "\#(sink.url)/services/T000/B000/XXX" } }"#,
                routes: WorkerRules.allEvents(to: ["soporte"]))
        ])
        let now = WorkerClock.at(hours: 5)
        try await requireRunOnce(rules, desk, at: now)
        // Three due at once, one message a second: one folded message names all three.
        try #require(sink.requests.count == 1, "\(sink.requests.map(\.bodyText))")
        let text = try jsonObject(sink.requests[0].body)["text"] as? String ?? ""
        #expect(text.hasPrefix("3 alertas de SLA"), "\(text)")
        for code in codes { #expect(sink.requests[0].bodyText.contains(code)) }
        let id = try #require(sink.requests[0].header("webhook-id"))
        #expect(id.hasPrefix("msg_slawatch_fold_"))
        let deliveries = try await desk.deliveries()
        #expect(
            deliveries.allSatisfy { $0.status == "sent" && $0.attempts == 1 && $0.message == id }, "\(deliveries)")
        // Nothing left: a later run sends nothing more.
        try await requireRunOnce(rules, desk, at: now + 60 * WorkerClock.second)
        #expect(sink.requests.count == 1)
    }

    @Test func aDryRunPrintsTheWouldBeEventsAndWritesNothing() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        let a = try desk.addTicket(title: "Caída A")
        let b = try desk.addTicket(title: "Caída B")
        let rules = try Self.webhookRules(sink)
        let migrate = await slawatch(["migrate", "--rules", rules.path, "--database", desk.url])
        #expect(migrate.status == 0, "\(migrate.stderr)")
        let now = WorkerClock.at(hours: 5)
        let dry = await runOnce(rules, desk, at: now, ["--dry-run"])
        #expect(dry.status == 0, "\(dry.stderr)")
        let lines = dry.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 2, "\(dry.stdout)")
        var labels: [String] = []
        for line in lines {
            let object = try jsonObject(Array(line.utf8))
            #expect(object["dry_run"] as? Bool == true)
            let event = try #require(object["event"] as? [String: Any])
            #expect(event["kind"] as? String == "sla.breached")
            labels.append(event["label"] as? String ?? "")
            let deliveries = try #require(object["deliveries"] as? [[String: Any]])
            #expect(deliveries.count == 1)
            #expect(deliveries.first?["channel"] as? String == "integraciones")
        }
        #expect(labels.sorted() == [a.code, b.code])
        #expect(try desk.count("events") == 0)
        #expect(try desk.count("deliveries") == 0)
        #expect(try desk.count("workers") == 0)
        #expect(sink.requests.isEmpty)

        // Nothing was marked as seen: the real run records and sends both.
        try await requireRunOnce(rules, desk, at: now)
        #expect(sink.requests.count == 2)
        #expect(try desk.count("events") == 8)
    }

    @Test func aDryRunOnADatabaseNeverMigratedWritesNothing() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        try desk.addTicket(title: "Caída A")
        let rules = try Self.webhookRules(sink)
        let dry = await runOnce(rules, desk, at: WorkerClock.at(hours: 5), ["--dry-run"])
        // A dry run on a database slawatch never migrated sees no events yet and creates nothing.
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.split(separator: "\n").count == 1, "\(dry.stdout)")
        let schema = try desk.connection.query("SELECT count(*) FROM pg_namespace WHERE nspname = 'slawatch'").rows[0]
            .int(0)
        #expect(schema == 0, "a dry run created slawatch's schema")
        #expect(sink.requests.isEmpty)
    }

    @Test func aTicketClosedAfterItsBreachIsNotifiedAsMetAfterBreach() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        let ticket = try desk.addTicket(title: "Correo caído")
        let rules = try Self.webhookRules(sink)
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 5))
        #expect(sink.requests.count == 1)
        try desk.setStatus(of: ticket.code, to: "RESUELTO", at: WorkerClock.at(hours: 6))
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 6, seconds: 60))
        let met = try #require(try desk.events().first { $0.kind == "sla.met_after_breach" })
        #expect(met.id == "\(ticket.id)/sla.met_after_breach/0/\(Self.fourHours)")
        #expect(met.notified)
        try #require(sink.requests.count == 2)
        let body = try jsonObject(sink.requests[1].body)
        #expect(body["type"] as? String == "sla.met_after_breach")
        let data = try #require(body["data"] as? [String: Any])
        #expect(data["crossed_at"] as? String == "2026-03-24T14:00:00Z")
        #expect(data["estado_code"] as? String == "RESUELTO")
        #expect((data["horas_restantes"] as? NSNumber)?.doubleValue == -2)
        // Once.
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 9))
        #expect(sink.requests.count == 2)
        #expect(try desk.events().count == 5)
    }

    /// the README's Events: "reminders happen only where a route sets `repeat`"; area
    /// managers get "a reminder/escalation later".
    @Test func aRouteWithRepeatRemindsWhileTheTicketStaysBreached() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        let ticket = try desk.addTicket(title: "Nómina sin procesar")
        let rules = try TemporaryRules([
            "sla.json": WorkerRules.text(
                channels:
                    #"{ recordar: { type: "webhook", url: "\#(sink.url)/repeat" }, una_vez: { type: "webhook", url: "\#(sink.url)/once" } }"#,
                routes: """
                    [{ events: ["sla.breached"], channels: ["recordar"], repeat: "1h" },
                     { events: ["sla.breached"], channels: ["una_vez"] }]
                    """)
        ])
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 5))
        #expect(sink.requests.filter { $0.target == "/repeat" }.count == 1)
        #expect(sink.requests.filter { $0.target == "/once" }.count == 1)
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 6, seconds: 1))
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 6, seconds: 2))
        let reminders = sink.requests.filter { $0.target == "/repeat" }
        #expect(
            (2...3).contains(reminders.count),
            "\(reminders.count) messages on the route with repeat: 1h after 1 h more overdue")
        for reminder in reminders {
            #expect((try jsonObject(reminder.body)["data"] as? [String: Any])?["label"] as? String == ticket.code)
        }
        #expect(
            sink.requests.filter { $0.target == "/once" }.count == 1, "the route without repeat sends its event once")
        // Once the ticket is resolved, the reminders stop.
        try desk.setStatus(of: ticket.code, to: "RESUELTO", at: WorkerClock.at(hours: 6, seconds: 30))
        let before = sink.requests.filter { $0.target == "/repeat" }.count
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 9))
        #expect(sink.requests.filter { $0.target == "/repeat" }.count == before)
    }

    @Test func twoWorkersAtOnceDeliverEveryNotificationExactlyOnce() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        var codes: Set<String> = []
        for i in 1...12 { codes.insert(try desk.addTicket(title: "Incidente \(i)").code) }
        let rules = try Self.webhookRules(sink)
        let migrate = await slawatch(["migrate", "--rules", rules.path, "--database", desk.url])
        #expect(migrate.status == 0, "\(migrate.stderr)")

        // Both evaluate-or-deliver at the same instant.
        let now = WorkerClock.at(hours: 5)
        let args = workerArguments(rules, desk, at: now)
        async let first = slawatch(args)
        async let second = slawatch(args)
        let (r1, r2) = await (first, second)
        #expect(r1.status == 0, "\(r1.stderr)")
        #expect(r2.status == 0, "\(r2.stderr)")
        // Whatever the interleaving, a third run at the same instant finds the rest.
        try await requireRunOnce(rules, desk, at: now)
        var requests = sink.requests
        #expect(requests.count == 12)
        #expect(Set(requests.compactMap { $0.header("webhook-id") }).count == requests.count)
        #expect(
            Set(
                try requests.map {
                    try #require((try jsonObject($0.body)["data"] as? [String: Any])?["label"] as? String)
                }) == codes)
        #expect(try desk.count("events") == 48)

        // A backlog of failed deliveries, then three workers racing to retry it.
        for i in 13...24 {
            codes.insert(try desk.addTicket(title: "Incidente \(i)", created: WorkerClock.at(hours: 1)).code)
        }
        sink.enqueue(HTTPSink.Response(status: 503), times: 12)
        let later = WorkerClock.at(hours: 6)
        try await requireRunOnce(rules, desk, at: later)
        #expect(sink.requests.count == 24)
        #expect(try await desk.deliveries(status: "failed").count == 12)
        let retry = later + 3_600 * WorkerClock.second
        let retryArgs = workerArguments(rules, desk, at: retry)
        async let x = slawatch(retryArgs)
        async let y = slawatch(retryArgs)
        async let z = slawatch(retryArgs)
        let results = await [x, y, z]
        for r in results { #expect(r.status == 0, "\(r.stderr)") }
        requests = sink.requests
        #expect(requests.count == 36, "\(requests.count) requests")
        let retried = requests[24...]
        #expect(Set(retried.compactMap { $0.header("webhook-id") }).count == 12, "a retry was claimed twice")
        let deliveries = try await desk.deliveries()
        #expect(deliveries.count == 24)
        #expect(deliveries.allSatisfy { $0.status == "sent" }, "\(deliveries.filter { $0.status != "sent" })")
        #expect(deliveries.filter { $0.attempts == 2 }.count == 12)
    }
}

/// the README's Channels: each chat service receives its own format, with ticket text escaped for it.
@Suite struct ChatPayloadTests {
    /// 2,000 characters with markup, an ampersand, Spanish text and a mass mention.
    static let title: String = {
        let start = "Facturación <script>alert('x')</script> & @everyone ¡urgente! "
        return start + String(repeating: "ñ", count: 2_000 - start.count)
    }()

    /// One ticket with the long title, breached, routed to the four chat channels of one sink.
    static func deliverToEveryChat() async throws -> (
        requests: [HTTPSink.Request], ticket: (id: String, code: String), desk: WorkerHelpDesk
    ) {
        #expect(Self.title.count == 2_000)
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        let ticket = try desk.addTicket(title: Self.title, area: "FACTURACION")
        let rules = try TemporaryRules([
            "sla.json": WorkerRules.text(
                channels: """
                    {
                      slack: { type: "slack", url: "\(sink.url)/slack" },
                      teams: { type: "teams", url: "\(sink.url)/teams" },
                      gchat: { type: "googlechat", url: "\(sink.url)/gchat?key=abc&token=def" },
                      discord: { type: "discord", url: "\(sink.url)/discord" },
                    }
                    """,
                routes: WorkerRules.allEvents(to: ["slack", "teams", "gchat", "discord"]))
        ])
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 5))
        let requests = sink.requests
        #expect(requests.count == 4, "\(requests.map(\.target))")
        return (requests, ticket, desk)
    }

    static func slackStrings(_ blocks: [[String: Any]]) -> [String] {
        var strings: [String] = []
        for block in blocks {
            if let text = block["text"] as? [String: Any], let s = text["text"] as? String { strings.append(s) }
            for field in block["fields"] as? [[String: Any]] ?? [] { strings.append(field["text"] as? String ?? "") }
        }
        return strings
    }

    @Test func eachChatServiceGetsItsOwnFormat() async throws {
        let (requests, ticket, desk) = try await Self.deliverToEveryChat()
        func request(_ prefix: String) throws -> HTTPSink.Request {
            try #require(requests.first { $0.target.hasPrefix(prefix) }, "nothing arrived at \(prefix)")
        }
        for r in requests { #expect(r.header("Content-Type")?.hasPrefix("application/json") == true) }

        // Slack (and Mattermost): text plus Block Kit blocks; &, < and > escaped in mrkdwn.
        let slack = try jsonObject(try request("/slack").body)
        let slackText = try #require(slack["text"] as? String)
        #expect(slackText.contains(ticket.code))
        let blocks = try #require(slack["blocks"] as? [[String: Any]])
        #expect(!blocks.isEmpty && blocks.count <= 50)
        for block in blocks { #expect(block["type"] as? String == "section") }
        let slackAll = Self.slackStrings(blocks).joined(separator: "\n")
        #expect(slackAll.contains("Facturación &lt;script&gt;alert('x')&lt;/script&gt; &amp; @everyone"))
        #expect(!slackAll.contains("<script>"))

        // Teams: a message whose attachment is an Adaptive Card.
        let teams = try jsonObject(try request("/teams").body)
        #expect(teams["type"] as? String == "message")
        let attachment = try #require((teams["attachments"] as? [[String: Any]])?.first)
        #expect((teams["attachments"] as? [Any])?.count == 1)
        #expect(attachment["contentType"] as? String == "application/vnd.microsoft.card.adaptive")
        let card = try #require(attachment["content"] as? [String: Any])
        #expect(card["type"] as? String == "AdaptiveCard")
        #expect(card["version"] is String)
        let cardBody = try #require(card["body"] as? [[String: Any]])
        let cardText = String(decoding: try JSONSerialization.data(withJSONObject: cardBody), as: UTF8.self)
        #expect(cardText.contains("Facturación") || cardText.contains("Facturaci\\u00f3n"))
        let facts = cardBody.compactMap { $0["facts"] as? [[String: Any]] }.flatMap { $0 }
        #expect(facts.contains { $0["value"] as? String == Self.title }, "the title arrives intact in the card")

        // Google Chat: text, a thread key per ticket, and the reply option in the URL query.
        let gchatRequest = try request("/gchat")
        let query = try #require(URLComponents(string: "http://x" + gchatRequest.target)?.queryItems)
        #expect(query.contains { $0.name == "key" && $0.value == "abc" })
        #expect(query.contains { $0.name == "token" && $0.value == "def" })
        #expect(
            query.contains { $0.name == "messageReplyOption" && $0.value == "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD" })
        let gchat = try jsonObject(gchatRequest.body)
        let gchatText = try #require(gchat["text"] as? String)
        #expect(gchatText.count <= 4_096)
        #expect(gchatText.contains(ticket.code))
        #expect(gchatText.contains("Facturación"))
        #expect(!gchatText.contains("<script>"))
        let thread = try #require(gchat["thread"] as? [String: Any])
        let threadKey = try #require(thread["threadKey"] as? String)
        #expect(threadKey.contains(ticket.id))

        // Discord: content within 2,000 characters, embeds, and no mention parsed.
        let discord = try jsonObject(try request("/discord").body)
        let content = try #require(discord["content"] as? String)
        #expect(content.count <= 2_000 && content.utf16.count <= 2_000)
        let embeds = try #require(discord["embeds"] as? [[String: Any]])
        #expect((1...10).contains(embeds.count))
        for embed in embeds {
            #expect((embed["title"] as? String ?? "").count <= 256)
            for field in embed["fields"] as? [[String: Any]] ?? [] {
                #expect((field["name"] as? String ?? "").count <= 256)
                #expect((field["value"] as? String ?? "").count <= 1_024)
            }
        }
        let embedText = String(decoding: try JSONSerialization.data(withJSONObject: embeds), as: UTF8.self)
        #expect(embedText.contains("Facturaci"))
        let mentions = try #require(discord["allowed_mentions"] as? [String: Any])
        #expect((mentions["parse"] as? [Any])?.isEmpty == true)

        #expect(try await desk.deliveries().allSatisfy { $0.status == "sent" })
    }

    /// Block Kit's limits (api.slack.com/reference/block-kit/blocks#section): a section's text at
    /// most 3,000 characters, at most 10 fields of at most 2,000 characters each. Slack answers a
    /// message beyond them with 400 invalid_blocks, which is permanent: the alert never arrives.
    @Test func slackBlocksStayWithinSlacksLimits() async throws {
        let (requests, _, _) = try await Self.deliverToEveryChat()
        let slackRequest = try #require(requests.first { $0.target.hasPrefix("/slack") })
        let blocks = try #require(try jsonObject(slackRequest.body)["blocks"] as? [[String: Any]])
        for block in blocks {
            if let text = block["text"] as? [String: Any], let s = text["text"] as? String {
                #expect(s.count <= 3_000, "a section's text is limited to 3000 characters, found \(s.count)")
            }
            let fields = block["fields"] as? [[String: Any]] ?? []
            #expect(fields.count <= 10)
            for field in fields {
                let s = field["text"] as? String ?? ""
                #expect(s.count <= 2_000, "a section field's text is limited to 2000 characters, found \(s.count)")
            }
        }
    }
}
