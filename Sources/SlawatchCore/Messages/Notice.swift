/// What one notification says about one event of one ticket, in the words of a language.
///
/// Holds a snapshot of the ticket as it was when the event was detected, so that a message sent
/// later (a retry, a grouped message) says what was true at the crossing.
public struct Notice: Sendable, Hashable, Codable {
    public var eventID: String
    public var kind: String
    public var level: Double
    public var ticketID: String
    public var code: String
    public var title: String
    public var priority: String
    public var status: String
    public var area: String?
    public var slaHours: Double
    public var hoursRemaining: Double
    public var dueAt: String?
    public var crossedAt: String?
    public var detectedAt: String
    /// Set on the n-th reminder of a notification (a route's `repeat`).
    public var reminder: Int?

    public init(event: ThresholdEvent, ticket: EvaluatedTicket, detectedAt: Instant) {
        eventID = event.id
        kind = event.kind.rawValue
        level = event.level
        ticketID = ticket.ticket.ticketID
        code = ticket.ticket.code
        title = ticket.ticket.title
        priority = ticket.ticket.priority
        status = ticket.ticket.status
        area = ticket.ticket.area
        slaHours = ticket.reading.slaHours
        hoursRemaining = ticket.reading.hoursRemaining
        dueAt = ticket.reading.dueAt?.iso8601
        crossedAt = event.crossedAt?.iso8601
        self.detectedAt = detectedAt.iso8601
    }

    /// One line for people, in `language` (`es` or `en`), without any markup.
    public func headline(_ language: String) -> String {
        guard let reminder else { return plainHeadline(language) }
        return (language == "en" ? "Reminder \(reminder): " : "Recordatorio \(reminder): ") + plainHeadline(language)
    }

    func plainHeadline(_ language: String) -> String {
        let en = language == "en"
        let hours = Self.hours(slaHours, en)
        let left = Self.hours(abs(hoursRemaining), en)
        switch EventKind(rawValue: kind) {
        case .warning:
            let percent = Self.hours(level, en)
            return en
                ? "\(code) reached \(percent)% of its SLA (\(priority), \(hours) h): \(left) h left"
                : "\(code) alcanzó el \(percent) % de su SLA (\(priority), \(hours) h): quedan \(left) h"
        case .breached:
            return en
                ? "\(code) breached its SLA (\(priority), \(hours) h)"
                : "\(code) incumplió su SLA (\(priority), \(hours) h)"
        case .escalated:
            let step = DurationText.format(Int64(level * 1_000_000))
            return en
                ? "\(code) is still overdue \(step) after its SLA deadline (\(priority), \(hours) h)"
                : "\(code) sigue vencido \(step) después del plazo de su SLA (\(priority), \(hours) h)"
        default:
            return en
                ? "\(code) was closed after breaching its SLA, \(left) h over (\(priority), \(hours) h)"
                : "\(code) se cerró fuera de SLA, excedido en \(left) h (\(priority), \(hours) h)"
        }
    }

    /// Label/value pairs shown under the headline.
    public func facts(_ language: String) -> [(String, String)] {
        let en = language == "en"
        var facts: [(String, String)] = [
            (en ? "Ticket" : "Ticket", code), (en ? "Title" : "Título", title),
            (en ? "Priority" : "Prioridad", priority),
            (en ? "Status" : "Estado", status), (en ? "Area" : "Área", area ?? "—"),
            (en ? "Hours left" : "Horas restantes", Self.hours(hoursRemaining, en)),
        ]
        if let dueAt { facts.append((en ? "Due" : "Vence", dueAt)) }
        return facts
    }

    static func hours(_ h: Double, _ english: Bool) -> String {
        let rounded = (h * 10).rounded() / 10
        var text = rounded == rounded.rounded() ? String(Int64(rounded)) : String(rounded)
        if !english { text = text.replacing(".", with: ",") }
        return text
    }
}
