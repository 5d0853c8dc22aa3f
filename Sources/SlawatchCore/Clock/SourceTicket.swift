/// One row of the tickets source view (the README's source views), plus any further columns rules mention.
public struct SourceTicket: Sendable, Hashable, FilterSubject {
    public var ticketID: String
    public var code: String
    public var title: String
    public var category: String?
    public var requesterEmail: String?
    public var status: String
    public var priority: String
    public var area: String?
    public var areaManagerEmail: String?
    public var createdAt: Instant
    public var updatedAt: Instant
    /// Further view columns, by name, for rule conditions.
    public var extra: [String: FieldValue]

    public init(
        ticketID: String, code: String, title: String, category: String?, requesterEmail: String?, status: String,
        priority: String, area: String?, areaManagerEmail: String?, createdAt: Instant, updatedAt: Instant,
        extra: [String: FieldValue] = [:]
    ) {
        self.ticketID = ticketID
        self.code = code
        self.title = title
        self.category = category
        self.requesterEmail = requesterEmail
        self.status = status
        self.priority = priority
        self.area = area
        self.areaManagerEmail = areaManagerEmail
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.extra = extra
    }

    /// The columns every tickets view must have, in the documented order.
    public static let requiredColumns = [
        "ticket_id", "code", "title", "category", "requester_email", "status", "priority", "area",
        "area_manager_email", "created_at", "updated_at",
    ]

    public func value(of column: String) -> FieldValue? {
        func text(_ s: String?) -> FieldValue { s.map(FieldValue.text) ?? .null }
        switch column {
        case "ticket_id": return .text(ticketID)
        case "code": return .text(code)
        case "title": return .text(title)
        case "category": return text(category)
        case "requester_email": return text(requesterEmail)
        case "status": return .text(status)
        case "priority": return .text(priority)
        case "area": return text(area)
        case "area_manager_email": return text(areaManagerEmail)
        case "created_at": return .instant(createdAt)
        case "updated_at": return .instant(updatedAt)
        default: return extra[column]
        }
    }
}
