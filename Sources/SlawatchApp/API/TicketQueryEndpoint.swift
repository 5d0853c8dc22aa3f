import HTTPServer
import SlawatchCore
import SlawatchStore

/// `POST /api/v1/tickets/query`: every ticket in the token's scope seen through a perspective (README,
/// "The HTTP API"), `{"ok": true, "data": [...]}`.
enum TicketQueryEndpoint {
    static let shape = APIErrorShape.query
    static let grants: Set<String> = ["tickets:read", "tickets:write"]

    static func respond(_ request: APIRequest) -> HTTPServerResponse {
        let now = request.now
        let principal: APIPrincipal
        switch request.authenticate() {
        case .success(let p): principal = p
        case .failure(.unauthenticated): return shape.response(401, now: now)
        case .failure(.forbidden): return shape.response(403, now: now)
        }
        guard !principal.grants.isDisjoint(with: grants) else { return shape.response(403, now: now) }
        let configuration = request.configuration
        let perspective: Perspective
        switch choose(request.http.body, configuration) {
        case .failure(let refused): return shape.response(refused.status, now: now)
        case .success(let p): perspective = p
        }
        if principal.isTicketUser && perspective.id != Perspective.all.id { return shape.response(403, now: now) }
        var also = perspective.filter?.columns ?? []
        if let sort = perspective.sort { also.insert(sort) }
        var selection = TicketSelection(query: TicketQuery())
        selection.query.scope = principal.scope
        selection.filter = perspective.filter
        selection.sortColumn = perspective.sort
        selection.descending = perspective.descending
        selection.compiledFingerprint = request.configuration.compiledFingerprint
        if !selection.needsClocks {
            return streamed(request, selection: selection, alsoColumns: also)
        }
        // A filter or an order on clocks: the rows that match are kept and ordered here.
        let outcome = request.withDatabase { connection -> [APITicketRow] in
            let reader = try configuration.reader(connection, alsoColumns: also)
            return try configuration.evaluators.withEvaluator { evaluator in
                try selection.run(reader, offset: 0, limit: nil, evaluator: evaluator, now: now).rows
            }
        }
        switch outcome {
        case .failure(let failure):
            // A perspective naming a column the view lacks is the operator's to fix; the client sees 500.
            return shape.response(failure.status, now: now)
        case .success(let rows):
            let body = "{\"ok\": true, \"data\": [" + rows.map(ticket).joined(separator: ",") + "]}"
            return HTTPServerResponse(
                status: 200, contentType: "application/json; charset=utf-8", body: Array(body.utf8))
        }
    }

    /// Every ticket of a selection that needs no clock to filter or order, in the database's order,
    /// streamed: memory does not grow with the rows (`All` at a million tickets).
    static func streamed(_ request: APIRequest, selection: TicketSelection, alsoColumns: Set<String>)
        -> HTTPServerResponse
    {
        let lease: BlockingConnectionPool.Lease
        let cursor: TicketCursor
        do {
            lease = try request.pool.borrow()
        } catch {
            return shape.response(request.failure(error).status, now: request.now)
        }
        do {
            cursor = try request.configuration.reader(lease.connection, alsoColumns: alsoColumns).cursor(
                selection.storeQuery)
        } catch {
            request.pool.give(back: lease)
            return shape.response(request.failure(error).status, now: request.now)
        }
        let evaluator = SLAEvaluator(rules: request.configuration.rules)
        let now = request.now
        let stream = CursorStream<(SourceTicket, [StatusChange])>(
            request: request, lease: lease,
            framing: RowFraming(
                first: "{\"ok\": true, \"data\": [", separator: ",", last: "]}", empty: "{\"ok\": true, \"data\": []}"),
            fetch: cursor.next, close: cursor.close
        ) { row, bytes in
            bytes.append(contentsOf: ticket(APITicketRow(row.0, history: row.1, evaluator: evaluator, now: now)).utf8)
            return true
        }
        return HTTPServerResponse(
            status: 200, headers: [("Content-Type", "application/json; charset=utf-8")], body: .stream(stream.next))
    }

    /// The perspective the body names: `{"perspective_id": N}`, `{"search_object": {"search_perspective":
    /// "Name"}}`, or none (an empty body, `{}`): `All`. 400 for a body that is not such an object, 404 for an
    /// unknown perspective.
    static func choose(_ body: [UInt8], _ configuration: APIConfiguration) -> Result<Perspective, Refused> {
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            return .success(Perspective.all)
        }
        guard String(validating: body, as: UTF8.self) != nil, case .object(let members)? = try? JSON5Parser.parse(body)
        else { return .failure(Refused(status: 400)) }
        if let id = members["perspective_id"], id != .null {
            guard case .number(let n) = id, n == n.rounded(), abs(n) < 1e15 else {
                return .failure(Refused(status: 400))
            }
            return configuration.perspective(id: Int(n)).map { .success($0) } ?? .failure(Refused(status: 404))
        }
        if let search = members["search_object"], search != .null {
            guard case .object(let inner) = search else { return .failure(Refused(status: 400)) }
            switch inner["search_perspective"] {
            case nil, .null?: return .success(Perspective.all)
            case .string(let name)?:
                return configuration.perspective(named: name).map { .success($0) } ?? .failure(Refused(status: 404))
            default: return .failure(Refused(status: 400))
            }
        }
        return .success(Perspective.all)
    }

    struct Refused: Error {
        let status: Int
    }

    static func ticket(_ row: APITicketRow) -> String {
        let t = row.ticket
        let e = row.evaluated
        return JSONText.object([
            ("ticket_id", JSONText.string(t.ticketID)), ("number", JSONText.string(t.code)),
            ("status", JSONText.string(t.status)), ("queue", JSONText.optional(t.area)),
            ("priority", JSONText.string(t.priority)), ("subject", JSONText.string(t.title)),
            ("assigned_to_email", JSONText.optional(row.text("assignee"))),
            ("originator_email", JSONText.optional(t.requesterEmail)),
            ("created_at", JSONText.string(APITime.plain(t.createdAt))),
            ("updated_at", JSONText.string(APITime.plain(t.updatedAt))),
            ("due_at", JSONText.optional(e?.reading.dueAt.map(APITime.plain))),
            ("sla_status", JSONText.optional(e?.reading.status.rawValue)),
            ("horas_restantes", e.map { JSONText.number($0.reading.hoursRemaining) } ?? "null"),
        ])
    }
}
