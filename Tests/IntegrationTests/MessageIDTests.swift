import Foundation
import LoopbackSinks
import PostgresClient
import SlawatchCore
import Testing

// A message keeps its id at every attempt, however its deliveries are regrouped on the way (README,
// 'What a receiver can rely on'): a retry carries its first attempt's id and the same notifications
// or fewer, never one that its first copy did not carry. Real PostgreSQL, the real worker, loopback
// sinks. In each test the first attempt fails, then one of the message's tickets stops: its
// notification is superseded by the ticket's `sla.met_after_breach`, so the retry carries only part
// of the first attempt, and a fresh notification is due beside it.

/// Two tickets breached at once (t0 + 4 h), both delivered 10 minutes later as one message.
private let breach = WorkerClock.at(hours: 4, seconds: 60)
private let grouped = breach + 11 * WorkerClock.minute
/// After the backoff of the first attempt.
private let retried = grouped + 2 * WorkerClock.minute

private let groupWait = #", group_wait: "10m""#

@Suite struct MessageIDTests {
    /// A webhook message regrouped on its retry (one of its deliveries superseded, a fresh one due for
    /// the same route) goes again under its first attempt's `webhook-id`, without the fresh one.
    @Test func aRegroupedWebhookMessageKeepsItsWebhookID() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        let first = try desk.addTicket(title: "Primero")
        let second = try desk.addTicket(title: "Segundo")
        let rules = try TemporaryRules([
            "sla.json": WorkerRules.text(
                channels: #"{ hook: { type: "webhook", url: "\#(sink.url)/hook" } }"#,
                routes: WorkerRules.allEvents(to: ["hook"], extra: groupWait))
        ])
        try await requireRunOnce(rules, desk, at: breach)
        sink.enqueue(HTTPSink.Response(status: 500, text: "boom"))
        try await requireRunOnce(rules, desk, at: grouped)
        try #require(sink.requests.count == 1)
        let firstCopy = sink.requests[0]
        let id = try #require(firstCopy.header("webhook-id"))
        #expect(firstCopy.bodyText.contains(first.code) && firstCopy.bodyText.contains(second.code))

        try desk.setStatus(of: first.code, to: "RESUELTO", at: grouped + WorkerClock.minute)
        try await requireRunOnce(rules, desk, at: retried)
        let requests = sink.requests
        try #require(requests.count == 2, "\(requests.map(\.bodyText))")
        let retry = requests[1]
        #expect(retry.header("webhook-id") == id, "the retry carries \(retry.header("webhook-id") ?? "-"), not \(id)")
        #expect(retry.bodyText.contains(second.code))
        #expect(!retry.bodyText.contains(first.code), "the superseded notification is not sent")
        let deliveries = try await desk.deliveries()
        #expect(deliveries.filter { $0.message == id }.count == 2, "\(deliveries)")
        // The fresh notification waits for its own group, under an id of its own.
        let met = try #require(deliveries.first { $0.kind == "sla.met_after_breach" })
        #expect(met.status == "pending" && met.message == nil, "\(met)")
    }

    /// The same for e-mail: the retry's `Message-ID` is its first copy's.
    @Test func aRegroupedMailKeepsItsMessageID() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try SMTPSink()
        let first = try desk.addTicket(title: "Primero")
        let second = try desk.addTicket(title: "Segundo")
        let rules = try TemporaryRules([
            "sla.json": WorkerRules.text(
                channels: #"{ guardia: { type: "email", to: ["guardia@example.com"] } }"#,
                routes: WorkerRules.allEvents(to: ["guardia"], extra: groupWait),
                smtp: #"{ url: "\#(sink.url)", from: "slawatch <sla@example.com>", tls: "none" }"#)
        ])
        func messageID(_ message: SMTPSink.Message) -> String? {
            message.text.split(separator: "\r\n").first { $0.lowercased().hasPrefix("message-id:") }.map(String.init)
        }
        try await requireRunOnce(rules, desk, at: breach)
        sink.failNextData(1, code: 451, text: "4.3.0 Try again later")
        try await requireRunOnce(rules, desk, at: grouped)
        let firstCopy = try #require(sink.refusedMessages.first)
        let id = try #require(messageID(firstCopy))
        #expect(sink.messages.isEmpty)

        try desk.setStatus(of: first.code, to: "RESUELTO", at: grouped + WorkerClock.minute)
        try await requireRunOnce(rules, desk, at: retried)
        let retry = try #require(sink.messages.first, "the retry was not sent")
        #expect(sink.messages.count == 1)
        #expect(messageID(retry) == id, "the retry carries \(messageID(retry) ?? "-"), not \(id)")
        let text = try ParsedMail(retry.text).parts().map(\.text).joined()
        #expect(text.contains(second.code) && !text.contains(first.code), "\(text)")
    }

    /// A folded chat message (three breaches at once through a channel of one message a second) goes
    /// again under its own id, with what is left of it; the fresh notification due beside it goes as
    /// a message of its own, in the next slot.
    @Test func aRetriedFoldKeepsItsID() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        let tickets = try (1...3).map { try desk.addTicket(title: "Corte \($0)") }
        let rules = try TemporaryRules([
            "sla.json": WorkerRules.text(
                channels: #"{ soporte: { type: "slack", url: "\#(sink.url)/services/T000/B000/XXX" } }"#,
                routes: WorkerRules.allEvents(to: ["soporte"]))
        ])
        sink.enqueue(HTTPSink.Response(status: 500, text: "boom"))
        try await requireRunOnce(rules, desk, at: breach)
        try #require(sink.requests.count == 1)
        let fold = try #require(sink.requests[0].header("webhook-id"))
        try #require(fold.hasPrefix("msg_slawatch_fold_"))
        #expect(tickets.allSatisfy { sink.requests[0].bodyText.contains($0.code) })

        try desk.setStatus(of: tickets[0].code, to: "RESUELTO", at: breach + WorkerClock.minute)
        try await requireRunOnce(rules, desk, at: breach + 2 * WorkerClock.minute)
        let requests = Array(sink.requests.dropFirst())
        try #require(requests.count == 2, "\(requests.map(\.bodyText))")
        let again = try #require(requests.first { $0.header("webhook-id") == fold }, "no retry under \(fold)")
        #expect(again.bodyText.contains(tickets[1].code) && again.bodyText.contains(tickets[2].code))
        #expect(!again.bodyText.contains(tickets[0].code), "the fold's retry carries nothing it did not carry")
        let fresh = try #require(requests.first { $0.header("webhook-id") != fold })
        #expect(fresh.bodyText.contains(tickets[0].code), "\(fresh.bodyText)")
        let deliveries = try await desk.deliveries()
        #expect(deliveries.allSatisfy { $0.status == "sent" || $0.status == "superseded" }, "\(deliveries)")
        #expect(deliveries.filter { $0.message == fold }.count == 3, "\(deliveries)")
    }

    /// A retry claimed in parts: the claim that finds one delivery of a message attempted before
    /// takes the rest of it too, even when not due yet, and sends it whole under its id; when the
    /// rest is held by another worker, this part goes under an id of its own (a receiver that drops
    /// repeats by id must not drop it for a copy that carried it only in part).
    @Test func aRetryClaimedInPartsGoesWholeOrUnderAnIdOfItsOwn() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        let tickets = try (1...3).map { try desk.addTicket(title: "Parte \($0)") }
        let rules = try TemporaryRules([
            "sla.json": WorkerRules.text(
                channels: #"{ hook: { type: "webhook", url: "\#(sink.url)/hook" } }"#,
                routes: WorkerRules.allEvents(to: ["hook"], extra: groupWait))
        ])
        try await requireRunOnce(rules, desk, at: breach)
        sink.enqueue(HTTPSink.Response(status: 500, text: "boom"), times: 2)
        try await requireRunOnce(rules, desk, at: grouped)
        try #require(sink.requests.count == 1)
        let id = try #require(sink.requests[0].header("webhook-id"))
        let ids = try await desk.deliveries().map(\.id).sorted()
        try #require(ids.count == 3)

        // The first is not due yet: it goes with the others all the same, under the message's id.
        try desk.connection.query(
            "UPDATE slawatch.deliveries SET due_at = due_at + interval '1 day' WHERE id = $1", [.int8(Int64(ids[0]))])
        try await requireRunOnce(rules, desk, at: retried)
        try #require(sink.requests.count == 2)
        #expect(sink.requests[1].header("webhook-id") == id)
        #expect(tickets.allSatisfy { sink.requests[1].bodyText.contains($0.code) }, "\(sink.requests[1].bodyText)")

        // Failed again; now the first is held by another worker: the other two go under an id of their own.
        try desk.connection.query(
            """
            UPDATE slawatch.deliveries SET claimed_by = 'another worker', claimed_until = now() + interval '1 hour'
            WHERE id = $1
            """, [.int8(Int64(ids[0]))])
        try await requireRunOnce(rules, desk, at: retried + 10 * WorkerClock.minute)
        let requests = sink.requests
        try #require(requests.count == 3, "\(requests.map(\.bodyText))")
        let part = try #require(requests[2].header("webhook-id"))
        #expect(part != id && part.hasPrefix(id), "\(part)")
        #expect(!requests[2].bodyText.contains(tickets[0].code))
        #expect(requests[2].bodyText.contains(tickets[1].code) && requests[2].bodyText.contains(tickets[2].code))
        let deliveries = try await desk.deliveries()
        #expect(deliveries.filter { $0.message == part }.map(\.id).sorted() == Array(ids[1...]), "\(deliveries)")
    }
}
