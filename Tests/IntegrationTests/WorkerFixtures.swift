import Foundation
import LoopbackSinks
import PostgresClient
import SlawatchApp
import SlawatchCore
import Testing

/// The instants the worker tests act at. Tickets are created at `t0`; with the 24x7 calendar of
/// `WorkerRules` a CRITICA ticket (4 h) is at 50 % at t0+2h, breached just after t0+4h.
enum WorkerClock {
    static let t0 = Instant(iso8601: "2026-03-24T08:00:00Z")!
    static let hour: Int64 = 3_600_000_000
    static let minute: Int64 = 60_000_000
    static let second: Int64 = 1_000_000

    static func at(hours: Double) -> Instant { t0 + Int64(hours * Double(hour)) }
    static func at(hours: Double, seconds: Int64) -> Instant { at(hours: hours) + seconds * second }
}

/// Rules for the worker tests: one 24x7 policy (CRITICA 4 h, ALTA 8 h, MEDIA 24 h) and the
/// channels, routes and smtp section each test gives.
enum WorkerRules {
    static func text(
        channels: String, routes: String, smtp: String? = nil, warnAt: String = "[50, 75, 90]",
        escalateAfter: String = "[]"
    ) -> String {
        """
        {
          calendars: { "24x7": { type: "always" } },
          policies: [
            { name: "todo_24x7", calendar: "24x7", targets: { CRITICA: 4, ALTA: 8, MEDIA: 24 },
              pause_statuses: ["EN_ESPERA"], stop_statuses: ["RESUELTO", "CERRADO"],
              warn_at: \(warnAt), escalate_after: \(escalateAfter) },
          ],
          channels: \(channels),
          \(smtp.map { "smtp: \($0)," } ?? "")
          routes: \(routes),
        }
        """
    }

    /// Every kind of event to `channels`, sent at once.
    static func allEvents(to channels: [String], extra: String = "") -> String {
        let names = channels.map { "\"\($0)\"" }.joined(separator: ", ")
        return
            #"[{ events: ["sla.warning", "sla.breached", "sla.escalated", "sla.met_after_breach"], channels: [\#(names)]\#(extra) }]"#
    }
}

/// A fresh database holding the reference help-desk schema, with helpers to add tickets by SQL
/// and to read back what the worker recorded.
final class WorkerHelpDesk {
    let db: TestDatabase
    let connection: PostgresConnection
    private var nextTicket = 100

    init() throws {
        db = try TestDatabase()
        try db.loadReferenceSchema()
        connection = try db.connect()
    }

    var url: String { db.url }

    /// A ticket id that is stable for a given sequence number.
    static func uuid(_ n: Int) -> String {
        let digits = String(n)
        return "00000000-0000-0000-0000-" + String(repeating: "0", count: 12 - digits.count) + digits
    }

    static func code(_ n: Int) -> String {
        let digits = String(n)
        return "TKT-2026-" + String(repeating: "0", count: max(0, 5 - digits.count)) + digits
    }

    /// Inserts a ticket with no status history: its status holds from its creation, so its
    /// clock runs from `created` on. Returns (uuid, code).
    @discardableResult
    func addTicket(
        title: String = "Servidor de correo caído", priority: String = "CRITICA", status: String = "ABIERTO",
        area: String? = "TECNOLOGIA", created: Instant = WorkerClock.t0
    ) throws -> (id: String, code: String) {
        nextTicket += 1
        let id = Self.uuid(nextTicket)
        let code = Self.code(nextTicket)
        try connection.query(
            """
            INSERT INTO public.tickets (id, codigo, titulo, descripcion, categoria, usuario_id, area_id, prioridad_id, estado_id, creado_en, actualizado_en)
            VALUES ($1::uuid, $2, $3, '', 'Pruebas', NULL, (SELECT id FROM public.areas WHERE nombre = $4),
                    (SELECT id FROM public.prioridades WHERE nombre = $5), (SELECT id FROM public.estados WHERE code = $6),
                    $7::timestamptz, $7::timestamptz)
            """,
            [
                .text(id), .text(code), .text(title), PostgresParameter(area), .text(priority), .text(status),
                .text(created.iso8601),
            ])
        return (id, code)
    }

    /// An area whose manager has no e-mail address.
    func addAreaWithoutManager(_ name: String) throws {
        try connection.query("INSERT INTO public.areas (nombre, correo_responsable) VALUES ($1, NULL)", [.text(name)])
    }

    func setPriority(of code: String, to priority: String, at instant: Instant) throws {
        let result = try connection.query(
            """
            UPDATE public.tickets SET prioridad_id = (SELECT id FROM public.prioridades WHERE nombre = $2), actualizado_en = $3::timestamptz
            WHERE codigo = $1
            """, [.text(code), .text(priority), .text(instant.iso8601)])
        #expect(result.affectedRows == 1)
    }

    /// Moves a ticket to `status` at `instant` (no history rows: the status holds from then on).
    func setStatus(of code: String, to status: String, at instant: Instant) throws {
        let result = try connection.query(
            """
            UPDATE public.tickets SET estado_id = (SELECT id FROM public.estados WHERE code = $2), actualizado_en = $3::timestamptz
            WHERE codigo = $1
            """, [.text(code), .text(status), .text(instant.iso8601)])
        #expect(result.affectedRows == 1)
    }

    /// `slawatch.events` rows: (id, kind, level, target hours, notified), ordered by id.
    func events() throws -> [StoredEvent] {
        try connection.query(
            "SELECT id, ticket_code, kind, level, target_us, notified FROM slawatch.events ORDER BY id"
        ).rows.map { r in
            StoredEvent(
                id: try r.string(0), code: try r.string(1), kind: try r.string(2), level: try r.double(3),
                targetHours: Double(try r.int(4)) / 3_600_000_000, notified: try r.bool(5))
        }
    }

    /// Counts rows of a slawatch table, or 0 when the schema does not exist.
    func count(_ table: String) throws -> Int {
        let exists = try connection.query("SELECT to_regclass($1) IS NOT NULL", [.text("slawatch." + table)]).rows[0]
            .bool(0)
        guard exists else { return 0 }
        return try connection.query("SELECT count(*) FROM slawatch.\(table)").rows[0].int(0)
    }

    /// The deliveries as `slawatch deliveries --format json` shows them.
    func deliveries(status: String? = nil) async throws -> [DeliveryRow] {
        var args = ["deliveries", "--format", "json", "--database", url]
        if let status { args += ["--status", status] }
        let result = await slawatch(args)
        try #require(result.status == 0, "slawatch deliveries failed: \(result.stderr)")
        return try JSONDecoder().decode([DeliveryRow].self, from: Data(result.stdout.utf8))
    }

    /// `due_at` of one delivery, exactly, from the table.
    func dueAt(delivery id: Int) throws -> Instant {
        Instant(
            microseconds: try connection.query(
                "SELECT due_at FROM slawatch.deliveries WHERE id = $1", [PostgresParameter(id)]
            ).rows[0].timestamp(0))
    }
}

struct StoredEvent: Equatable, CustomStringConvertible {
    let id: String
    let code: String
    let kind: String
    let level: Double
    let targetHours: Double
    let notified: Bool
    var description: String { "\(id) notified=\(notified)" }
}

/// One element of `slawatch deliveries --format json`.
struct DeliveryRow: Decodable, CustomStringConvertible {
    struct Failure: Decodable {
        let at: String
        let error: String
    }
    let id: Int
    let label: String
    let kind: String
    let channel: String
    let recipient: String
    let status: String
    let attempts: Int
    let due_at: String
    let sent_at: String?
    let last_error: String?
    let errors: [Failure]
    /// The id of the message that carried it.
    let message: String?
    /// The delivery that made it stale.
    let superseded_by: Int?

    var description: String {
        "#\(id) \(label) \(kind) \(channel) \(recipient) \(status) attempts=\(attempts) error=\(last_error ?? "-")"
    }
}

/// One element of `slawatch events --format json`.
struct EventRow: Decodable {
    let id: String
    let label: String
    let kind: String
    let level: Double
    let sla_horas: Double
    let crossed_at: String?
    let detected_at: String
    let notified: Bool
}

/// The command line of one worker cycle at `now`. Full passes stay hourly, so that the cycles in
/// between are incremental ones, as at a large help desk.
func workerArguments(_ rules: TemporaryRules, _ desk: WorkerHelpDesk, at now: Instant, _ extra: [String] = [])
    -> [String]
{
    ["run", "--once", "--rules", rules.path, "--database", desk.url, "--now", now.iso8601, "--full-every", "1h"] + extra
}

/// Runs one worker cycle in-process at `now`.
func runOnce(_ rules: TemporaryRules, _ desk: WorkerHelpDesk, at now: Instant, _ extra: [String] = []) async
    -> CLIResult
{
    await slawatch(workerArguments(rules, desk, at: now, extra))
}

/// Runs one worker cycle and requires it to succeed.
@discardableResult
func requireRunOnce(
    _ rules: TemporaryRules, _ desk: WorkerHelpDesk, at now: Instant, _ extra: [String] = [],
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> CLIResult {
    let result = await runOnce(rules, desk, at: now, extra)
    try #require(
        result.status == 0, "slawatch run --once at \(now.iso8601) exited \(result.status): \(result.stderr)",
        sourceLocation: sourceLocation)
    return result
}

/// A request body parsed as a JSON object.
func jsonObject(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
    let value = try JSONSerialization.jsonObject(with: Data(bytes))
    return try #require(
        value as? [String: Any], "not a JSON object: \(String(decoding: bytes, as: UTF8.self))",
        sourceLocation: sourceLocation)
}

/// Polls `condition` every 50 ms until it holds or `timeout` passes; returns whether it held.
func eventually(timeout: Duration = .seconds(20), _ condition: () throws -> Bool) async rethrows -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if try condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return try condition()
}
