import HTTPServer
import SlawatchCore
import SlawatchStore

/// `POST /api/v2/ticketing/ticket/list?type=T&module=M`: a page of the tickets in the token's scope,
/// filtered, searched and sorted, in the help desk's envelope (README, "The HTTP API").
enum TicketListEndpoint {
    static let shape = APIErrorShape.listEnvelope

    struct Parameters {
        var top = 0
        var offset = 0
        var search: String?
        var sortColumn: String?
        var descending = true
        var filter: Filter?
    }

    static func respond(_ request: APIRequest) -> HTTPServerResponse {
        let now = request.now
        let principal: APIPrincipal
        switch request.authenticate() {
        case .success(let p): principal = p
        case .failure(.unauthenticated): return shape.response(401, message: "Unauthorized", now: now)
        case .failure(.forbidden):
            return shape.response(403, message: "Forbidden", details: "the token's role may not list tickets", now: now)
        }
        let api = request.configuration.rules.api
        guard let tenant = request.http.header("x-tenantid") else {
            return invalid("the x-tenantid header is required", now)
        }
        guard ColumnType.isUUID(tenant) else { return invalid("the x-tenantid header is not a UUID", now) }
        if let expected = api?.tenantID, expected.lowercased() != tenant.lowercased() {
            return shape.response(404, message: "Not Found", details: "unknown tenant", now: now)
        }
        if let realm = api?.realm, request.http.header("realmname") != realm {
            return shape.response(404, message: "Not Found", details: "unknown realm", now: now)
        }
        let parameters: Parameters
        switch read(request.http.body) {
        case .failure(.invalidRequest(let details)): return invalid(details, now)
        case .failure(.invalidFilter(let details)):
            return shape.response(422, message: "Invalid filter configuration", details: details, now: now)
        case .success(let p): parameters = p
        }
        let outcome = request.withDatabase { connection -> Result<(Int, [APITicketRow]), ReadProblem> in
            var also = parameters.filter?.columns ?? []
            let reader = try request.configuration.reader(connection)
            let view = reader.source.layout.viewColumnTypes
            if let filter = parameters.filter {
                do throws(APIFilter.Problem) {
                    try APIFilter.check(filter, view: view)
                } catch {
                    switch error {
                    case .invalid(let text), .unsupportedOperator(let text): return .failure(.invalidFilter(text))
                    }
                }
            }
            if let sort = parameters.sortColumn {
                guard ComputedColumn.names.contains(sort) || view.contains(where: { $0.name == sort }) else {
                    return .failure(
                        .invalidRequest(
                            "sort: \(sort) is neither a field of the list (\(APIField.columns.keys.sorted().joined(separator: ", "))) nor a column of the tickets view"
                        ))
                }
                also.insert(sort)
            }
            let wide =
                also.subtracting(ComputedColumn.names).isEmpty
                ? reader : try request.configuration.reader(connection, alsoColumns: also)
            var selection = TicketSelection(query: TicketQuery())
            selection.query.scope = principal.scope
            selection.query.search = parameters.search
            selection.filter = parameters.filter
            selection.sortColumn = parameters.sortColumn
            selection.descending = parameters.descending
            selection.compiledFingerprint = request.configuration.compiledFingerprint
            return .success(
                try request.configuration.evaluators.withEvaluator { evaluator in
                    try selection.run(
                        wide, offset: parameters.offset, limit: parameters.top, evaluator: evaluator, now: now)
                })
        }
        let total: Int
        let rows: [APITicketRow]
        switch outcome {
        case .failure(let failure):
            return shape.response(failure.status, now: now)
        case .success(.failure(.invalidRequest(let details))):
            return invalid(details, now)
        case .success(.failure(.invalidFilter(let details))):
            return shape.response(422, message: "Invalid filter configuration", details: details, now: now)
        case .success(.success(let result)):
            (total, rows) = result
        }
        let pagination = JSONText.object([
            ("total", String(total)), ("top", String(parameters.top)), ("offset", String(parameters.offset)),
            ("hasMore", parameters.offset + rows.count < total ? "true" : "false"),
        ])
        let data = JSONText.object([
            ("tickets", "[" + rows.map(ticket).joined(separator: ",") + "]"), ("pagination", pagination),
            ("module", JSONText.optional(request.http.queryValue("module"))),
            ("type", JSONText.optional(request.http.queryValue("type"))),
        ])
        let body = JSONText.object([
            ("success", "true"), ("message", JSONText.string("Tickets retrieved successfully")), ("data", data),
            ("timestamp", JSONText.string(APITime.milliseconds(now))),
        ])
        return HTTPServerResponse(
            status: 200, contentType: "application/json; charset=utf-8", body: Array(body.utf8))
    }

    static func ticket(_ row: APITicketRow) -> String {
        let t = row.ticket
        let e = row.evaluated
        return JSONText.object([
            ("id", JSONText.string(t.ticketID)), ("ticketNumber", JSONText.string(t.code)),
            ("subject", JSONText.string(t.title)), ("description", JSONText.optional(row.text("description"))),
            ("status", JSONText.string(t.status)), ("priority", JSONText.string(t.priority)),
            ("category", JSONText.optional(t.category)), ("subcategory", JSONText.optional(row.text("subcategory"))),
            ("assignee", JSONText.optional(row.text("assignee"))),
            (
                "requester",
                JSONText.object([
                    ("id", JSONText.optional(row.text("requester_id"))),
                    ("name", JSONText.optional(row.text("requester_name"))),
                    ("email", JSONText.optional(t.requesterEmail)),
                ])
            ),
            ("team", JSONText.optional(t.area)), ("createdAt", JSONText.string(APITime.milliseconds(t.createdAt))),
            ("updatedAt", JSONText.string(APITime.milliseconds(t.updatedAt))),
            ("dueDate", JSONText.optional(e?.reading.dueAt.map(APITime.milliseconds))),
            ("slaStatus", JSONText.optional(e?.reading.status.rawValue)),
        ])
    }

    enum ReadProblem: Error {
        case invalidRequest(String)
        case invalidFilter(String)
    }

    static func invalid(_ details: String, _ now: Instant) -> HTTPServerResponse {
        shape.response(400, message: "Invalid request", details: details, now: now)
    }

    /// The body's parameters, each checked.
    static func read(_ body: [UInt8]) -> Result<Parameters, ReadProblem> {
        guard String(validating: body, as: UTF8.self) != nil else {
            return .failure(.invalidRequest("the body is not UTF-8 text"))
        }
        let value: JSONValue
        do {
            value = try JSON5Parser.parse(body)
        } catch {
            return .failure(.invalidRequest("the body is not valid JSON: \(error.description)"))
        }
        guard case .object(let members) = value else {
            return .failure(.invalidRequest("the body is not a JSON object"))
        }
        var p = Parameters()
        func whole(_ name: String, _ range: ClosedRange<Int>) -> Result<Int, ReadProblem> {
            guard let v = members[name] else { return .failure(.invalidRequest("\(name) is required")) }
            guard case .number(let n) = v, n == n.rounded(), n >= Double(range.lowerBound),
                n <= Double(range.upperBound)
            else {
                let bound =
                    range.upperBound == Int.max ? "0 or more" : "from \(range.lowerBound) to \(range.upperBound)"
                return .failure(.invalidRequest("\(name) must be a whole number \(bound), found \(v.shortDescription)"))
            }
            return .success(Int(n))
        }
        switch whole("top", 1...100) {
        case .success(let n): p.top = n
        case .failure(let f): return .failure(f)
        }
        // An offset beyond any table is as good as the last: bounded so that offset + top fits.
        switch whole("offset", 0...Int(Int32.max)) {
        case .success(let n): p.offset = n
        case .failure(let f): return .failure(f)
        }
        switch members["search"] {
        case nil, .null?: break
        case .string(let text)?:
            guard !text.contains("\0") else { return .failure(.invalidRequest("search must not contain NUL")) }
            p.search = text.isEmpty ? nil : text
        case let other?: return .failure(.invalidRequest("search must be a string, found \(other.shortDescription)"))
        }
        switch members["sort"] {
        case nil, .null?: break
        case .string(let text)?:
            if !text.isEmpty {
                let column = APIField.column(text)
                guard QualifiedName.isIdentifier(column) else {
                    return .failure(.invalidRequest("sort: expected a field such as updatedAt or a column name"))
                }
                p.sortColumn = column
            }
        case let other?: return .failure(.invalidRequest("sort must be a string, found \(other.shortDescription)"))
        }
        for key in ["sortOrder", "searchOrder"] {
            switch members[key] {
            case nil, .null?: continue
            case .string(let text)?:
                if text.isEmpty { continue }
                switch text.uppercased() {
                case "ASC": p.descending = false
                case "DESC": p.descending = true
                default: return .failure(.invalidRequest("\(key) must be ASC or DESC, found \"\(text.prefix(40))\""))
                }
            case let other?:
                return .failure(.invalidRequest("\(key) must be ASC or DESC, found \(other.shortDescription)"))
            }
        }
        do {
            p.filter = try APIFilter.read(members["filter"])
        } catch {
            switch error {
            case .unsupportedOperator(let text), .invalid(let text): return .failure(.invalidFilter(text))
            }
        }
        return .success(p)
    }
}
