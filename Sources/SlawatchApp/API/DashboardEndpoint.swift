import HTTPServer
import SlawatchCore
import SlawatchStore

/// `GET /api/tickets/dashboard`: the dashboard's array (README, "The dashboard"), scoped by the token,
/// equal to `slawatch dashboard --format json` at the same instant, streamed a batch at a time: from the SQL
/// function when the database holds the server's rules (compiled by `migrate`), else evaluated here.
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
        let framing = RowFraming(first: "[\n  ", separator: ",\n  ", last: "\n]\n", empty: "[]\n")
        do {
            // The SQL function, when the database holds these rules: it reads the clocks the worker
            // stored and computes only the others, where the engine would compute every one.
            if let rows = try DashboardCursor.open(
                lease.connection, fingerprint: request.configuration.compiledFingerprint, scope: principal.scope,
                now: request.now)
            {
                let stream = CursorStream<DashboardEntry>(
                    request: request, lease: lease, framing: framing, fetch: rows.next, close: rows.close
                ) { entry, bytes in
                    DashboardCommand.appendJSON(entry, to: &bytes)
                    return true
                }
                return HTTPServerResponse(
                    status: 200, headers: [("Content-Type", "application/json; charset=utf-8")],
                    body: .stream(stream.next))
            }
            var query = TicketQuery()
            query.scope = principal.scope
            cursor = try request.configuration.reader(lease.connection).cursor(query)
        } catch {
            request.pool.give(back: lease)
            return shape.response(request.failure(error).status, now: request.now)
        }
        let evaluator = SLAEvaluator(rules: request.configuration.rules)
        let now = request.now
        let stream = CursorStream<(SourceTicket, [StatusChange])>(
            request: request, lease: lease, framing: framing, fetch: cursor.next, close: cursor.close
        ) { ticket, bytes in
            // Tickets without a clock are left out, as in the CLI.
            guard let e = APITicketRow(ticket.0, history: ticket.1, evaluator: evaluator, now: now).evaluated
            else { return false }
            DashboardCommand.appendJSON(DashboardEntry(e), to: &bytes)
            return true
        }
        return HTTPServerResponse(
            status: 200, headers: [("Content-Type", "application/json; charset=utf-8")], body: .stream(stream.next))
    }
}
