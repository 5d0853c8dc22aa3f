import SlawatchCore

/// A ticket of the API with its clock as of the request, or without one (its policy has no target for
/// its priority): the list and the query show both, the dashboard only the former.
struct APITicketRow: FilterSubject {
    let ticket: SourceTicket
    let evaluated: EvaluatedTicket?

    init(_ ticket: SourceTicket, history: [StatusChange], evaluator: SLAEvaluator, now: Instant) {
        switch evaluator.evaluate(ticket, changes: history, now: now) {
        case .clock(let e):
            self.ticket = e.ticket
            evaluated = e
        case .unmatched(let u):
            self.ticket = u.ticket
            evaluated = nil
        }
    }

    /// Computed columns are NULL without a clock, so that a filter on them matches only `EQ null`.
    func value(of column: String) -> FieldValue? {
        if let evaluated { return evaluated.value(of: column) }
        return ComputedColumn.names.contains(column) ? .null : ticket.value(of: column)
    }

    /// `text`, or nil for NULL and missing columns.
    func text(_ column: String) -> String? {
        switch ticket.value(of: column) {
        case .text(let s)?: return s
        case .number(let n)?: return JSONText.number(n)
        case .bool(let b)?: return String(b)
        case .instant(let i)?: return i.iso8601
        default: return nil
        }
    }

    /// Orders two values of a column as the dashboard's `--sort` does: nulls last, then by type.
    static func compare(_ a: FieldValue, _ b: FieldValue) -> Int { DashboardCommand.compare(a, b) }
}
