import HTTPServer
import SlawatchCore
import SlawatchStore

/// `GET /healthz` and `GET /metrics`, without a token.
enum HealthEndpoint {
    /// 200 `{"status": "ok"}` when the database answers, else 503 `{"status": "unavailable"}`.
    static func health(_ request: APIRequest) -> HTTPServerResponse {
        let answered = request.withDatabase { connection in try WorkerStore(connection: connection).ping() }
        let ok: Bool
        if case .success = answered { ok = true } else { ok = false }
        let body = JSONText.object([("status", JSONText.string(ok ? "ok" : "unavailable"))]) + "\n"
        return HTTPServerResponse(
            status: ok ? 200 : 503, contentType: "application/json; charset=utf-8", body: Array(body.utf8))
    }

    /// Prometheus text: the API's requests and latency, the delivery backlog and the age of the latest
    /// worker cycle (both left out when the database does not answer, with `slawatch_api_database_up 0`).
    static func metrics(_ request: APIRequest) -> HTTPServerResponse {
        var text = request.metrics.text()
        let figures = request.withDatabase { connection in
            let workers = WorkerStore(connection: connection)
            return (try workers.deliveryBacklog(), try workers.lastHeartbeat())
        }
        text += "# HELP slawatch_api_database_up Whether the database answered this scrape.\n"
        text += "# TYPE slawatch_api_database_up gauge\n"
        if case .success(let (backlog, heartbeat)) = figures {
            text += "slawatch_api_database_up 1\n"
            text += "# HELP slawatch_delivery_backlog Deliveries pending or awaiting a retry.\n"
            text += "# TYPE slawatch_delivery_backlog gauge\nslawatch_delivery_backlog \(backlog)\n"
            if let heartbeat {
                let age = Double(request.now - heartbeat) / 1_000_000
                text += "# HELP slawatch_worker_last_cycle_age_seconds Time since the latest worker cycle.\n"
                text += "# TYPE slawatch_worker_last_cycle_age_seconds gauge\n"
                text += "slawatch_worker_last_cycle_age_seconds \(JSONText.number(age))\n"
            }
        } else {
            text += "slawatch_api_database_up 0\n"
        }
        return HTTPServerResponse(
            status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: Array(text.utf8))
    }
}
