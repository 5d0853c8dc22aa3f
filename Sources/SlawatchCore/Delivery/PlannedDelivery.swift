/// One delivery a route asks for about one event: one per (route, channel, recipient).
///
/// A dead reason means the delivery cannot be attempted at all (no recipient, channel disabled): it
/// is recorded dead at once, so that `slawatch deliveries` says why nothing was sent.
public struct PlannedDelivery: Sendable, Hashable {
    /// The route's index in the rules.
    public let route: Int
    public let channel: String
    /// An e-mail address, or `-` for channels without recipients (chat, webhook, log).
    public let recipient: String
    /// Set when the delivery cannot be attempted at all (no recipient, channel disabled).
    public let deadReason: String?
    /// Deliveries due with the same key are sent as one message.
    public let groupKey: String
    public let dueAt: Instant

    public init(route: Int, channel: String, recipient: String, deadReason: String?, groupKey: String, dueAt: Instant) {
        self.route = route
        self.channel = channel
        self.recipient = recipient
        self.deadReason = deadReason
        self.groupKey = groupKey
        self.dueAt = dueAt
    }
}
