import HTTPServer

/// Which endpoint a request is for, by path, then method (README, "The HTTP API").
enum APIRoute {
    case dashboard
    case ticket(code: String)
    case ticketSLA(code: String)
    case list
    case query
    case health
    case metrics
    /// A known path with a method it does not take (405, with `Allow`).
    case wrongMethod(name: String, allowed: String)
    case unknown

    init(method: String, path: String) {
        let get = method == "GET" || method == "HEAD"
        let post = method == "POST"
        func checked(_ route: APIRoute, _ ok: Bool, _ name: String, _ allowed: String) -> APIRoute {
            ok ? route : .wrongMethod(name: name, allowed: allowed)
        }
        switch path {
        case "/api/tickets/dashboard": self = checked(.dashboard, get, "dashboard", "GET, HEAD")
        case "/api/v2/ticketing/ticket/list": self = checked(.list, post, "ticket_list", "POST")
        case "/api/v1/tickets/query": self = checked(.query, post, "ticket_query", "POST")
        case "/healthz": self = checked(.health, get, "healthz", "GET, HEAD")
        case "/metrics": self = checked(.metrics, get, "metrics", "GET, HEAD")
        default:
            let prefix = "/api/tickets/"
            guard path.hasPrefix(prefix) else {
                self = .unknown
                return
            }
            var code = String(path.dropFirst(prefix.count))
            var sla = false
            if code.hasSuffix("/sla") {
                code.removeLast(4)
                sla = true
            }
            guard !code.isEmpty, !code.contains("/") else {
                self = .unknown
                return
            }
            self =
                sla
                ? checked(.ticketSLA(code: code), get, "ticket_sla", "GET, HEAD")
                : checked(.ticket(code: code), get, "ticket", "GET, HEAD")
        }
    }

    /// The route's label in the metrics.
    var name: String {
        switch self {
        case .dashboard: return "dashboard"
        case .ticket: return "ticket"
        case .ticketSLA: return "ticket_sla"
        case .list: return "ticket_list"
        case .query: return "ticket_query"
        case .health: return "healthz"
        case .metrics: return "metrics"
        case .wrongMethod(let name, _): return name
        case .unknown: return "unknown"
        }
    }

    func respond(_ request: APIRequest) -> HTTPServerResponse {
        switch self {
        case .dashboard: return DashboardEndpoint.respond(request)
        case .ticket(let code): return TicketEndpoint.respond(request, code: code, explain: false)
        case .ticketSLA(let code): return TicketEndpoint.respond(request, code: code, explain: true)
        case .list: return TicketListEndpoint.respond(request)
        case .query: return TicketQueryEndpoint.respond(request)
        case .health: return HealthEndpoint.health(request)
        case .metrics: return HealthEndpoint.metrics(request)
        case .wrongMethod(_, let allowed):
            return APIErrorShape.forPath(request.http.path).response(
                405, message: "Method Not Allowed", details: "this path takes \(allowed)", now: request.now,
                headers: [("Allow", allowed)])
        case .unknown:
            return APIErrorShape.forPath(request.http.path).response(
                404, message: "Not Found", details: "no endpoint at this path", now: request.now)
        }
    }
}
