import Foundation
import SlawatchCore
import SlawatchStore

/// The rate-limit decision of a delivery pass (README, 'Rate limits and folding'): which messages a
/// rate-limited channel sends, when, and which due notifications are folded into one message.
///
/// A channel with `rate_per_second` sends at most one message per `1/rate` seconds. When more
/// messages are due for one of its recipients than the rate allows now, they are not queued one per
/// slot: all of them go as one folded message (``MessageFolding``), split only where the
/// platform's limits force it, each part taking the next slot. A slot a little ahead is waited for
/// within the pass; only what would wait longer than ``maxWait`` is given back, due at its slot.
/// The slots are kept on the monotonic clock, across the passes of one worker.
struct RateGate {
    /// When each rate-limited channel may send next.
    private var nextSlot: [String: ContinuousClock.Instant] = [:]

    /// The longest a message waits for its slot within a pass.
    static let maxWait: Duration = .seconds(15)

    /// Rate-limited deliveries of earlier claims of this pass, kept to be folded with the next.
    private var held: [DeliveryQueue.Claimed] = []
    private var heldSince: ContinuousClock.Instant?
    /// The longest a claim's rate-limited deliveries wait for the next claims: a backlog larger
    /// than one claim folds into one message (not one per claim) unless its other sends are slow.
    static let maxHold: Duration = .seconds(1)

    /// Gathers a pass's rate-limited deliveries across its claims: `fresh` is a claim, `more` says
    /// whether another claim follows (this one came back full). Returns what to send now: the
    /// claim's other deliveries, and the rate-limited ones held so far once no claim follows or
    /// they have waited ``maxHold``.
    mutating func gather(
        _ fresh: [DeliveryQueue.Claimed], more: Bool, channels: [String: Channel],
        clock: ContinuousClock.Instant = .now
    ) -> [DeliveryQueue.Claimed] {
        var claimed = held + fresh
        held = []
        guard more, clock - (heldSince ?? clock) < Self.maxHold else {
            heldSince = nil
            return claimed
        }
        let limited = { (d: DeliveryQueue.Claimed) in channels[d.channel]?.ratePerSecond != nil }
        held = claimed.filter(limited)
        if held.isEmpty {
            heldSince = nil
        } else {
            claimed.removeAll(where: limited)
            heldSince = heldSince ?? clock
        }
        return claimed
    }

    /// Whether deliveries are held for the next claims.
    var isHolding: Bool { !held.isEmpty }

    /// What is still held when a pass ends early (no further claim): to be sent now.
    mutating func release() -> [DeliveryQueue.Claimed] {
        defer {
            held = []
            heldSince = nil
        }
        return held
    }

    /// What a pass sends of a claim, and what it gives back for later.
    struct Plan {
        /// The messages to send, each with the instant it may leave (nil: now).
        var groups: [Dispatcher.Group] = []
        /// Deliveries given back untouched, each batch due at the wall-clock instant of its slot.
        var postponed: [(ids: [Int64], dueAt: Instant)] = []
    }

    /// Plans `groups`, the messages of one claim, at `now` (the pass's instant) and `clock` (the
    /// same moment on the monotonic clock).
    mutating func plan(
        _ groups: [Dispatcher.Group], now: Instant, clock: ContinuousClock.Instant = .now
    ) -> Plan {
        var plan = Plan()
        // The messages of each rate-limited channel and recipient, in the order they came.
        var buckets: [[Dispatcher.Group]] = []
        var index: [String: Int] = [:]
        for group in groups {
            guard group.channel.ratePerSecond != nil else {
                plan.groups.append(group)
                continue
            }
            let key = group.channel.name + "\u{0}" + group.recipient
            if let i = index[key] {
                buckets[i].append(group)
            } else {
                index[key] = buckets.count
                buckets.append([group])
            }
        }
        for bucket in buckets {
            let channel = bucket[0].channel
            let rate = channel.ratePerSecond!
            let interval = Duration.microseconds(Int64((1_000_000 / rate).rounded(.up)))
            var slot = max(nextSlot[channel.name] ?? clock, clock)
            // The rate allows this many messages in the coming second, when its slot is free now.
            let allowed = slot <= clock ? max(1, Int(rate)) : 0
            let messages = bucket.count <= max(1, allowed) ? bucket : Self.fold(bucket)
            for var message in messages {
                let wait = slot - clock
                if wait > Self.maxWait {
                    plan.postponed.append((message.ids, now + Dispatcher.micros(wait)))
                } else {
                    message.notBefore = slot > clock ? slot : nil
                    plan.groups.append(message)
                }
                slot = slot + interval
            }
            nextSlot[channel.name] = slot
        }
        return plan
    }

    /// The messages that carry `bucket`'s deliveries when they are folded: the parts of one fold
    /// of every notice, and each report as a message of its own. A group whose notices cannot be
    /// read stays as it is (its rendering says why it is dead), and so does a message attempted
    /// before: it goes again under its own id, with no other delivery added to it.
    static func fold(_ bucket: [Dispatcher.Group]) -> [Dispatcher.Group] {
        let decoder = JSONDecoder()
        let channel = bucket[0].channel
        var items: [MessageFolding.Item] = []
        var byID: [Int64: DeliveryQueue.Claimed] = [:]
        var apart: [Dispatcher.Group] = []
        for group in bucket {
            guard group.stored == nil else {
                apart.append(group)
                continue
            }
            var notices: [MessageFolding.Item] = []
            for d in group.deliveries {
                guard d.reportJSON == nil, let notice = try? d.notice(decoder) else {
                    notices = []
                    break
                }
                notices.append(MessageFolding.Item(deliveryID: d.id, notice: notice))
            }
            if notices.count == group.deliveries.count {
                items += notices
                for d in group.deliveries { byID[d.id] = d }
            } else {
                apart.append(group)
            }
        }
        guard !items.isEmpty else { return bucket }
        let parts = MessageFolding.fold(items, kind: channel.kind, language: channel.language)
        let folded = parts.map { part in
            var group = Dispatcher.Group(
                key: part.id, channel: channel, recipient: bucket[0].recipient,
                deliveries: part.deliveryIDs.map { byID[$0]! })
            group.folded = part
            return group
        }
        return folded + apart
    }

    /// A folded message attempted before, sent again: `group` is what is left of it (the same
    /// deliveries or fewer), folded again under its stored id. Nil when its notices cannot be read
    /// (its rendering says why it is dead) or do not fit one message (then they go unfolded, under
    /// the same id).
    static func refold(_ group: Dispatcher.Group) -> FoldedMessage? {
        guard let id = group.stored else { return nil }
        let decoder = JSONDecoder()
        var items: [MessageFolding.Item] = []
        for d in group.deliveries {
            guard d.reportJSON == nil, let notice = try? d.notice(decoder) else { return nil }
            items.append(MessageFolding.Item(deliveryID: d.id, notice: notice))
        }
        return MessageFolding.refold(items, kind: group.channel.kind, language: group.channel.language, id: id)
    }
}
