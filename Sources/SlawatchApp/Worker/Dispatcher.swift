import CurlTransport
import Foundation
import PostgresClient
import SlawatchCore

/// Sends claimed deliveries and records what happened to each.
///
/// Deliveries that share a group key (a route's burst within `group_wait`) go out as one message.
/// Webhooks of every channel go out together on libcurl's multi interface; a channel with a rate
/// limit sends at most one message per `1/rate` seconds, and what its budget does not allow in this
/// pass is given back for later, without counting an attempt. E-mails of a pass share one SMTP
/// connection.
final class Dispatcher {
    let rules: RuleSet
    let queue: DeliveryQueue
    let output: (String) -> Void
    let log: Logger
    private var http: HTTPBatchSender?
    private var smtp: SMTPSender?
    /// When each rate-limited channel may send next.
    private var nextSlot: [String: Instant] = [:]
    private var generator = SystemRandomNumberGenerator()

    struct Tally {
        var sent = 0, failed = 0, dead = 0, deferred = 0
        var byChannel: [String: [String: Int]] = [:]
        mutating func add(_ channel: String, _ outcome: String, _ count: Int) {
            byChannel[channel, default: [:]][outcome, default: 0] += count
        }
    }

    init(rules: RuleSet, queue: DeliveryQueue, output: @escaping (String) -> Void, log: Logger) {
        self.rules = rules
        self.queue = queue
        self.output = output
        self.log = log
    }

    /// A group of deliveries sent as one message.
    struct Group {
        let key: String
        let channel: Channel
        let recipient: String
        let deliveries: [DeliveryQueue.Claimed]
        var ids: [Int64] { deliveries.map(\.id) }
        var notices: [Notice] { deliveries.compactMap(\.notice) }
        var report: ReportPayload? { deliveries.first?.report }
        /// Stable across retries: the receiver drops a repeat by it.
        var messageID: String { "msg_slawatch_\(deliveries[0].id)" }
    }

    /// Deliveries sent in this pass, recorded in one statement at its end.
    private var sentIDs: [Int64] = []

    func dispatch(_ claimed: [DeliveryQueue.Claimed], now: Instant) async throws -> Tally {
        var tally = Tally()
        sentIDs = []
        // Recorded however the pass ends, also when a later step throws.
        defer { if !sentIDs.isEmpty { try? queue.markSent(sentIDs, now: now); sentIDs = [] } }
        var groups: [Group] = []
        var index: [String: Int] = [:]
        for d in claimed {
            guard let channel = rules.channels[d.channel] else {
                try queue.markFailed([d.id], now: now, reason: "channel \(d.channel) is no longer in the rules", retryAt: nil)
                tally.dead += 1
                tally.add(d.channel, "dead", 1)
                continue
            }
            if let i = index[d.groupKey] {
                groups[i] = Group(key: d.groupKey, channel: channel, recipient: d.recipient, deliveries: groups[i].deliveries + [d])
            } else {
                index[d.groupKey] = groups.count
                groups.append(Group(key: d.groupKey, channel: channel, recipient: d.recipient, deliveries: [d]))
            }
        }
        // Rate limits: a channel's groups beyond its budget for this pass wait for their slot.
        var sendable: [Group] = []
        for group in groups {
            guard let rate = group.channel.ratePerSecond else { sendable.append(group); continue }
            let slot = max(nextSlot[group.channel.name] ?? now, now)
            if slot > now {
                try queue.release(group.ids, dueAt: slot)
                tally.deferred += group.deliveries.count
                continue
            }
            nextSlot[group.channel.name] = slot + Int64(1_000_000 / rate)
            sendable.append(group)
        }

        var webhooks: [(Group, HTTPRequest)] = []
        var mails: [(Group, CurlTransport.MailMessage)] = []
        for group in sendable {
            switch group.channel.kind {
            case .log:
                let line = JSONText.object([
                    ("channel", JSONText.string(group.channel.name)),
                    ("webhook_id", JSONText.string(group.messageID)),
                    ("message", group.report?.body ?? ChannelPayload.json(for: .webhook, notices: group.notices, language: group.channel.language)),
                ])
                output(line + "\n")
                try record(.sent, group, now: now, tally: &tally)
            case .email:
                do {
                    mails.append((group, try mail(for: group, now: now)))
                } catch {
                    try record(.dead(reason: "\(error)"), group, now: now, tally: &tally)
                }
            default:
                do {
                    webhooks.append((group, try request(for: group, now: now)))
                } catch {
                    try record(.dead(reason: "\(error)"), group, now: now, tally: &tally)
                }
            }
        }
        if !webhooks.isEmpty {
            if http == nil { http = try HTTPBatchSender() }
            let results = await http!.send(webhooks.map(\.1))
            for ((group, _), result) in zip(webhooks, results) {
                let outcome: AttemptOutcome
                switch result {
                case .success(let response):
                    let after = response.retryAfter(now: Date(timeIntervalSince1970: Double(now.microseconds) / 1e6))
                    outcome = .http(status: response.statusCode, retryAfterMicros: after.map { Self.micros($0) })
                case .failure(let error):
                    outcome = .transport(reason: error.description, retryable: error.kind != .invalidRequest)
                }
                try record(decide(outcome, group, now: now), group, now: now, tally: &tally)
            }
        }
        if !mails.isEmpty {
            guard let settings = rules.smtp else {
                for (group, _) in mails { try record(.dead(reason: "no smtp section in the rules"), group, now: now, tally: &tally) }
                return tally
            }
            if smtp == nil {
                let tls: SMTPConfiguration.TLS = settings.tls == .required ? .required : (settings.tls == .opportunistic ? .opportunistic : .none)
                smtp = try SMTPSender(configuration: SMTPConfiguration(url: settings.url, username: settings.username, password: settings.password, tls: tls))
            }
            let results = await smtp!.send(messages: mails.map(\.1))
            for ((group, _), result) in zip(mails, results) {
                let outcome: AttemptOutcome
                switch result {
                case .success(let receipt):
                    if let rejected = receipt.rejectedRecipients.first {
                        outcome = .smtp(code: rejected.responseCode, reply: rejected.reply)
                    } else {
                        outcome = .http(status: 250, retryAfterMicros: nil)
                    }
                case .failure(let error):
                    if let code = error.responseCode, code >= 400 {
                        outcome = .smtp(code: code, reply: error.serverReply ?? error.message)
                    } else {
                        outcome = .transport(reason: error.description, retryable: error.kind != .invalidRequest)
                    }
                }
                try record(decide(outcome, group, now: now), group, now: now, tally: &tally)
            }
        }
        if !sentIDs.isEmpty {
            try queue.markSent(sentIDs, now: now)
            sentIDs = []
        }
        return tally
    }

    private func decide(_ outcome: AttemptOutcome, _ group: Group, now: Instant) -> DeliveryDecision {
        let policy = RetryPolicy(maxAttempts: group.channel.maxAttempts, maxAgeMicros: group.channel.maxAgeMicros)
        let attempts = (group.deliveries.map(\.attempts).max() ?? 0) + 1
        let oldest = group.deliveries.map(\.createdAt).min() ?? now
        return policy.decide(outcome, attempts: attempts, createdAt: oldest, now: now, jitter: Double.random(in: 0..<1, using: &generator))
    }

    private func record(_ decision: DeliveryDecision, _ group: Group, now: Instant, tally: inout Tally) throws {
        let name = group.channel.name, count = group.deliveries.count
        switch decision {
        case .sent:
            sentIDs += group.ids
            tally.sent += count
            tally.add(name, "sent", count)
        case .retry(let at, let reason):
            try queue.markFailed(group.ids, now: now, reason: reason, retryAt: at)
            tally.failed += count
            tally.add(name, "failed", count)
            log.warning("delivery failed, will retry", ["channel": name, "deliveries": "\(group.ids)", "reason": reason, "retry_at": at.iso8601])
        case .dead(let reason):
            try queue.markFailed(group.ids, now: now, reason: reason, retryAt: nil)
            tally.dead += count
            tally.add(name, "dead", count)
            log.error("delivery dead", ["channel": name, "deliveries": "\(group.ids)", "reason": reason])
        case .disableChannel(let reason):
            try queue.disableChannel(name, now: now, reason: reason)
            try queue.markFailed(group.ids, now: now, reason: reason, retryAt: nil)
            tally.dead += count
            tally.add(name, "dead", count)
            log.error("channel disabled", ["channel": name, "reason": reason])
        }
    }

    private func request(for group: Group, now: Instant) throws -> HTTPRequest {
        guard var url = group.channel.url else { throw CommandError.runtime("channel \(group.channel.name) has no url") }
        if group.channel.kind == .googlechat {
            url += (url.contains("?") ? "&" : "?") + "messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"
        }
        let body = Array((group.report?.body ?? ChannelPayload.json(for: group.channel.kind, notices: group.notices, language: group.channel.language)).utf8)
        var headers: [(name: String, value: String)] = [("Content-Type", "application/json; charset=utf-8")]
        let timestamp = now.seconds
        headers.append(("webhook-id", group.messageID))
        headers.append(("webhook-timestamp", String(timestamp)))
        if let secret = group.channel.secret {
            let signature = try WebhookSignature(secret: secret).signature(messageID: group.messageID, timestamp: Int(timestamp), body: body)
            headers.append(("webhook-signature", signature))
        }
        let timeout = Duration.microseconds(group.channel.timeoutMicros)
        return HTTPRequest(url: url, method: .post, headers: headers, body: body, timeout: timeout, connectTimeout: min(timeout, .seconds(5)))
    }

    private func mail(for group: Group, now: Instant) throws -> CurlTransport.MailMessage {
        guard let settings = rules.smtp else { throw CommandError.runtime("no smtp section in the rules") }
        let language = group.channel.language
        let tickets = Set(group.notices.map(\.ticketID))
        if let report = group.report {
            let message = InternetMessage(
                from: settings.from, to: [group.recipient], subject: report.subject, text: report.text, html: report.html,
                messageID: "slawatch.\(group.deliveries[0].id).\(UUID().uuidString.prefix(8).lowercased())", threadKey: report.thread, date: now)
            return CurlTransport.MailMessage(envelopeFrom: InternetMessage.address(settings.from), recipients: [group.recipient], data: message.rendered())
        }
        let message = InternetMessage(
            from: settings.from, to: [group.recipient], subject: MailContent.subject(group.notices, language: language),
            text: MailContent.text(group.notices, language: language), html: MailContent.html(group.notices, language: language),
            messageID: "slawatch.\(group.deliveries[0].id).\(UUID().uuidString.prefix(8).lowercased())",
            threadKey: tickets.count == 1 ? "slawatch.ticket.\(tickets.first!)" : nil, date: now)
        return CurlTransport.MailMessage(envelopeFrom: InternetMessage.address(settings.from), recipients: [group.recipient], data: message.rendered())
    }

    static func micros(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}
