import HTTPServer
import SlawatchCore
import SlawatchStore

/// `GET /api/tickets/{codigo}` (the ticket with its clock) and `GET /api/tickets/{codigo}/sla` (its clock
/// explained, as `slawatch ticket CODE --format json`). A ticket outside the token's scope is as unknown
/// as one that does not exist: 404.
enum TicketEndpoint {
    static func respond(_ request: APIRequest, code: String, explain: Bool) -> HTTPServerResponse {
        let shape = APIErrorShape.problem
        let principal: APIPrincipal
        switch request.authenticate() {
        case .success(let p): principal = p
        case .failure(.unauthenticated): return shape.response(401, now: request.now)
        case .failure(.forbidden): return shape.response(403, now: request.now)
        }
        // A NUL cannot be sent to PostgreSQL in text, and no code holds one.
        guard !code.contains("\0") else { return shape.response(404, now: request.now) }
        let evaluators = request.configuration.evaluators
        let outcome = request.withDatabase { connection -> String? in
            var query = TicketQuery()
            query.scope = principal.scope
            query.code = code
            let reader = try request.configuration.reader(connection)
            // The ticket and its history in one statement, prepared once per pooled connection.
            guard
                let (ticket, history) = try reader.pageWithHistories(query, limit: 1, offset: 0, counting: false)
                    .tickets.first
            else { return nil }
            // A kept evaluator: its calendars' timelines are built once, not for every request.
            return try evaluators.withEvaluator { evaluator in
                guard explain else {
                    return body(APITicketRow(ticket, history: history, evaluator: evaluator, now: request.now))
                }
                var events: [TicketCommand.RecordedEvent] = []
                if case .clock = evaluator.evaluate(ticket, changes: history, now: request.now) {
                    events = TicketCommand.recordedEvents(
                        from: try EventLog(connection: connection).events(ofTicket: ticket.ticketID))
                }
                return TicketCommand.explanationJSON(
                    code: ticket.code, ticket: ticket, changes: history, evaluator: evaluator, now: request.now,
                    events: events)
            }
        }
        switch outcome {
        case .failure(let failure): return shape.response(failure.status, now: request.now)
        case .success(nil): return shape.response(404, now: request.now)
        case .success(let text?):
            return HTTPServerResponse(
                status: 200, contentType: "application/json; charset=utf-8", body: Array(text.utf8))
        }
    }

    static func body(_ row: APITicketRow) -> String {
        let t = row.ticket
        var sla = "null"
        if let e = row.evaluated {
            sla = JSONText.object([
                ("sla_horas", JSONText.number(e.reading.slaHours)),
                ("horas_restantes", JSONText.number(e.reading.hoursRemaining)),
                ("vencido", e.reading.isOverdue ? "true" : "false"),
                ("sla_status", JSONText.string(e.reading.status.rawValue)),
                ("due_at", JSONText.optional(e.reading.dueAt?.iso8601)), ("policy", JSONText.string(e.policy.name)),
                ("calendar", JSONText.string(e.policy.calendarName)),
            ])
        }
        return JSONText.object([
            ("IdTicket", JSONText.string(t.ticketID)), ("Codigo", JSONText.string(t.code)),
            ("Titulo", JSONText.string(t.title)), ("Descripcion", JSONText.optional(row.text("description"))),
            ("Area", JSONText.optional(t.area)), ("Prioridad", JSONText.string(t.priority)),
            ("Estado", JSONText.string(t.status)), ("FechaCreacion", JSONText.string(t.createdAt.iso8601)),
            ("FechaActualizacion", JSONText.string(t.updatedAt.iso8601)), ("Sla", sla),
        ]) + "\n"
    }
}
