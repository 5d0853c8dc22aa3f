/// The field names of the help desk's ticket list API (README, "The HTTP API") and the view or computed
/// columns they stand for, so that its filters and sorts are answered over the columns rules use.
public enum APIField {
    /// API field → column.
    public static let columns: [String: String] = [
        "createdAt": "created_at", "updatedAt": "updated_at", "status": "status", "priority": "priority",
        "category": "category", "team": "area", "ticketNumber": "code", "subject": "title", "dueDate": "due_at",
        "slaStatus": "sla_status",
    ]

    /// The column a filter or sort names: an API field's column, or the name itself (a view or computed
    /// column).
    public static func column(_ name: String) -> String { columns[name] ?? name }

    /// The filter over columns: every condition's API field replaced by its column.
    public static func mapped(_ filter: Filter) -> Filter {
        switch filter {
        case .condition(var c):
            c.column = column(c.column)
            return .condition(c)
        case .group(let op, let items):
            return .group(op, items.map(mapped))
        }
    }
}
