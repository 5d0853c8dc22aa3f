import CurlTransport
import Foundation
import SlawatchCore
import SlawatchStore

/// Sends claimed deliveries and records what happened to each.
///
/// Deliveries that share a group key (a route's burst within `group_wait`) go out as one message.
/// Webhooks of every channel go out together on libcurl's multi interface; a channel with a rate
/// limit sends at most one message per `1/rate` seconds, and when more are due for one recipient
/// than that allows, they go as one folded message (``RateGate``). A claimed delivery made stale by
/// a later event of its ticket, or by the ticket's stop, is superseded instead of sent. E-mails of
/// a pass share one SMTP connection.
///
/// ``deliverDue(now:)`` is a pipeline of claims. The calling task claims and records, one
/// statement at a time on its database's connection (on that connection's thread). A task reads
/// each claim's notices, renders its messages and hands them to the senders' threads. While one
/// claim is on the wire and the next is being rendered, the calling task records the one before,
/// every outcome of a claim in one statement. Nothing is sent before it is claimed, and nothing is
/// recorded before its answer (or its failure) is in.
final class Dispatcher {
    let rules: RuleSet
    let database: any ConnectionProvider
    /// Who claims: a claim's lease is this worker's.
    let worker: String
    let output: (String) -> Void
    let log: Logger
    private var http: HTTPBatchSender?
    private var smtp: SMTPSender?
    /// What rate-limited channels send and when.
    private var rates = RateGate()
    private var generator = SystemRandomNumberGenerator()

    /// The first claim of a cycle is small, so that the first messages leave early; the next ones are
    /// large, so that a backlog costs few round trips.
    static let firstClaim = 200
    static let laterClaims = 1_000
    /// Bounded: a backlog larger than this many claims is worked off over the next cycles.
    static let maxClaims = 20

    struct Tally {
        var sent = 0, failed = 0, dead = 0, deferred = 0, superseded = 0
        var byChannel: [String: [String: Int]] = [:]
        mutating func add(_ channel: String, _ outcome: String, _ count: Int) {
            byChannel[channel, default: [:]][outcome, default: 0] += count
        }
    }

    init(
        rules: RuleSet, database: any ConnectionProvider, worker: String, output: @escaping (String) -> Void,
        log: Logger
    ) {
        self.rules = rules
        self.database = database
        self.worker = worker
        self.output = output
        self.log = log
    }

    /// Runs `body` with the delivery queue, on a connection's thread.
    private func queue<T>(_ body: (DeliveryQueue) throws -> T) async throws -> T {
        let worker = self.worker
        return try await database.withConnection { try body(DeliveryQueue(connection: $0, worker: worker)) }
    }

    /// A group of deliveries sent as one message.
    struct Group: Sendable {
        let key: String
        let channel: Channel
        let recipient: String
        var deliveries: [DeliveryQueue.Claimed]
        /// The folded message that carries these deliveries, when a rate limit folded them.
        var folded: FoldedMessage?
        /// When a rate limit lets the message leave; nil: at once.
        var notBefore: ContinuousClock.Instant?
        var ids: [Int64] { deliveries.map(\.id) }
        /// Stable across retries: the receiver drops a repeat by it.
        var messageID: String { folded?.id ?? "msg_slawatch_\(deliveries[0].id)" }

        init(key: String, channel: Channel, recipient: String, deliveries: [DeliveryQueue.Claimed]) {
            self.key = key
            self.channel = channel
            self.recipient = recipient
            self.deliveries = deliveries
        }
    }

    /// One claim on its way.
    private struct Pass {
        /// Deliveries whose channel is no longer in the rules.
        var orphans: [DeliveryQueue.Claimed] = []
        var rendering: Task<Rendered, Never>?
    }

    /// A claim's messages: those on their way, the lines of log channels to print, and the groups
    /// that could not be rendered, with the reason.
    private struct Rendered: Sendable {
        var unsendable: [(Group, String)] = []
        var logLines: [(Group, String)] = []
        var webhooks: [Group] = []
        var webhookResults: Task<[Result<HTTPResponse, TransportError>], Never>?
        var mails: [Group] = []
        var mailResults: Task<[Result<SMTPReceipt, TransportError>], Never>?
    }

    /// Claims, sends and records everything due at `now`, up to ``maxClaims`` claims.
    func deliverDue(now: Instant) async throws -> Tally {
        var tally = Tally()
        var inFlight: Pass?
        do {
            for n in 0..<Self.maxClaims {
                let limit = n == 0 ? Self.firstClaim : Self.laterClaims
                let fresh = try await queue { try $0.claim(now: now, limit: limit) }
                // A rate-limited channel's deliveries wait (briefly) for the next claims, to be
                // folded with the rest of the backlog.
                let more = fresh.count == limit && n + 1 < Self.maxClaims
                let claimed = rates.gather(fresh, more: more, channels: rules.channels)
                if fresh.isEmpty && claimed.isEmpty { break }
                if claimed.isEmpty { continue }
                let previous = inFlight
                inFlight = try await start(claimed, now: now, tally: &tally)
                if let previous { try await finish(previous, now: now, tally: &tally) }
            }
            let held = rates.release()
            if !held.isEmpty {
                let previous = inFlight
                inFlight = try await start(held, now: now, tally: &tally)
                if let previous { try await finish(previous, now: now, tally: &tally) }
            }
            if let last = inFlight {
                inFlight = nil
                try await finish(last, now: now, tally: &tally)
            }
        } catch {
            // What is on the wire is still answered and, if the database allows, recorded; otherwise
            // its lease runs out and it is sent again, a repeat the receiver drops by its webhook-id.
            if let pass = inFlight { try? await finish(pass, now: now, tally: &tally) }
            // Held for folding and never sent: given back at once if the database allows.
            let held = rates.release().map(\.id)
            if !held.isEmpty { try? await queue { try $0.release(held, dueAt: now) } }
            throw error
        }
        return tally
    }

    /// Sends `claimed` and records the outcomes.
    func dispatch(_ claimed: [DeliveryQueue.Claimed], now: Instant) async throws -> Tally {
        var tally = Tally()
        let pass = try await start(claimed, now: now, tally: &tally)
        try await finish(pass, now: now, tally: &tally)
        return tally
    }

    /// Supersedes what is stale, groups the rest, folds what a rate limit does not allow one by one,
    /// gives back what would wait too long for its slot, and sets the rest on its way.
    private func start(_ claimed: [DeliveryQueue.Claimed], now: Instant, tally: inout Tally) async throws -> Pass {
        var pass = Pass()
        let superseded = try await queue { try $0.supersede(claimed.map(\.id), now: now) }
        var claimed = claimed
        if !superseded.isEmpty {
            let gone = Set(superseded.map(\.id))
            claimed.removeAll { gone.contains($0.id) }
            for s in superseded {
                tally.superseded += 1
                tally.add(s.channel, "superseded", 1)
            }
            log.info(
                "deliveries superseded", ["deliveries": "\(superseded.map(\.id))", "reason": superseded[0].reason])
        }
        var groups: [Group] = []
        var index: [String: Int] = [:]
        for d in claimed {
            guard let channel = rules.channels[d.channel] else {
                pass.orphans.append(d)
                continue
            }
            if let i = index[d.groupKey] {
                groups[i].deliveries.append(d)
            } else {
                index[d.groupKey] = groups.count
                groups.append(Group(key: d.groupKey, channel: channel, recipient: d.recipient, deliveries: [d]))
            }
        }
        // Rate limits: folded, waited for within the pass, and only beyond that given back.
        let plan = rates.plan(groups, now: now)
        for (ids, slot) in plan.postponed {
            try await queue { try $0.release(ids, dueAt: slot) }
            tally.deferred += ids.count
        }
        let sendable = plan.groups
        guard !sendable.isEmpty else { return pass }
        var folds: [String: (deliveries: Int, messages: Int)] = [:]
        for group in sendable where group.folded != nil {
            folds[group.channel.name, default: (0, 0)].deliveries += group.deliveries.count
            folds[group.channel.name, default: (0, 0)].messages += 1
        }
        for (channel, fold) in folds.sorted(by: { $0.key < $1.key }) {
            log.info(
                "deliveries folded under the channel's rate limit",
                ["channel": channel, "deliveries": String(fold.deliveries), "messages": String(fold.messages)])
        }
        let carried = sendable.filter { $0.deliveries.count > 1 || $0.folded != nil }.map { ($0.ids, $0.messageID) }
        if !carried.isEmpty { try await queue { try $0.carry(carried) } }

        // Both senders exist before either batch leaves, so that a failure to start one cannot strand
        // messages already on the wire.
        let settings = rules.smtp
        let http = sendable.contains { ![.log, .email].contains($0.channel.kind) } ? try httpSender() : nil
        let smtp = settings != nil && sendable.contains { $0.channel.kind == .email } ? try smtpSender() : nil
        let toRender = sendable
        pass.rendering = Task.detached {
            Dispatcher.render(toRender, now: now, smtp: settings, http: http, smtpSender: smtp)
        }
        return pass
    }

    /// Waits for a pass's answers, decides each group's fate and records them all in one statement.
    private func finish(_ pass: Pass, now: Instant, tally: inout Tally) async throws {
        var decided: [(Group, DeliveryDecision)] = []
        if let rendering = pass.rendering {
            let rendered = await rendering.value
            for (group, line) in rendered.logLines {
                output(line + "\n")
                decided.append((group, .sent))
            }
            for (group, reason) in rendered.unsendable { decided.append((group, .dead(reason: reason))) }
            if let task = rendered.webhookResults {
                let at = Date(timeIntervalSince1970: Double(now.microseconds) / 1e6)
                for (group, result) in zip(rendered.webhooks, await task.value) {
                    let outcome: AttemptOutcome
                    switch result {
                    case .success(let response):
                        let after = response.retryAfter(now: at)
                        outcome = .http(status: response.statusCode, retryAfterMicros: after.map { Self.micros($0) })
                    case .failure(let error):
                        outcome = .transport(reason: error.description, retryable: error.kind != .invalidRequest)
                    }
                    decided.append((group, decide(outcome, group, now: now)))
                }
            }
            if let task = rendered.mailResults {
                for (group, result) in zip(rendered.mails, await task.value) {
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
                    decided.append((group, decide(outcome, group, now: now)))
                }
            }
        }
        var outcomes: [DeliveryQueue.Outcome] = []
        outcomes.reserveCapacity(pass.orphans.count + decided.count)
        for d in pass.orphans {
            outcomes.append(.failed(d.id, reason: "channel \(d.channel) is no longer in the rules", retryAt: nil))
            tally.dead += 1
            tally.add(d.channel, "dead", 1)
        }
        for (group, decision) in decided {
            try await account(decision, group, now: now, tally: &tally, into: &outcomes)
        }
        try await queue { [outcomes] in try $0.record(outcomes, now: now) }
    }

    private func httpSender() throws -> HTTPBatchSender {
        if let http { return http }
        let sender = try HTTPBatchSender()
        http = sender
        return sender
    }

    private func smtpSender() throws -> SMTPSender {
        if let smtp { return smtp }
        guard let settings = rules.smtp else { throw CommandError.runtime("no smtp section in the rules") }
        let tls: SMTPConfiguration.TLS =
            settings.tls == .required ? .required : (settings.tls == .opportunistic ? .opportunistic : .none)
        let sender = try SMTPSender(
            configuration: SMTPConfiguration(
                url: settings.url, username: settings.username, password: settings.password, tls: tls))
        smtp = sender
        return sender
    }

    private func decide(_ outcome: AttemptOutcome, _ group: Group, now: Instant) -> DeliveryDecision {
        let policy = RetryPolicy(maxAttempts: group.channel.maxAttempts, maxAgeMicros: group.channel.maxAgeMicros)
        let attempts = (group.deliveries.map(\.attempts).max() ?? 0) + 1
        let oldest = group.deliveries.map(\.createdAt).min() ?? now
        return policy.decide(
            outcome, attempts: attempts, createdAt: oldest, now: now,
            jitter: Double.random(in: 0..<1, using: &generator))
    }

    /// Counts and logs a group's fate and adds its deliveries' outcomes; a 410 disables the channel now.
    private func account(
        _ decision: DeliveryDecision, _ group: Group, now: Instant, tally: inout Tally,
        into outcomes: inout [DeliveryQueue.Outcome]
    ) async throws {
        let name = group.channel.name
        let count = group.deliveries.count
        switch decision {
        case .sent:
            outcomes += group.ids.map(DeliveryQueue.Outcome.sent)
            tally.sent += count
            tally.add(name, "sent", count)
        case .retry(let at, let reason):
            outcomes += group.ids.map { .failed($0, reason: reason, retryAt: at) }
            tally.failed += count
            tally.add(name, "failed", count)
            log.warning(
                "delivery failed, will retry",
                ["channel": name, "deliveries": "\(group.ids)", "reason": reason, "retry_at": at.iso8601])
        case .dead(let reason):
            outcomes += group.ids.map { .failed($0, reason: reason, retryAt: nil) }
            tally.dead += count
            tally.add(name, "dead", count)
            log.error("delivery dead", ["channel": name, "deliveries": "\(group.ids)", "reason": reason])
        case .disableChannel(let reason):
            try await queue { try $0.disableChannel(name, now: now, reason: reason) }
            outcomes += group.ids.map { .failed($0, reason: reason, retryAt: nil) }
            tally.dead += count
            tally.add(name, "dead", count)
            log.error("channel disabled", ["channel": name, "reason": reason])
        }
    }

    /// What a group's message says: its notices, or the report rendered when it was scheduled.
    private struct Content {
        var notices: [Notice] = []
        var report: ReportPayload?

        init(_ group: Group, _ decoder: JSONDecoder) throws {
            for d in group.deliveries {
                do {
                    if let notice = try d.notice(decoder) { notices.append(notice) }
                    if report == nil { report = try d.report(decoder) }
                } catch {
                    throw CommandError.runtime("delivery \(d.id): its stored notice or report cannot be read: \(error)")
                }
            }
        }
    }

    /// Renders `groups` and hands their messages to the senders. It touches neither the database nor
    /// the dispatcher, so that it can run beside the thread that does.
    private static func render(
        _ groups: [Group], now: Instant, smtp settings: SMTPSettings?, http: HTTPBatchSender?, smtpSender: SMTPSender?
    ) -> Rendered {
        var rendered = Rendered()
        var requests: [(ContinuousClock.Instant?, HTTPRequest)] = []
        var messages: [(ContinuousClock.Instant?, CurlTransport.MailMessage)] = []
        var signers: [String: WebhookSignature] = [:]
        let decoder = JSONDecoder()
        // In the order they may leave, so that each wave of sends is a run of them.
        let clock = ContinuousClock.now
        let groups = groups.enumerated().sorted {
            ($0.element.notBefore ?? clock, $0.offset) < ($1.element.notBefore ?? clock, $1.offset)
        }.map(\.element)
        for group in groups {
            do {
                let content = try Content(group, decoder)
                let at = now + micros(max(.zero, (group.notBefore ?? clock) - clock))
                switch group.channel.kind {
                case .log:
                    rendered.logLines.append(
                        (
                            group,
                            JSONText.object([
                                ("channel", JSONText.string(group.channel.name)),
                                ("webhook_id", JSONText.string(group.messageID)),
                                (
                                    "message",
                                    group.folded?.body ?? content.report?.body
                                        ?? ChannelPayload.json(
                                            for: .webhook, notices: content.notices, language: group.channel.language)
                                ),
                            ])
                        ))
                case .email:
                    messages.append((group.notBefore, try mail(for: group, content, smtp: settings, now: at)))
                    rendered.mails.append(group)
                default:
                    requests.append((group.notBefore, try request(for: group, content, now: at, signers: &signers)))
                    rendered.webhooks.append(group)
                }
            } catch {
                rendered.unsendable.append((group, "\(error)"))
            }
        }
        if let http, !requests.isEmpty {
            rendered.webhookResults = Task { await inWaves(requests) { await http.send($0) } }
        }
        if let smtpSender, !messages.isEmpty {
            rendered.mailResults = Task { await inWaves(messages) { await smtpSender.send(messages: $0) } }
        }
        return rendered
    }

    /// Sends `items`, ordered by the instant each may leave, one wave per instant: a rate-limited
    /// channel's later parts wait for their slot (bounded by ``RateGate/maxWait``).
    private static func inWaves<Item: Sendable, Answer: Sendable>(
        _ items: [(ContinuousClock.Instant?, Item)], _ send: ([Item]) async -> [Answer]
    ) async -> [Answer] {
        var answers: [Answer] = []
        var start = 0
        while start < items.count {
            var end = start + 1
            while end < items.count && items[end].0 == items[start].0 { end += 1 }
            if let at = items[start].0 { try? await Task.sleep(until: at, clock: .continuous) }
            answers += await send(items[start..<end].map(\.1))
            start = end
        }
        return answers
    }

    private static func request(
        for group: Group, _ content: Content, now: Instant, signers: inout [String: WebhookSignature]
    ) throws -> HTTPRequest {
        guard var url = group.channel.url else {
            throw CommandError.runtime("channel \(group.channel.name) has no url")
        }
        if group.channel.kind == .googlechat {
            url += (url.contains("?") ? "&" : "?") + "messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"
        }
        let body = Array(
            (group.folded?.body ?? content.report?.body
                ?? ChannelPayload.json(
                    for: group.channel.kind, notices: content.notices, language: group.channel.language)).utf8)
        var headers: [(name: String, value: String)] = [("Content-Type", "application/json; charset=utf-8")]
        let timestamp = now.seconds
        headers.append(("webhook-id", group.messageID))
        headers.append(("webhook-timestamp", String(timestamp)))
        if let secret = group.channel.secret {
            let signer = try signers[group.channel.name] ?? WebhookSignature(secret: secret)
            signers[group.channel.name] = signer
            headers.append(
                (
                    "webhook-signature",
                    try signer.signature(messageID: group.messageID, timestamp: Int(timestamp), body: body)
                ))
        }
        let timeout = Duration.microseconds(group.channel.timeoutMicros)
        return HTTPRequest(
            url: url, method: .post, headers: headers, body: body, timeout: timeout,
            connectTimeout: min(timeout, .seconds(5)))
    }

    private static func mail(for group: Group, _ content: Content, smtp settings: SMTPSettings?, now: Instant) throws
        -> CurlTransport.MailMessage
    {
        guard let settings else { throw CommandError.runtime("no smtp section in the rules") }
        let language = group.channel.language
        let tickets = Set(content.notices.map(\.ticketID))
        if let report = content.report {
            let message = InternetMessage(
                from: settings.from, to: [group.recipient], subject: report.subject, text: report.text,
                html: report.html,
                messageID: "slawatch.\(group.deliveries[0].id).\(UUID().uuidString.prefix(8).lowercased())",
                threadKey: report.thread, date: now)
            return CurlTransport.MailMessage(
                envelopeFrom: InternetMessage.address(settings.from), recipients: [group.recipient],
                data: message.rendered())
        }
        let message = InternetMessage(
            from: settings.from, to: [group.recipient],
            subject: MailContent.subject(content.notices, language: language),
            text: MailContent.text(content.notices, language: language),
            html: MailContent.html(content.notices, language: language),
            messageID: "slawatch.\(group.deliveries[0].id).\(UUID().uuidString.prefix(8).lowercased())",
            threadKey: tickets.count == 1 ? "slawatch.ticket.\(tickets.first!)" : nil, date: now)
        return CurlTransport.MailMessage(
            envelopeFrom: InternetMessage.address(settings.from), recipients: [group.recipient],
            data: message.rendered())
    }

    static func micros(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}
