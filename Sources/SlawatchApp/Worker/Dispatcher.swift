import CurlTransport
import Foundation
import SlawatchCore
import SlawatchStore
import Synchronization

/// Sends claimed deliveries and records what happened to each.
///
/// Deliveries that share a group key (a route's burst within `group_wait`) go out as one message.
/// Webhooks of every channel go out together on libcurl's multi interface; a channel with a rate
/// limit sends at most one message per `1/rate` seconds, and when more are due for one recipient
/// than that allows, they go as one folded message (``RateGate``, decided in ``plan(_:now:)``). A
/// claimed delivery made stale by a later event of its ticket, or by the ticket's stop, is
/// superseded instead of sent. E-mails share one SMTP connection.
///
/// ``deliverDue(clock:stop:)`` claims small batches (``claimSize`` up to ``maxClaimSize``, by the
/// rate answers come in) and keeps a bounded number of messages on their way, claiming more as
/// answers come in. Each answer is recorded as soon as it
/// is in: the answers that arrived together go in one statement, at most ``flushEveryNanos`` apart,
/// so that a worker killed at any moment leaves only the messages then in flight to be sent again.
/// The leases of held deliveries are renewed on a connection of their own (``LeaseKeeper``), and a
/// message whose lease the worker no longer certainly holds is not sent. Every attempt is timed by
/// itself: `webhook-timestamp` and the signature are made as the transfer starts, and backoff and
/// `Retry-After` count from the instant its answer arrived (``SendClock``).
final class Dispatcher {
    let rules: RuleSet
    let database: any ConnectionProvider
    /// Where leases are renewed: a connection other than `database`'s, so that a renewal never waits
    /// behind a claim or a record.
    let renewals: any ConnectionProvider
    /// Who claims: a claim's lease is this worker's.
    let worker: String
    let output: (String) -> Void
    let log: Logger
    private var http: HTTPBatchSender?
    private var smtp: SMTPSender?
    /// What rate-limited channels send and when.
    private var rates = RateGate()
    private var generator = SystemRandomNumberGenerator()
    let leases = LeaseKeeper()

    /// Deliveries claimed at a time: at least this many, and about a quarter of a second's worth at
    /// the rate answers come in, at most ``maxClaimSize``: a claim is never held long before its
    /// messages leave, whether the receivers are slow or fast.
    static let claimSize = 100
    static let maxClaimSize = 1_000
    /// Messages on their way (claimed, not answered yet) before the next claim waits for answers:
    /// three claims' worth.
    static let inFlightClaims = 3
    /// Answers that came in are recorded at least this often.
    static let flushEveryNanos: UInt64 = 50_000_000
    /// Bounded: a backlog larger than this many claims is worked off by the next call.
    static let maxClaims = 1_000

    struct Tally {
        var sent = 0, failed = 0, dead = 0, deferred = 0, superseded = 0
        /// Not sent because the lease was no longer certainly held; another attempt sends them.
        var withdrawn = 0
        var byChannel: [String: [String: Int]] = [:]
        mutating func add(_ channel: String, _ outcome: String, _ count: Int) {
            byChannel[channel, default: [:]][outcome, default: 0] += count
        }
        mutating func merge(_ other: Tally) {
            sent += other.sent
            failed += other.failed
            dead += other.dead
            deferred += other.deferred
            superseded += other.superseded
            withdrawn += other.withdrawn
            for (channel, counts) in other.byChannel {
                for (outcome, count) in counts { add(channel, outcome, count) }
            }
        }
        var isEmpty: Bool { sent + failed + dead + deferred + withdrawn + superseded == 0 }
    }

    init(
        rules: RuleSet, database: any ConnectionProvider, renewals: (any ConnectionProvider)? = nil, worker: String,
        output: @escaping (String) -> Void, log: Logger
    ) {
        self.rules = rules
        self.database = database
        self.renewals = renewals ?? database
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
        /// The id an earlier attempt of these deliveries went out under (recorded before it left):
        /// this message is that one again, carrying every one of them still to be sent; or, when
        /// part of them is not here, an id of this part's own.
        var stored: String?
        var ids: [Int64] { deliveries.map(\.id) }
        /// Stable across retries: the receiver drops a repeat by it. A fresh message's id is its first
        /// delivery's, or a folded message's own; it is recorded before the first attempt
        /// (``DeliveryQueue/carry(_:)``), and every later attempt goes out under it.
        var messageID: String { stored ?? folded?.id ?? "msg_slawatch_\(deliveries[0].id)" }
        /// The e-mail's Message-ID (left of the `@`): ``messageID`` under the mail's own prefix, so
        /// that mail and webhook follow one rule (`slawatch.<delivery id>`, `slawatch.fold_<hash>`).
        var mailID: String {
            let id = messageID
            let prefix = "msg_slawatch_"
            return "slawatch." + (id.hasPrefix(prefix) ? String(id.dropFirst(prefix.count)) : id)
        }

        init(
            key: String, channel: Channel, recipient: String, deliveries: [DeliveryQueue.Claimed],
            stored: String? = nil
        ) {
            self.key = key
            self.channel = channel
            self.recipient = recipient
            self.deliveries = deliveries
            self.stored = stored
        }
    }

    /// What came of one message, as the senders' threads hand it over.
    private struct Answer: Sendable {
        enum Result: Sendable {
            case http(Swift.Result<HTTPResponse, TransportError>)
            case mail(Swift.Result<SMTPReceipt, TransportError>)
            /// A log channel's line, to print.
            case logged(String)
            case unsendable(String)
        }
        let pass: Int
        let group: Int
        let result: Result
        /// When it came in (the wall clock).
        let at: Date
    }

    /// Answers handed over by the senders' threads, taken by the dispatcher's task, which waits for
    /// the next one (``wait(upTo:)``) rather than polling.
    private final class Answers: Sendable {
        private struct State {
            var items: [Answer] = []
            var waiter: CheckedContinuation<Void, Never>?
            /// Which wait a timer belongs to: a timer of an earlier wait never ends a later one.
            var wait = 0
        }
        private let state = Mutex(State())

        func put(_ answer: Answer) {
            let waiter = state.withLock { state in
                state.items.append(answer)
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }

        func take() -> [Answer] { state.withLock { state in defer { state.items.removeAll() }; return state.items } }

        /// Returns when an answer is in, at once if one is, or after `nanoseconds` at the latest.
        func wait(upTo nanoseconds: UInt64) async {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let wait = state.withLock { state -> Int? in
                    guard state.items.isEmpty else { return nil }
                    state.wait += 1
                    state.waiter = continuation
                    return state.wait
                }
                guard let wait else { return continuation.resume() }
                Task { [self] in
                    try? await Task.sleep(nanoseconds: nanoseconds)
                    let waiter = state.withLock { state in
                        guard state.wait == wait else { return nil as CheckedContinuation<Void, Never>? }
                        defer { state.waiter = nil }
                        return state.waiter
                    }
                    waiter?.resume()
                }
            }
        }
    }

    /// A claim on its way: its groups, and how many have not been answered yet.
    private struct Pass {
        var groups: [Group]
        var unanswered: Int
    }

    /// The state of one ``deliverDue(clock:stop:)`` or ``dispatch(_:clock:)``.
    private struct Flight {
        var passes: [Int: Pass] = [:]
        var nextPass = 0
        /// Deliveries claimed and not answered yet.
        var unanswered = 0
        var outcomes: [DeliveryQueue.Outcome] = []
        var lastFlush = LeaseKeeper.clock()
        var tally = Tally()
        let answers = Answers()
        /// Deliveries answered, and since when, for the claim size.
        var answered = 0
        let started = LeaseKeeper.clock()

        /// A quarter of a second's worth of deliveries at the rate answers came so far.
        var claimSize: Int {
            let seconds = Double(LeaseKeeper.clock() - started) / 1e9
            guard answered >= Dispatcher.claimSize, seconds > 0 else { return Dispatcher.claimSize }
            let worth = Int(Double(answered) / seconds / 4)
            return min(max(worth, Dispatcher.claimSize), Dispatcher.maxClaimSize)
        }
        var inFlightLimit: Int { claimSize * Dispatcher.inFlightClaims }
    }

    /// Claims, sends and records everything due by `clock` (up to ``maxClaims`` claims), until
    /// nothing is due or `stop` is requested; what is on its way then is still answered and recorded.
    func deliverDue(clock: SendClock, stop: ShutdownRequest? = nil) async throws -> Tally {
        var claims = 0
        try await queue { try $0.prepareSession() }
        do {
            return try await fly(clock: clock) { flight in
                guard claims < Self.maxClaims, stop?.isRequested != true else {
                    try await self.startHeld(clock: clock, flight: &flight)
                    return false
                }
                guard flight.unanswered < flight.inFlightLimit else { return true }
                claims += 1
                let sent = LeaseKeeper.clock()
                let size = flight.claimSize
                var claimed = try await self.queue { try $0.claim(now: clock.now(), limit: size) }
                guard !claimed.isEmpty else {
                    try await self.startHeld(clock: clock, flight: &flight)
                    return false
                }
                let full = claimed.count == size
                // One of this worker's own messages on its way, claimed again after its lease ran out in
                // the database: it stays with the send in flight (this claim renewed its lease).
                let fresh = self.leases.notHeld(claimed.map(\.id))
                if fresh.count < claimed.count {
                    claimed.removeAll { !fresh.contains($0.id) }
                    if claimed.isEmpty { return true }
                }
                self.leases.hold(claimed.map(\.id), sent: sent)
                // A rate-limited channel's deliveries wait (briefly) for the next claims, to be folded
                // with the rest of the backlog; each message goes by the leases of its own deliveries.
                let now = self.rates.gather(
                    claimed, more: full && claims < Self.maxClaims, channels: self.rules.channels)
                if !now.isEmpty { try await self.start(now, clock: clock, flight: &flight) }
                return true
            }
        } catch {
            // Held for folding and never sent: given back at once if the database allows.
            let held = rates.release().map(\.id)
            if !held.isEmpty {
                leases.release(held)
                _ = try? await queue { try $0.release(held, dueAt: nil) }
            }
            throw error
        }
    }

    /// Sets on their way the deliveries held to be folded with later claims, when no claim follows.
    private func startHeld(clock: SendClock, flight: inout Flight) async throws {
        let held = rates.release()
        guard !held.isEmpty else { return }
        try await start(held, clock: clock, flight: &flight)
    }

    /// Sends `claimed` (claimed by the caller from `sent` on, monotonic nanoseconds) and records
    /// the outcomes.
    func dispatch(_ claimed: [DeliveryQueue.Claimed], claimedFrom sent: UInt64, clock: SendClock) async throws -> Tally
    {
        leases.hold(claimed.map(\.id), sent: sent)
        return try await fly(clock: clock) { flight in
            try await self.start(claimed, clock: clock, flight: &flight)
            return false
        }
    }

    /// The loop of a flight: `feed` claims more when it can (returning whether there may be more to
    /// claim later); answers are taken as they come and recorded at most
    /// ``flushEveryNanos`` apart. A database failure stops the claims; what is on its way is still
    /// answered and, if the database allows, recorded; the failure is then thrown.
    private func fly(clock: SendClock, _ feed: (inout Flight) async throws -> Bool) async throws -> Tally {
        var flight = Flight()
        let renewing = Task { [leases, renewals, worker, log] in
            await leases.keepRenewing(on: renewals, worker: worker, log: log)
        }
        defer { renewing.cancel() }
        var failure: (any Error)?
        var feeding = true
        while true {
            if feeding && failure == nil {
                do {
                    feeding = try await feed(&flight)
                } catch {
                    failure = error
                }
                if feeding && flight.unanswered < flight.inFlightLimit { continue }
            }
            let answers = flight.answers.take()
            for answer in answers {
                do {
                    try await take(answer, clock: clock, flight: &flight)
                } catch {
                    if failure == nil { failure = error }
                }
            }
            let due = LeaseKeeper.clock() - flight.lastFlush >= Self.flushEveryNanos
            if !flight.outcomes.isEmpty && (due || flight.passes.isEmpty) {
                do {
                    try await flush(&flight)
                } catch {
                    // Kept, and recorded once the database answers again (below).
                    if failure == nil { failure = error }
                }
            }
            if flight.passes.isEmpty && (!feeding || failure != nil) { break }
            if answers.isEmpty {
                // Woken by the next answer; at the latest when the answers taken are due to be
                // recorded, or after a flush period (what is held for folding, a failed sender).
                let since = LeaseKeeper.clock() - flight.lastFlush
                let flushIn = Self.flushEveryNanos - min(since, Self.flushEveryNanos)
                let wait = flight.outcomes.isEmpty ? Self.flushEveryNanos : max(flushIn, 1_000_000)
                await flight.answers.wait(upTo: wait)
            }
        }
        if !flight.outcomes.isEmpty { await recordLate(&flight) }
        if let failure { throw failure }
        return flight.tally
    }

    /// How long answers that could not be recorded (the database went away) are kept, to be recorded
    /// once it answers again: about a lease.
    static let recordLateNanos: UInt64 = 10_000_000_000

    /// Records the answers a database failure left unrecorded, on a new connection, trying every
    /// second for up to ``recordLateNanos``: a delivery stays this worker's (its `claimed_by`) until
    /// another worker claims it after its lease ran out, so a database that was away for less than
    /// that (a restart, a moment of refused connections) costs no repeat of a message that was
    /// answered meanwhile. Past that they are given up: their leases run out and they are sent again.
    private func recordLate(_ flight: inout Flight) async {
        let until = LeaseKeeper.clock() + Self.recordLateNanos
        while true {
            do {
                // The leases too: renewed again, they keep other workers off these deliveries meanwhile.
                try? await renewals.repair()
                try await database.repair()
                let count = flight.outcomes.count
                try await flush(&flight)
                log.info("answers recorded after the database came back", ["deliveries": String(count)])
                return
            } catch {
                guard LeaseKeeper.clock() < until else { break }
                try? await Task.sleep(nanoseconds: 1_000_000_000)
            }
        }
        log.warning(
            "answers not recorded: the database is unavailable; their messages are sent again",
            ["deliveries": String(flight.outcomes.count)])
        leases.release(flight.outcomes.map(\.id))
        flight.outcomes.removeAll()
    }

    private func flush(_ flight: inout Flight) async throws {
        let outcomes = flight.outcomes
        flight.lastFlush = LeaseKeeper.clock()
        try await queue { try $0.record(outcomes) }
        leases.release(outcomes.map(\.id))
        flight.outcomes.removeAll(keepingCapacity: true)
    }

    /// Groups deliveries by their group key and decides which groups go when (``RateGate``): a
    /// rate-limited channel's messages beyond its budget are folded, each part waiting for its slot,
    /// and only what would wait too long is given back, due then. Deliveries of channels no longer
    /// in the rules are `orphans`.
    ///
    /// A delivery attempted before is grouped by the id of the message that carried it, never with
    /// fresh ones nor refolded with others: a message id always carries the same deliveries as its
    /// first attempt or fewer of them (README, 'What a receiver can rely on').
    func plan(_ claimed: [DeliveryQueue.Claimed], now: Instant) -> (
        sendable: [Group], deferred: [(ids: [Int64], dueAt: Instant)], orphans: [DeliveryQueue.Claimed]
    ) {
        var groups: [Group] = []
        var orphans: [DeliveryQueue.Claimed] = []
        var index: [String: Int] = [:]
        for d in claimed {
            guard let channel = rules.channels[d.channel] else {
                orphans.append(d)
                continue
            }
            // "message …" is never a group key: those begin with "event", "route", "report" or "manual".
            let key = d.messageID.map { "message " + $0 } ?? d.groupKey
            if let i = index[key] {
                groups[i].deliveries.append(d)
            } else {
                index[key] = groups.count
                groups.append(
                    Group(key: key, channel: channel, recipient: d.recipient, deliveries: [d], stored: d.messageID))
            }
        }
        for i in groups.indices where groups[i].stored.map(FoldedMessage.isFold) == true {
            groups[i].folded = RateGate.refold(groups[i])
        }
        let plan = rates.plan(groups, now: now)
        return (plan.groups, plan.postponed, orphans)
    }

    /// Plans `claimed`, gives back what a rate limit does not allow yet, and sets the rest on its way.
    private func start(_ claimed: [DeliveryQueue.Claimed], clock: SendClock, flight: inout Flight) async throws {
        let now = clock.now()
        var claimed = claimed
        // A message attempted before goes again whole: the rest of its deliveries, when free, join it.
        let stored = Array(Set(claimed.compactMap(\.messageID)))
        if !stored.isEmpty {
            let sent = LeaseKeeper.clock()
            let rest = try await queue { try $0.claimRest(of: stored, except: claimed.map(\.id)) }
            // One of this worker's own messages on its way, claimed again: it stays with that send.
            let fresh = leases.notHeld(rest.map(\.id))
            let joining = rest.filter { fresh.contains($0.id) }
            if !joining.isEmpty {
                leases.hold(joining.map(\.id), sent: sent)
                claimed = (claimed + joining).sorted { $0.id < $1.id }
            }
        }
        let superseded = try await queue { try $0.supersede(claimed.map(\.id), now: now) }
        if !superseded.isEmpty {
            let gone = Set(superseded.map(\.id))
            claimed.removeAll { gone.contains($0.id) }
            leases.release(gone)
            for s in superseded {
                flight.tally.superseded += 1
                flight.tally.add(s.channel, "superseded", 1)
            }
            log.info(
                "deliveries superseded", ["deliveries": "\(superseded.map(\.id))", "reason": superseded[0].reason])
        }
        var (sendable, deferred, orphans) = plan(claimed, now: now)
        // A message attempted before whose other deliveries are still to be sent and not here (held
        // by another worker) would go without part of itself: this part goes under an id of its own.
        let again = sendable.compactMap(\.stored)
        if !again.isEmpty {
            let split = try await queue { try $0.scattered(again, except: claimed.map(\.id)) }
            for i in sendable.indices {
                if let id = sendable[i].stored, split.contains(id) {
                    sendable[i].stored = id + "_part_\(sendable[i].deliveries[0].id)"
                }
            }
        }
        for (ids, slot) in deferred {
            try await queue { try $0.release(ids, dueAt: slot) }
            leases.release(ids)
            flight.tally.deferred += ids.count
        }
        for d in orphans {
            flight.outcomes.append(
                .failed(d.id, reason: "channel \(d.channel) is no longer in the rules", retryAt: nil, at: now))
            flight.tally.dead += 1
            flight.tally.add(d.channel, "dead", 1)
        }
        guard !sendable.isEmpty else { return }
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
        // Every new message's id is recorded before it leaves, so that its retries go out under it.
        let carried = sendable.filter { g in g.deliveries.contains { $0.messageID != g.messageID } }.map {
            ($0.ids, $0.messageID)
        }
        if !carried.isEmpty { try await queue { try $0.carry(carried) } }
        // Both senders exist before either batch leaves, so that a failure to start one cannot strand
        // messages already on the wire.
        let settings = rules.smtp
        let http = sendable.contains { ![.log, .email].contains($0.channel.kind) } ? try httpSender() : nil
        let smtp = settings != nil && sendable.contains { $0.channel.kind == .email } ? try smtpSender() : nil
        let pass = flight.nextPass
        flight.nextPass += 1
        flight.passes[pass] = Pass(groups: sendable, unanswered: sendable.count)
        flight.unanswered += sendable.reduce(0) { $0 + $1.deliveries.count }
        let answers = flight.answers
        let leases = self.leases
        Task.detached {
            Dispatcher.render(
                sendable, pass: pass, clock: clock, smtp: settings, http: http, smtpSender: smtp, answers: answers,
                allowed: { leases.allows($0) })
        }
    }

    /// Decides the fate of one answered group and adds its outcomes to the flight.
    private func take(_ answer: Answer, clock: SendClock, flight: inout Flight) async throws {
        guard var pass = flight.passes[answer.pass] else { return }
        let group = pass.groups[answer.group]
        pass.unanswered -= 1
        flight.passes[answer.pass] = pass.unanswered == 0 ? nil : pass
        flight.unanswered -= group.deliveries.count
        flight.answered += group.deliveries.count
        let at = clock.instant(answer.at)
        let outcome: AttemptOutcome
        switch answer.result {
        case .logged(let line):
            output(line + "\n")
            return try await account(.sent, group, now: at, flight: &flight)
        case .unsendable(let reason):
            return try await account(.dead(reason: reason), group, now: at, flight: &flight)
        case .http(.success(let response)):
            let after = response.retryAfter(now: Date(timeIntervalSince1970: Double(at.microseconds) / 1e6))
            outcome = .http(status: response.statusCode, retryAfterMicros: after.map { Self.micros($0) })
        case .http(.failure(let error)) where error.kind == .withdrawn, .mail(.failure(let error))
        where error.kind == .withdrawn:
            _ = error
            // The lease is no longer certainly this worker's: given back (if the database allows;
            // otherwise the lease runs out), whoever claims it next sends it.
            leases.release(group.ids)
            _ = try? await queue { try $0.release(group.ids, dueAt: nil) }
            flight.tally.withdrawn += group.deliveries.count
            log.warning(
                "delivery not sent: its lease ran out before it could leave",
                ["channel": group.channel.name, "deliveries": "\(group.ids)"])
            return
        case .http(.failure(let error)):
            outcome = .transport(reason: error.description, retryable: error.kind != .invalidRequest)
        case .mail(.success(let receipt)):
            if let rejected = receipt.rejectedRecipients.first {
                outcome = .smtp(code: rejected.responseCode, reply: rejected.reply)
            } else {
                outcome = .http(status: 250, retryAfterMicros: nil)
            }
        case .mail(.failure(let error)):
            if let code = error.responseCode, code >= 400 {
                outcome = .smtp(code: code, reply: error.serverReply ?? error.message)
            } else {
                outcome = .transport(reason: error.description, retryable: error.kind != .invalidRequest)
            }
        }
        try await account(decide(outcome, group, now: at), group, now: at, flight: &flight)
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

    /// Counts and logs a group's fate and adds its deliveries' outcomes, answered at `now`; a 410
    /// disables the channel now.
    private func account(_ decision: DeliveryDecision, _ group: Group, now: Instant, flight: inout Flight)
        async throws
    {
        let name = group.channel.name
        let count = group.deliveries.count
        switch decision {
        case .sent:
            flight.outcomes += group.ids.map { .sent($0, at: now) }
            flight.tally.sent += count
            flight.tally.add(name, "sent", count)
        case .retry(let at, let reason):
            flight.outcomes += group.ids.map { .failed($0, reason: reason, retryAt: at, at: now) }
            flight.tally.failed += count
            flight.tally.add(name, "failed", count)
            log.warning(
                "delivery failed, will retry",
                ["channel": name, "deliveries": "\(group.ids)", "reason": reason, "retry_at": at.iso8601])
        case .dead(let reason):
            flight.outcomes += group.ids.map { .failed($0, reason: reason, retryAt: nil, at: now) }
            flight.tally.dead += count
            flight.tally.add(name, "dead", count)
            log.error("delivery dead", ["channel": name, "deliveries": "\(group.ids)", "reason": reason])
        case .disableChannel(let reason):
            try await queue { try $0.disableChannel(name, now: now, reason: reason) }
            flight.outcomes += group.ids.map { .failed($0, reason: reason, retryAt: nil, at: now) }
            flight.tally.dead += count
            flight.tally.add(name, "dead", count)
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

    /// Renders `groups` (claim `pass`'s) and hands their messages to the senders; every answer, and
    /// every group that cannot be rendered, goes to `answers` as it comes. It touches neither the
    /// database nor the dispatcher, so that it can run beside the thread that does. `allowed` is asked
    /// right before each message leaves whether the leases of its deliveries are still held.
    private static func render(
        _ groups: [Group], pass: Int, clock: SendClock, smtp settings: SMTPSettings?, http: HTTPBatchSender?,
        smtpSender: SMTPSender?, answers: Answers, allowed: @escaping @Sendable ([Int64]) -> Bool
    ) {
        var requests: [HTTPRequest] = []
        var requestGroups: [Int] = []
        var messages: [CurlTransport.MailMessage] = []
        var messageGroups: [Int] = []
        // When each may leave (nil: now): a rate-limited channel's later parts wait for their slot.
        var requestsAt: [ContinuousClock.Instant?] = []
        var messagesAt: [ContinuousClock.Instant?] = []
        var signers: [String: WebhookSignature] = [:]
        let decoder = JSONDecoder()
        for (index, group) in groups.enumerated() {
            do {
                let content = try Content(group, decoder)
                switch group.channel.kind {
                case .log:
                    let line = JSONText.object([
                        ("channel", JSONText.string(group.channel.name)),
                        ("webhook_id", JSONText.string(group.messageID)),
                        (
                            "message",
                            group.folded?.body ?? content.report?.body
                                ?? ChannelPayload.json(
                                    for: .webhook, notices: content.notices, language: group.channel.language)
                        ),
                    ])
                    answers.put(Answer(pass: pass, group: index, result: .logged(line), at: Date()))
                case .email:
                    messages.append(try mail(for: group, content, smtp: settings, now: clock.now()))
                    messageGroups.append(index)
                    messagesAt.append(group.notBefore)
                default:
                    let ids = group.ids
                    requests.append(
                        try request(for: group, content, clock: clock, signers: &signers, allowed: { allowed(ids) }))
                    requestGroups.append(index)
                    requestsAt.append(group.notBefore)
                }
            } catch {
                answers.put(Answer(pass: pass, group: index, result: .unsendable("\(error)"), at: Date()))
            }
        }
        if let http, !requests.isEmpty {
            for (at, wave) in waves(requestsAt) {
                let batch = wave.map { requests[$0] }
                let groupOf = wave.map { requestGroups[$0] }
                Task {
                    if let at { try? await Task.sleep(until: at, clock: .continuous) }
                    _ = await http.send(batch) { index, result in
                        answers.put(Answer(pass: pass, group: groupOf[index], result: .http(result), at: Date()))
                    }
                }
            }
        }
        if let smtpSender, !messages.isEmpty {
            for (at, wave) in waves(messagesAt) {
                let batch = wave.map { messages[$0] }
                let groupOf = wave.map { messageGroups[$0] }
                let idsOf = groupOf.map { groups[$0].ids }
                Task {
                    if let at { try? await Task.sleep(until: at, clock: .continuous) }
                    _ = await smtpSender.send(messages: batch, proceed: { allowed(idsOf[$0]) }) { index, result in
                        answers.put(Answer(pass: pass, group: groupOf[index], result: .mail(result), at: Date()))
                    }
                }
            }
        }
    }

    /// The positions of `instants` by the instant each may leave, earliest first (nil: now).
    private static func waves(_ instants: [ContinuousClock.Instant?]) -> [(ContinuousClock.Instant?, [Int])] {
        var byInstant: [ContinuousClock.Instant?: [Int]] = [:]
        for (i, at) in instants.enumerated() { byInstant[at, default: []].append(i) }
        return byInstant.sorted { a, b in
            switch (a.key, b.key) {
            case (nil, _): return b.key != nil
            case (_, nil): return false
            case (let x?, let y?): return x < y
            }
        }.map { ($0.key, $0.value) }
    }

    /// A webhook request; its `webhook-timestamp` and signature are made as its transfer starts.
    private static func request(
        for group: Group, _ content: Content, clock: SendClock, signers: inout [String: WebhookSignature],
        allowed: @escaping @Sendable () -> Bool
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
        let messageID = group.messageID
        var made: WebhookSignature?
        if let secret = group.channel.secret {
            let signer = try signers[group.channel.name] ?? WebhookSignature(secret: secret)
            signers[group.channel.name] = signer
            // Signed once here so that a signing failure shows as the group's, not as a silent withdrawal.
            _ = try signer.signature(messageID: messageID, timestamp: Int(clock.now().seconds), body: body)
            made = signer
        }
        let signer = made
        let timeout = Duration.microseconds(group.channel.timeoutMicros)
        var request = HTTPRequest(
            url: url, method: .post,
            headers: [("Content-Type", "application/json; charset=utf-8"), ("webhook-id", messageID)], body: body,
            timeout: timeout, connectTimeout: min(timeout, .seconds(5)))
        request.headersAtStart = {
            guard allowed() else { return nil }
            let timestamp = Int(clock.now().seconds)
            var headers: [(name: String, value: String)] = [("webhook-timestamp", String(timestamp))]
            if let signer {
                guard let signature = try? signer.signature(messageID: messageID, timestamp: timestamp, body: body)
                else { return nil }
                headers.append(("webhook-signature", signature))
            }
            return headers
        }
        return request
    }

    private static func mail(for group: Group, _ content: Content, smtp settings: SMTPSettings?, now: Instant) throws
        -> CurlTransport.MailMessage
    {
        guard let settings else { throw CommandError.runtime("no smtp section in the rules") }
        let language = group.channel.language
        let tickets = Set(content.notices.map(\.ticketID))
        // The Message-ID is the group's, the same at every attempt: a receiver drops a repeat by it.
        if let report = content.report {
            let message = InternetMessage(
                from: settings.from, to: [group.recipient], subject: report.subject, text: report.text,
                html: report.html, messageID: group.mailID, threadKey: report.thread, date: now)
            return CurlTransport.MailMessage(
                envelopeFrom: InternetMessage.address(settings.from), recipients: [group.recipient],
                data: message.rendered())
        }
        let message = InternetMessage(
            from: settings.from, to: [group.recipient],
            subject: MailContent.subject(content.notices, language: language),
            text: MailContent.text(content.notices, language: language),
            html: MailContent.html(content.notices, language: language), messageID: group.mailID,
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
