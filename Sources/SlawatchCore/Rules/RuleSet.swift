/// The whole configuration of slawatch, merged from every file of a rules directory and checked.
///
/// A `RuleSet` only exists once every reference between names resolves, every duration, zone,
/// cron expression and filter parses, and every `${VAR}` was found: the worker never starts on
/// rules that `slawatch check` would reject.
public struct RuleSet: Sendable {
    public var source: SourceViews
    public var calendars: [String: WorkCalendar]
    public var policies: [Policy]
    public var channels: [String: Channel]
    public var smtp: SMTPSettings?
    public var routes: [Route]
    public var reports: [Report]
    /// The HTTP API's settings (`slawatch serve`, `slawatch token`); nil when the rules have no `api`.
    public var api: APISettings? = nil
    /// The ticket query API's saved views, by `id`; the built-in `All` is not among them.
    public var perspectives: [Perspective] = []

    /// Rules with nothing in them: no calendar, no policy, no channel.
    public static let empty = RuleSet(
        source: .default, calendars: [:], policies: [], channels: [:], smtp: nil, routes: [], reports: [])

    /// The first policy whose `when` matches, as the README's Rules orders them.
    public func policy(for ticket: some FilterSubject) -> Policy? {
        policies.first { $0.when?.matches(ticket) ?? true }
    }

    /// Every source column that some rule condition mentions, computed columns left out.
    public var referencedSourceColumns: Set<String> {
        var columns = Set<String>()
        for p in policies { columns.formUnion(p.when?.columns ?? []) }
        for r in routes { columns.formUnion(r.when?.columns ?? []) }
        for r in reports { columns.formUnion(r.filter?.columns ?? []) }
        return columns.subtracting(ComputedColumn.names)
    }
}

/// The two views slawatch reads; names are validated identifiers, `schema.name` or `name`.
public struct SourceViews: Sendable, Hashable {
    public var tickets: QualifiedName
    public var statusChanges: QualifiedName
    public static let `default` = SourceViews(
        tickets: QualifiedName(schema: "slawatch_source", name: "tickets"),
        statusChanges: QualifiedName(schema: "slawatch_source", name: "status_changes"))
}

/// A possibly schema-qualified SQL name made only of letters, digits and underscores, so that it
/// can be quoted into SQL safely.
public struct QualifiedName: Sendable, Hashable, CustomStringConvertible {
    public let schema: String?
    public let name: String

    public init(schema: String?, name: String) {
        self.schema = schema
        self.name = name
    }

    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard (1...2).contains(parts.count), parts.allSatisfy(QualifiedName.isIdentifier) else { return nil }
        schema = parts.count == 2 ? parts[0] : nil
        name = parts.last!
    }

    public static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, s.unicodeScalars.count <= 63 else { return false }
        let letters = first == "_" || (first >= "a" && first <= "z") || (first >= "A" && first <= "Z")
        return letters
            && s.unicodeScalars.allSatisfy {
                $0 == "_" || ($0 >= "a" && $0 <= "z") || ($0 >= "A" && $0 <= "Z") || ($0 >= "0" && $0 <= "9")
            }
    }

    /// `"schema"."name"`, double-quoted.
    public var quoted: String { (schema.map { "\"\($0)\"." } ?? "") + "\"\(name)\"" }
    public var description: String { (schema.map { $0 + "." } ?? "") + name }
}

/// The columns slawatch computes and that filters may use beside the source columns.
public enum ComputedColumn {
    public static let names: Set<String> = ["sla_status", "sla_horas", "horas_restantes", "vencido", "due_at"]
}

/// An ordered SLA policy: which tickets (`when`), on which calendar, with which targets.
///
/// A class, immutable: every evaluated ticket refers to its policy, and a reference costs one
/// count where a copy of all these fields would cost one per field.
public final class Policy: Sendable {
    public let name: String
    public let when: Filter?
    public let calendarName: String
    public let calendar: WorkCalendar
    /// Priority name → target hours.
    public let targets: [String: Double]
    public let clock: ClockPolicy

    public init(
        name: String, when: Filter?, calendarName: String, calendar: WorkCalendar, targets: [String: Double],
        clock: ClockPolicy
    ) {
        self.name = name
        self.when = when
        self.calendarName = calendarName
        self.calendar = calendar
        self.targets = targets
        self.clock = clock
    }
}

public struct Channel: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case email, slack, teams, googlechat, discord, webhook, log
    }
    public var name: String
    public var kind: Kind
    /// Webhook URL for chat and webhook channels.
    public var url: String?
    /// E-mail recipients: addresses or `{{area_manager_email}}` / `{{requester_email}}`.
    public var to: [String]
    /// Standard Webhooks secret (`whsec_...`) for `webhook` channels.
    public var secret: String?
    /// `es` (default) or `en`.
    public var language: String
    /// Messages per second at most; nil for no limit.
    public var ratePerSecond: Double?
    /// A delivery that has failed this many times is dead.
    public var maxAttempts: Int
    /// A delivery older than this (microseconds) is dead at its next failure.
    public var maxAgeMicros: Int64
    /// How long one HTTP request may take (microseconds).
    public var timeoutMicros: Int64 = 10_000_000
}

public struct SMTPSettings: Sendable, Hashable {
    public enum TLS: String, Sendable, Hashable, CaseIterable { case required, opportunistic, none }
    public var url: String
    public var from: String
    public var username: String?
    public var password: String?
    public var tls: TLS
}

public struct Route: Sendable {
    public var when: Filter?
    public var events: Set<EventKind>
    public var channels: [String]
    public var groupWaitMicros: Int64
    public var repeatMicros: Int64?
}

/// The kinds of threshold events of the README's Events.
public enum EventKind: String, Sendable, Hashable, CaseIterable {
    case warning = "sla.warning"
    case breached = "sla.breached"
    case escalated = "sla.escalated"
    case metAfterBreach = "sla.met_after_breach"
}

public struct Report: Sendable {
    public var name: String
    public var schedule: CronSchedule
    public var timeZoneIdentifier: String
    public var filter: Filter?
    public var perArea: Bool
    public var channels: [String]
    public var title: String?
}
