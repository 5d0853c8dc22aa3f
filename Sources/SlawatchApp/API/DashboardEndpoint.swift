import HTTPServer
import SlawatchCore
import SlawatchStore

/// `GET /api/tickets/dashboard`: the dashboard's array (README, "The dashboard"), scoped by the token,
/// equal to `slawatch dashboard --format json` at the same instant, streamed a batch at a time.
enum DashboardEndpoint {
    static func respond(_ request: APIRequest) -> HTTPServerResponse {
        let shape = APIErrorShape.problem
        let principal: APIPrincipal
        switch request.authenticate() {
        case .success(let p): principal = p
        case .failure(.unauthenticated): return shape.response(401, now: request.now)
        case .failure(.forbidden): return shape.response(403, now: request.now)
        }
        let lease: BlockingConnectionPool.Lease
        let cursor: TicketCursor
        do {
            lease = try request.pool.borrow()
        } catch {
            return shape.response(request.failure(error).status, now: request.now)
        }
        do {
            var query = TicketQuery()
            query.scope = principal.scope
            cursor = try TicketReader(connection: lease.connection, rules: request.configuration.rules).cursor(query)
        } catch {
            request.pool.give(back: lease)
            return shape.response(request.failure(error).status, now: request.now)
        }
        let stream = DashboardStream(
            request: request, lease: lease, cursor: cursor, evaluator: SLAEvaluator(rules: request.configuration.rules))
        return HTTPServerResponse(
            status: 200, headers: [("Content-Type", "application/json; charset=utf-8")], body: .stream(stream.next))
    }

    /// One dashboard element, as the CLI writes it.
    static func fields(_ e: EvaluatedTicket) -> [(String, String)] {
        let t = e.ticket
        return [
            ("ticket_uuid", JSONText.string(t.ticketID)), ("label", JSONText.string(t.code)),
            ("categoria", JSONText.optional(t.category)), ("correo", JSONText.optional(t.requesterEmail)),
            ("estado_code", JSONText.string(t.status)), ("prioridad_nom", JSONText.string(t.priority)),
            ("area_asignada", JSONText.optional(t.area)), ("actualizado_en", JSONText.string(t.updatedAt.iso8601)),
            ("sla_horas", JSONText.number(e.reading.slaHours)),
            ("horas_restantes", JSONText.number(e.reading.hoursRemaining)),
            ("vencido", e.reading.isOverdue ? "true" : "false"),
        ]
    }
}

/// The dashboard's body, produced a batch of tickets at a time on the connection's thread; gives its
/// connection back when the body ends or the client goes away.
final class DashboardStream {
    private let request: APIRequest
    private var lease: BlockingConnectionPool.Lease?
    private var cursor: TicketCursor?
    private let evaluator: SLAEvaluator
    private var rowsWritten = 0

    init(request: APIRequest, lease: BlockingConnectionPool.Lease, cursor: TicketCursor, evaluator: SLAEvaluator) {
        self.request = request
        self.lease = lease
        self.cursor = cursor
        self.evaluator = evaluator
    }

    deinit { finish() }

    func next() throws -> [UInt8]? {
        guard let cursor else { return nil }
        let batch: [(SourceTicket, [StatusChange])]?
        do {
            batch = try cursor.next()
        } catch {
            _ = request.failure(error)
            finish()
            throw error
        }
        guard let batch else {
            finish()
            return Array((rowsWritten == 0 ? "[]\n" : "\n]\n").utf8)
        }
        var text = ""
        for (ticket, history) in batch {
            guard case .clock(let e) = evaluator.evaluate(ticket, changes: history, now: request.now) else { continue }
            text += (rowsWritten == 0 ? "[\n  " : ",\n  ") + JSONText.object(DashboardEndpoint.fields(e))
            rowsWritten += 1
        }
        return Array(text.utf8)
    }

    private func finish() {
        cursor?.close()
        cursor = nil
        if let lease { request.pool.give(back: lease) }
        lease = nil
    }
}
