/// A value of a ticket column as filters see it.
public enum FieldValue: Sendable, Hashable {
    case null
    case text(String)
    case number(Double)
    case bool(Bool)
    case instant(Instant)
}

/// Something a filter can be evaluated against: a ticket row, with or without its clock.
public protocol FilterSubject {
    /// The value of `column`, or nil when the subject has no such column.
    func value(of column: String) -> FieldValue?
}
