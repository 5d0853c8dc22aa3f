import Foundation
import PostgresClient
import SlawatchCore

/// A help desk of its own, generated from a seed, to compare the dashboard function with the engine:
/// a schema with the two source views and extra typed columns (text, numeric, integer, double,
/// real, a domain over numeric, timestamptz, date, timestamp, boolean; each sometimes NULL), rules
/// (calendars in zones with and without daylight saving, ordered policies whose filters use every
/// operator), and tickets with histories that pause, stop, reopen and disagree with the ticket.
///
/// The tickets are kept as the engine reads them too, so that a test can evaluate them in process.
struct ParityHelpDesk {
    enum Kind { case text, number, instant, bool }

    /// A column of the tickets view that conditions can name.
    struct Column {
        let name: String
        let sqlType: String
        let kind: Kind
    }

    /// One value of a column: as JSON to load it, and as the engine reads it back.
    struct Value {
        var json: String
        var field: FieldValue
        static let null = Value(json: "null", field: .null)
    }

    struct HistoryRow {
        var status: String?
        var at: Instant?
    }

    struct Ticket {
        var id: String
        var code: String
        var title: String?
        var category: String?
        var requesterEmail: String?
        var status: String
        var priority: String?
        var area: String?
        var areaManagerEmail: String?
        var createdAt: Instant
        var updatedAt: Instant?
        var extra: [String: Value]
        var history: [HistoryRow]

        /// The ticket as the source reader makes it: no title or priority reads as empty, no
        /// `updated_at` as `created_at`.
        var source: SourceTicket {
            SourceTicket(
                ticketID: id, code: code, title: title ?? "", category: category, requesterEmail: requesterEmail,
                status: status, priority: priority ?? "", area: area, areaManagerEmail: areaManagerEmail,
                createdAt: createdAt, updatedAt: updatedAt ?? createdAt, extra: extra.mapValues(\.field))
        }

        /// The history rows the engine uses: those with a status and an instant.
        var changes: [StatusChange] {
            history.compactMap { row in row.status.flatMap { s in row.at.map { StatusChange(status: s, at: $0) } } }
        }

        /// Everything about the ticket, for a failure message.
        var description: String {
            func text(_ s: String?) -> String { s.map { JSONText.string($0) } ?? "NULL" }
            let extras = extra.keys.sorted().map { "\($0)=\(extra[$0]!.json)" }.joined(separator: " ")
            let rows = history.map { "(\(text($0.status)), \($0.at?.iso8601 ?? "NULL"))" }.joined(separator: " ")
            return "\(code) \(id) status=\(status) priority=\(text(priority)) area=\(text(area)) title=\(text(title)) "
                + "category=\(text(category)) created=\(createdAt.iso8601) updated=\(updatedAt?.iso8601 ?? "NULL") \(extras) "
                + "history=[\(rows)]"
        }
    }

    static let extraColumns: [Column] = [
        Column(name: "note", sqlType: "text", kind: .text),
        Column(name: "amount", sqlType: "numeric(12,3)", kind: .number),
        Column(name: "level", sqlType: "integer", kind: .number),
        Column(name: "score", sqlType: "double precision", kind: .number),
        Column(name: "ratio", sqlType: "real", kind: .number),
        Column(name: "weight", sqlType: "parity.weight", kind: .number),
        Column(name: "due_by", sqlType: "timestamptz", kind: .instant),
        Column(name: "opened_on", sqlType: "date", kind: .instant),
        Column(name: "local_at", sqlType: "timestamp", kind: .instant),
        Column(name: "vip", sqlType: "boolean", kind: .bool),
    ]

    /// Every column a condition may name: the extra ones and the required ones.
    static let filterColumns: [Column] =
        extraColumns + [
            Column(name: "ticket_id", sqlType: "uuid", kind: .text),
            Column(name: "code", sqlType: "text", kind: .text),
            Column(name: "title", sqlType: "text", kind: .text),
            Column(name: "category", sqlType: "text", kind: .text),
            Column(name: "requester_email", sqlType: "text", kind: .text),
            Column(name: "status", sqlType: "text", kind: .text),
            Column(name: "priority", sqlType: "text", kind: .text),
            Column(name: "area", sqlType: "text", kind: .text),
            Column(name: "created_at", sqlType: "timestamptz", kind: .instant),
            Column(name: "updated_at", sqlType: "timestamptz", kind: .instant),
        ]

    static let statuses = [
        "ABIERTO", "EN_PROCESO", "EN_ESPERA", "ESPERA_CLIENTE", "RESUELTO", "CERRADO", "REABIERTO", "EN_REVISIÓN",
    ]
    static let priorities = ["CRITICA", "ALTA", "MEDIA", "BAJA", "PLANIFICADA"]
    /// With the same name precomposed and decomposed, and in another case: three areas.
    static let areas = [
        "TECNOLOGIA", "FACTURACION", "Soporte T\u{E9}cnico", "Soporte Te\u{301}cnico", "soporte técnico",
    ]

    /// Texts whose code-point order differs from a collation's (case, accents), canonically
    /// equivalent but of other code points (an accent precomposed or not, the Kelvin sign and K),
    /// one character of several code points, LIKE's special characters, numbers and booleans
    /// written as text, and non-ASCII.
    static let texts = [
        "alpha", "Alpha", "ALPHA", "beta", "Beta", "zeta", "Zeta", "árbol", "arbol", "Árbol", "Ñandú", "ñandú", "nandu",
        "\u{E9}cole", "e\u{301}cole", "ecole", "über", "Uber", "uber", "ß", "SS", "日本語", "Ωmega", "😀 smile", "a_b",
        "a%b",
        "a\\b", "50%", "100%", "", " ", "línea\nnueva", "12.5", "100", "007", "1e2", "NaN", " 5", "0x1A", "12.", ".5",
        "true", "FALSE", "True ", "z", "Z", "m", "M", "\u{212A}elvin", "Kelvin", "e\u{301}\u{302}",
        "\u{1F1E8}\u{1F1F4}",
    ]

    let seed: UInt64
    /// When the help desk was generated: tickets are created around it.
    let now: Instant
    var random: ParityRandom
    var tickets: [Ticket] = []
    private var amounts: [Int64] = [], levels: [Int] = [], scores: [String] = [], ratios: [String] = []
    private var instants: [Instant] = [], days: [CivilDate] = []

    init(seed: UInt64, now: Instant, tickets count: Int) {
        self.seed = seed
        self.now = Instant(microseconds: now.microseconds)
        random = ParityRandom(seed: seed)
        // Small pools, so that equal values (and EQ, IN) are common.
        amounts = (0..<20).map { _ in random.int(Int64(-50_000)...Int64(5_000_000)) }
        levels = (0..<12).map { _ in random.int(-5...60) }
        scores =
            ["NaN", "Infinity", "-Infinity", "0", "-0", "1e-5", "3.25", "123456789.125", "0.1", "0.3", "2.675"]
            + (0..<8).map { _ in Self.decimal(random.int(Int64(-100_000)...Int64(100_000)), places: 3) }
        ratios =
            ["0.1", "0.2", "0.3", "2.5", "-1.75", "100", "1e-3"]
            + (0..<5).map { _ in Self.decimal(random.int(Int64(-999)...Int64(999)), places: 2) }
        instants = (0..<20).map { _ in
            let micros = random.int(Int64(-40 * 86_400_000_000)...Int64(10 * 86_400_000_000))
            return self.now + (random.chance(0.5) ? micros / 1_000_000 * 1_000_000 : micros)
        }
        let today = self.now.microseconds / 86_400_000_000
        days = (0..<15).map { _ in CivilDate(daysSinceEpoch: today + random.int(Int64(-40)...Int64(10))) }
        for n in 0..<count { tickets.append(makeTicket(n)) }
        // Some tickets share an instant of update: the dashboard orders those by code.
        for n in stride(from: 7, to: tickets.count, by: 23) { tickets[n].updatedAt = tickets[n - 1].updatedAt }
    }

    // MARK: - Values

    /// `units` in hundredths or thousandths as decimal text: `-12.345`.
    static func decimal(_ units: Int64, places: Int) -> String {
        let scale = Int64(places == 2 ? 100 : 1000)
        let whole = abs(units) / scale
        let fraction = abs(units) % scale
        let digits = String(fraction)
        return (units < 0 ? "-" : "") + "\(whole)." + String(repeating: "0", count: places - digits.count) + digits
    }

    /// The wall-clock text of an instant (UTC), without a zone: `2026-03-24T10:30:00.5`.
    static func wallClock(_ instant: Instant) -> String { String(instant.iso8601.dropLast()) }

    mutating func value(of column: Column) -> Value {
        if random.chance(0.15) { return .null }
        switch column.name {
        case "note":
            let s = random.pick(Self.texts)
            return Value(json: JSONText.string(s), field: .text(s))
        case "amount", "weight":
            let s = Self.decimal(random.pick(amounts), places: 3)
            return Value(json: JSONText.string(s), field: .number(Double(s)!))
        case "level":
            let n = random.pick(levels)
            return Value(json: String(n), field: .number(Double(n)))
        case "score":
            let s = random.pick(scores)
            return Value(json: JSONText.string(s), field: .number(Double(s)!))
        case "ratio":
            let s = random.pick(ratios)
            return Value(json: JSONText.string(s), field: .number(Double(Float(s)!)))
        case "due_by":
            let t = random.pick(instants)
            return Value(json: JSONText.string(t.iso8601), field: .instant(t))
        case "opened_on":
            let d = random.pick(days)
            let midnight = Instant(microseconds: d.daysSinceEpoch * 86_400_000_000)
            return Value(json: JSONText.string(d.description), field: .instant(midnight))
        case "local_at":
            let t = random.pick(instants)
            return Value(json: JSONText.string(Self.wallClock(t)), field: .instant(t))
        case "vip":
            let b = random.chance(0.5)
            return Value(json: b ? "true" : "false", field: .bool(b))
        default:
            fatalError("no generator for column \(column.name)")
        }
    }

    mutating func uuid() -> String {
        let hex =
            String(random.next(), radix: 16) + String(random.next(), radix: 16) + String(repeating: "0", count: 32)
        let h = Array(hex.prefix(32))
        return String(h[0..<8]) + "-" + String(h[8..<12]) + "-4" + String(h[13..<16]) + "-8" + String(h[17..<20])
            + "-" + String(h[20..<32])
    }

    mutating func makeTicket(_ n: Int) -> Ticket {
        let day: Int64 = 86_400_000_000
        let hour: Int64 = 3_600_000_000
        var created: Instant
        switch random.int(0...99) {
        case 0..<5: created = now + random.int(Int64(60_000_000)...3 * day)  // in the future
        case 5..<12: created = now + -random.int(60 * day...400 * day)  // across daylight-saving changes
        default: created = now + -random.int(Int64(0)...45 * day)
        }
        if random.chance(0.3) { created = Instant(seconds: created.seconds) }
        let latest = max(now, created) + 2 * hour
        var history: [HistoryRow] = []
        let rows = random.chance(0.15) ? 0 : random.int(1...7)
        for _ in 0..<rows {
            var at: Instant? = created + random.int(-3 * hour...(latest - created))
            if let previous = history.last?.at, random.chance(0.12) { at = previous }  // same instant, another status
            if random.chance(0.04) { at = nil }
            history.append(HistoryRow(status: random.chance(0.04) ? nil : random.pick(Self.statuses), at: at))
        }
        // The row that holds last: by instant, then by status name.
        let last = history.compactMap { r in r.status.flatMap { s in r.at.map { (s, $0) } } }
            .max { a, b in a.1 != b.1 ? a.1 < b.1 : a.0.utf8.lexicographicallyPrecedes(b.0.utf8) }
        let status = last != nil && random.chance(0.7) ? last!.0 : random.pick(Self.statuses)
        var updated: Instant?
        let lastAt = last?.1 ?? created
        switch random.int(0...99) {
        case 0..<55: updated = max(lastAt, created) + random.int(Int64(0)...2 * hour)
        case 55..<70: updated = created + random.int(Int64(0)...max(0, lastAt - created))  // before the last change
        case 70..<80: updated = nil
        case 80..<88: updated = lastAt
        default: updated = created + random.int(-hour...(latest - created))
        }
        var extra: [String: Value] = [:]
        for column in Self.extraColumns { extra[column.name] = value(of: column) }
        let area: String? = random.chance(0.12) ? nil : random.pick(Self.areas)
        return Ticket(
            id: uuid(), code: "P-" + String(repeating: "0", count: 4 - String(n).count) + String(n),
            title: random.chance(0.08) ? nil : random.pick(Self.texts),
            category: random.chance(0.2) ? nil : random.pick(Self.texts),
            requesterEmail: random.chance(0.2)
                ? nil : random.pick(["ana@example.com", "ÁLVARO@example.com", "zoe@example.com"]),
            status: status, priority: random.chance(0.03) ? nil : random.pick(Self.priorities), area: area,
            areaManagerEmail: area.map { _ in "jefe@example.com" }, createdAt: created, updatedAt: updated,
            extra: extra,
            history: history)
    }

    /// A ticket changed as a help desk changes it, with `updated_at` moved to `at`: a new status
    /// with its history row, another priority, other values in the extra columns, or a history row
    /// written late.
    mutating func change(_ index: Int, at: Instant) {
        var t = tickets[index]
        switch random.int(0...4) {
        case 0, 1:
            t.status = random.pick(Self.statuses)
            t.history.append(HistoryRow(status: t.status, at: at))
        case 2:
            t.priority = random.pick(Self.priorities)
        case 3:
            for column in random.subset(Self.extraColumns, 0.5) { t.extra[column.name] = value(of: column) }
        default:
            let late = t.createdAt + random.int(Int64(0)...max(0, at - t.createdAt))
            t.history.append(HistoryRow(status: random.pick(Self.statuses), at: late))
        }
        t.updatedAt = at
        tickets[index] = t
    }

    // MARK: - Database

    static let schemaSQL = """
        CREATE SCHEMA parity;
        CREATE DOMAIN parity.weight AS numeric(10,3);
        CREATE TABLE parity.ticket (
            id uuid PRIMARY KEY, code text NOT NULL, title text, category text, requester_email text, status text NOT NULL,
            priority text, area text, area_manager_email text, created_at timestamptz NOT NULL, updated_at timestamptz,
            \(extraColumns.map { "\($0.name) \($0.sqlType)" }.joined(separator: ", ")));
        CREATE TABLE parity.history (ticket_id uuid, status text, changed_at timestamptz);
        CREATE INDEX ON parity.history (ticket_id);
        CREATE VIEW parity.tickets AS
            SELECT id AS ticket_id, code, title, category, requester_email, status, priority, area, area_manager_email,
                   created_at, updated_at, \(extraColumns.map(\.name).joined(separator: ", "))
            FROM parity.ticket;
        CREATE VIEW parity.status_changes AS SELECT ticket_id, status, changed_at FROM parity.history;
        """

    /// Writes `indices` (every ticket when nil) into the database, replacing what it held of them.
    func write(_ connection: PostgresConnection, _ indices: [Int]? = nil) throws {
        let chosen = (indices ?? Array(tickets.indices)).map { tickets[$0] }
        func text(_ s: String?) -> String { s.map { JSONText.string($0) } ?? "null" }
        func instant(_ t: Instant?) -> String { t.map { JSONText.string($0.iso8601) } ?? "null" }
        let rows = chosen.map { t in
            var fields = [
                ("id", JSONText.string(t.id)), ("code", JSONText.string(t.code)), ("title", text(t.title)),
                ("category", text(t.category)), ("requester_email", text(t.requesterEmail)),
                ("status", JSONText.string(t.status)),
                ("priority", text(t.priority)), ("area", text(t.area)),
                ("area_manager_email", text(t.areaManagerEmail)),
                ("created_at", instant(t.createdAt)), ("updated_at", instant(t.updatedAt)),
            ]
            fields += Self.extraColumns.map { ($0.name, t.extra[$0.name]!.json) }
            return JSONText.object(fields)
        }
        let history = chosen.flatMap { t in
            t.history.map {
                JSONText.object([
                    ("ticket_id", JSONText.string(t.id)), ("status", text($0.status)), ("changed_at", instant($0.at)),
                ])
            }
        }
        let ids = "{" + chosen.map(\.id).joined(separator: ",") + "}"
        try connection.transaction {
            try connection.query("DELETE FROM parity.history WHERE ticket_id = ANY($1::uuid[])", [.text(ids)])
            try connection.query("DELETE FROM parity.ticket WHERE id = ANY($1::uuid[])", [.text(ids)])
            try connection.query(
                "INSERT INTO parity.ticket SELECT * FROM jsonb_populate_recordset(NULL::parity.ticket, $1::jsonb)",
                [.text("[" + rows.joined(separator: ",") + "]")])
            try connection.query(
                "INSERT INTO parity.history SELECT * FROM jsonb_populate_recordset(NULL::parity.history, $1::jsonb)",
                [.text("[" + history.joined(separator: ",") + "]")])
        }
    }

    // MARK: - Rules

    /// 24x7, business hours in zones with daylight saving (Madrid, New York) and without (Bogotá,
    /// Kolkata) with random ranges and holidays, and a calendar without any working time.
    mutating func calendarsJSON() -> String {
        var calendars = [
            ("siempre", "{\"type\": \"always\"}"), ("nunca", "{\"timezone\": \"UTC\", \"week\": {\"mon\": []}}"),
        ]
        let zones = [
            ("madrid", "Europe/Madrid"), ("nueva_york", "America/New_York"), ("bogota", "America/Bogota"),
            ("kolkata", "Asia/Kolkata"),
        ]
        let names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        for (name, zone) in zones {
            var week: [(String, String)] = []
            for day in names {
                var ranges: [String] = []
                if random.chance(0.1) {
                    ranges = ["00:00-24:00"]
                } else if day == "sun" && random.chance(0.5) {
                    ranges = ["00:30-04:30"]  // across the night a daylight-saving change shortens or lengthens
                } else if !random.chance(0.15) {
                    var marks = Set<Int>()
                    for _ in 0..<(2 * random.int(1...3)) { marks.insert(random.int(0...96) * 15) }
                    let sorted = marks.sorted()
                    for i in stride(from: 0, to: sorted.count - 1, by: 2) {
                        func hhmm(_ m: Int) -> String { String(format: "%02d:%02d", m / 60, m % 60) }
                        ranges.append("\(hhmm(sorted[i]))-\(hhmm(sorted[i + 1]))")
                    }
                }
                week.append((day, "[" + ranges.map { JSONText.string($0) }.joined(separator: ", ") + "]"))
            }
            let today = now.microseconds / 86_400_000_000
            let holidays = Set(
                (0..<random.int(0...5)).map { _ in
                    CivilDate(daysSinceEpoch: today + random.int(Int64(-50)...Int64(10))).description
                })
            calendars.append(
                (
                    name,
                    JSONText.object([
                        ("timezone", JSONText.string(zone)), ("week", JSONText.object(week)),
                        ("holidays", "[" + holidays.sorted().map { JSONText.string($0) }.joined(separator: ", ") + "]"),
                    ])
                ))
        }
        return JSONText.object(calendars)
    }

    static let calendarNames = ["siempre", "nunca", "madrid", "nueva_york", "bogota", "kolkata"]

    /// Targets as fractions of an hour, among them some whose microseconds fall exactly on a half
    /// (rounding them half to even or half away from zero differs by one microsecond).
    static let targetHours = [
        "4.000000000138889", "4.0000000006944445", "4.00000000125", "1.25", "0.5", "7.3", "12.345678", "24", "40.5",
        "72",
        "0.1", "100.75", "0", "8", "2.2", "0.3333333333333333", "9.999999",
    ]

    /// A policy in the rules' JSON; `when` is a filter's JSON or nil.
    mutating func policyJSON(name: String, when: String?) -> String {
        let priorities = Self.priorities.filter { _ in random.chance(0.75) }
        let targets = JSONText.object(priorities.map { ($0, random.pick(Self.targetHours)) })
        let pause = random.subset(["EN_ESPERA", "ESPERA_CLIENTE", "EN_REVISIÓN"], 0.6)
        let stop = random.subset(["RESUELTO", "CERRADO"], 0.8)
        func list(_ items: [String]) -> String { "[" + items.map { JSONText.string($0) }.joined(separator: ", ") + "]" }
        var fields = [("name", JSONText.string(name))]
        if let when { fields.append(("when", when)) }
        fields += [
            ("calendar", JSONText.string(random.pick(Self.calendarNames))), ("targets", targets),
            ("pause_statuses", list(pause)),
            ("stop_statuses", list(stop)), ("warn_at", "[50, 90]"), ("escalate_after", "[\"1h\"]"),
        ]
        return JSONText.object(fields)
    }

    /// The whole rules file over this help desk's views.
    func rulesText(calendars: String, policies: [String]) -> String {
        """
        {"source": {"tickets": "parity.tickets", "status_changes": "parity.status_changes"},
         "calendars": \(calendars),
         "policies": [
        \(policies.joined(separator: ",\n"))
        ]}
        """
    }

    // MARK: - Filters

    static let operators = ["EQ", "NE", "GT", "GE", "LT", "LE", "LIKE", "IN"]

    /// A condition on `column` with `op` and a random operand: mostly of the column's own type and
    /// from the values the tickets hold, sometimes of another type, NULL where the grammar allows it.
    mutating func condition(_ column: Column, _ op: String) -> String {
        // A column of the view's contract has a known type, and the rules refuse an operand that does
        // not fit it (it could never match): draw again until it fits. Other columns take anything.
        for _ in 0..<50 {
            let drawn = anyCondition(column, op)
            guard ColumnType.known[column.name] != nil else { return drawn }
            if let filter = try? RulesLoader.filter(json: drawn, origin: "parity"),
                filter.typeMismatches({ ColumnType.known[$0] }).isEmpty
            {
                return drawn
            }
        }
        return JSONText.object([("column", JSONText.string(column.name)), ("op", JSONText.string("EQ")), ("operand", "null")])
    }

    mutating func anyCondition(_ column: Column, _ op: String) -> String {
        let operand: String
        switch op {
        case "LIKE": operand = JSONText.string(likePattern())
        case "IN":
            var items = (0..<random.int(0...4)).map { _ in self.operand(column) }
            if random.chance(0.25) { items.insert("null", at: random.int(0...items.count)) }
            operand = "[" + items.joined(separator: ", ") + "]"
        case "EQ", "NE": operand = random.chance(0.1) ? "null" : self.operand(column)
        default: operand = self.operand(column)
        }
        return JSONText.object([
            ("column", JSONText.string(column.name)), ("op", JSONText.string(op)), ("operand", operand),
        ])
    }

    /// A random filter: a condition, or an AND/OR group (sometimes empty) nested up to `depth`.
    mutating func filter(depth: Int) -> String {
        if depth == 0 || random.chance(0.4) {
            return condition(random.pick(Self.filterColumns), random.pick(Self.operators))
        }
        let items = (0..<(random.chance(0.05) ? 0 : random.int(1...3))).map { _ in filter(depth: depth - 1) }
        let op = random.chance(0.5) ? "AND" : "OR"
        return JSONText.object([("op", JSONText.string(op)), ("operand", "[" + items.joined(separator: ", ") + "]")])
    }

    /// A single operand (JSON) for a condition on `column`, not NULL.
    mutating func operand(_ column: Column) -> String {
        if random.chance(0.15) { return crossTypedOperand() }
        switch column.kind {
        case .text:
            let pool: [String]
            switch column.name {
            case "status": pool = Self.statuses
            case "priority": pool = Self.priorities
            case "area": pool = Self.areas
            case "code": pool = ["P-0000", "P-0100", "P-0250", "P-0399", "P-", "Q"]
            case "ticket_id":
                // A uuid column takes uuid operands only (anything else is refused when the rules load);
                // these sort before, among and after the tickets' ids.
                let bounds = ["00000000-0000-0000-0000-000000000008", "c0000000-0000-0000-0000-000000000000"]
                return JSONText.string(random.pick(tickets.isEmpty ? bounds : [random.pick(tickets).id] + bounds))
            case "requester_email": pool = ["ana@example.com", "ÁLVARO@example.com", "b", "zoe@example.com"]
            default: pool = Self.texts
            }
            let short = ["a", "b", "Z", "é", "e", "ñ", "n", "m", "日"]
            return JSONText.string(random.chance(0.8) ? random.pick(pool) : random.pick(short))
        case .number:
            let number: String
            switch column.name {
            case "level": number = JSONText.number(Double(random.pick(levels)) + (random.chance(0.2) ? 0.5 : 0))
            case "score": number = random.pick(scores.filter { Double($0)!.isFinite })
            case "ratio": number = random.pick(ratios)
            default:
                number = Self.decimal(
                    random.pick(amounts) + (random.chance(0.2) ? Int64(random.int(-1...1)) : 0), places: 3)
            }
            // Sometimes the number written as text: compared as a number all the same.
            return random.chance(0.25) ? JSONText.string(number) : number
        case .instant:
            return JSONText.string(instantText())
        case .bool:
            return random.pick(["true", "false", "\"TRUE\"", "\"false\"", "\"yes\"", "1"])
        }
    }

    /// An operand of another type than its column's: numbers, booleans, and text that may or may
    /// not read as a number, an instant or a boolean.
    mutating func crossTypedOperand() -> String {
        random.pick([
            "12.5", "100", "7", "1e2", "-0.5", "0", "true", "false", "\"12.5\"", "\"100\"", "\" 12\"", "\"1e2\"",
            "\"abc\"",
            "\"0x10\"", "\"12.\"", "\".5\"", "\"+3\"", "\"NaN\"", "\"inf\"", "\"1e400\"", "\"1e-400\"", "\"\"",
            "\"TRUE\"",
            "\"2026-03-01T00:00:00Z\"", JSONText.string(Self.decimal(random.pick(amounts), places: 3)),
        ])
    }

    /// An instant as text in the forms ISO 8601 allows and the engine reads (zones, offsets,
    /// fractions, a bare date), and some it does not.
    mutating func instantText() -> String {
        var t = random.chance(0.7) ? random.pick(instants) : (tickets.isEmpty ? now : random.pick(tickets).createdAt)
        if random.chance(0.2) { t = t + random.pick([Int64(-1), 1, -1_000_000, 1_000_000]) }
        switch random.int(0...13) {
        case 0: return t.iso8601.replacingOccurrences(of: "Z", with: "z")
        case 1: return t.iso8601.replacingOccurrences(of: "T", with: " ")
        case 2, 3:
            let minutes = random.pick([-300, 330, 120, -210, 0, 345, -600])
            let local = Self.wallClock(t + Int64(minutes) * 60_000_000)
            func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
            let sign = minutes < 0 ? "-" : "+"
            let h = two(abs(minutes) / 60)
            let m = two(abs(minutes) % 60)
            switch random.int(0...2) {
            case 0: return local + sign + h + ":" + m
            case 1: return local + sign + h + m
            default: return local + sign + h + (m == "00" ? "" : ":" + m)
            }
        case 4: return CivilDate(daysSinceEpoch: t.microseconds / 86_400_000_000).description
        case 5:
            // More than six digits of a fraction: the seventh on is dropped.
            let micros = ((t.microseconds % 1_000_000) + 1_000_000) % 1_000_000
            let digits = String(micros)
            return Self.wallClock(Instant(seconds: t.seconds)) + "." + String(repeating: "0", count: 6 - digits.count)
                + digits
                + random.pick(["5", "999", "0001"]) + "Z"
        case 6: return Self.wallClock(t)  // no zone: not an instant
        case 7: return String(t.iso8601.prefix(16)) + "Z"  // no seconds
        case 8:
            return random.pick([
                "2026-02-30T10:00:00Z", "2026-13-01", "2026-03-01T24:00:00Z", "2026-03-01T10:60:00Z",
                "2026-03-01T23:59:60Z",
                "2026-03-01T10:00:00+05:75", "2026-03-01T10:00:00+16:00", "now", "infinity", "March 3, 2026",
                "2026-03-01T10:00:00.Z", "2026-03-01T", "2026-3-01", "0000-02-29T00:00:00Z", "2026-03-01T10:00.5Z",
            ])
        default: return t.iso8601
        }
    }

    /// A LIKE pattern: built from a text with `%`, `_`, escapes and a trailing lone backslash.
    mutating func likePattern() -> String {
        let base = Array(random.pick(Self.texts + Self.statuses + Self.areas).unicodeScalars)
        var out = String.UnicodeScalarView()
        for scalar in base {
            switch random.int(0...19) {
            case 0: out.append("_")
            case 1: out.append("%")
            case 2:
                out.append(contentsOf: "\\".unicodeScalars)
                out.append(scalar)
            default:
                if scalar == "%" || scalar == "_" || scalar == "\\", random.chance(0.5) { out.append("\\") }
                out.append(scalar)
            }
        }
        var pattern = String(out)
        if random.chance(0.3) { pattern = "%" + pattern }
        if random.chance(0.3) { pattern += "%" }
        if random.chance(0.06) { pattern += "\\" }
        if random.chance(0.1) {
            pattern = random.pick([
                "%", "_", "__", "%\\%", "\\", "e\u{301}%", "_cole", "%\u{E9}%", "%5%", "1%", "%.%", "-%", "%0",
            ])
        }
        return pattern
    }
}
