/// The type of a column as filters compare it, and which operands fit it.
///
/// An operand that does not fit its column's type could never match (`created_at GT "yesterday"`,
/// `horas_restantes GT "abc"`), so a filter that holds one is refused, naming the column and the
/// type, wherever the column's type is known: the tickets view's contract and the computed columns
/// when rules are loaded, the view's actual types when the CLI's `--filter` is applied.
public enum ColumnType: String, Sendable, Hashable, CaseIterable {
    case text, uuid, number, boolean, timestamptz

    /// The columns of the tickets view's contract (README, "Pointing slawatch at your help desk")
    /// and the computed ones (README, "Filters"), by name.
    public static let known: [String: ColumnType] = [
        "ticket_id": .uuid, "code": .text, "title": .text, "category": .text, "requester_email": .text,
        "status": .text, "priority": .text, "area": .text, "area_manager_email": .text,
        "created_at": .timestamptz, "updated_at": .timestamptz,
        "sla_status": .text, "sla_horas": .number, "horas_restantes": .number, "vencido": .boolean,
        "due_at": .timestamptz,
    ]

    /// What an operand of this type looks like, for a message.
    var expectation: String {
        switch self {
        case .text: return "a string"
        case .uuid: return "a uuid in a string, such as \"7d3c0b8e-3c1a-4c55-9a0e-2b7f5b1d0001\""
        case .number: return "a number, such as 8 or -1.5"
        case .boolean: return "true or false"
        case .timestamptz: return "an ISO 8601 instant in a string, such as \"2026-03-24T10:30:00Z\" or \"2026-03-24\""
        }
    }

    /// Whether a single (non-list) operand can be compared with a value of this type; `null` always can.
    func fits(_ operand: FilterOperand) -> Bool {
        switch (self, operand) {
        case (_, .null): return true
        case (_, .list): return false
        case (.text, .text): return true
        case (.uuid, .text(let s)): return Self.isUUID(s)
        case (.number, .number(let n)): return !n.isNaN
        case (.number, .text(let s)): return Double(s).map { !$0.isNaN } ?? false
        case (.boolean, .bool): return true
        case (.boolean, .text(let s)): return Bool(s.lowercased()) != nil
        case (.timestamptz, .text(let s)): return Instant(iso8601: s) != nil
        default: return false
        }
    }

    public static func isUUID(_ s: String) -> Bool {
        let bytes = Array(s.utf8)
        guard bytes.count == 36 else { return false }
        for (i, b) in bytes.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard b == UInt8(ascii: "-") else { return false }
            } else {
                let hex = (b >= 48 && b <= 57) || (b >= 97 && b <= 102) || (b >= 65 && b <= 70)
                guard hex else { return false }
            }
        }
        return true
    }
}
