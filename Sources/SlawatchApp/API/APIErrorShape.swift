import HTTPServer
import SlawatchCore

/// The error bodies of the API, one shape per family of endpoints (README, "The HTTP API"): the
/// dashboard and the ticket answer RFC 7807 problems, the ticket list its envelope with a code, the
/// ticket query `{"ok": false, "error"}`, and the rest (health, metrics, an unknown path) a problem too.
enum APIErrorShape: Sendable {
    case problem
    case listEnvelope
    case query

    /// The shape of the endpoints under a path, so that even a wrong method or an unknown path under
    /// an endpoint's prefix gets that endpoint's errors.
    static func forPath(_ path: String) -> APIErrorShape {
        if path.hasPrefix("/api/v2/") { return .listEnvelope }
        if path.hasPrefix("/api/v1/") { return .query }
        return .problem
    }

    /// An error answer. `message`/`details` are for the list envelope; the others carry the status alone
    /// (their text would say no more than the status does).
    func response(
        _ status: Int, code: String? = nil, message: String? = nil, details: String? = nil, now: Instant,
        headers: [(name: String, value: String)] = []
    ) -> HTTPServerResponse {
        let title = Self.titles[status] ?? "Error"
        switch self {
        case .problem:
            let body = JSONText.object([
                ("type", JSONText.string(Self.types[status] ?? "about:blank")), ("title", JSONText.string(title)),
                ("status", String(status)),
            ])
            return HTTPServerResponse(
                status: status, contentType: "application/problem+json", body: Array(body.utf8), headers: headers)
        case .listEnvelope:
            let body = JSONText.object([
                ("success", "false"),
                (
                    "error",
                    JSONText.object([
                        ("code", JSONText.string(code ?? Self.listCodes[status] ?? "ERROR")),
                        ("message", JSONText.string(message ?? title)), ("details", JSONText.optional(details)),
                    ])
                ),
                ("timestamp", JSONText.string(APITime.milliseconds(now))),
            ])
            return HTTPServerResponse(
                status: status, contentType: "application/json; charset=utf-8", body: Array(body.utf8),
                headers: headers)
        case .query:
            let body = JSONText.object([
                ("ok", "false"), ("error", JSONText.string(code ?? Self.queryCodes[status] ?? "error")),
            ])
            return HTTPServerResponse(
                status: status, contentType: "application/json; charset=utf-8", body: Array(body.utf8),
                headers: headers)
        }
    }

    static let titles: [Int: String] = [
        400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
        413: "Payload Too Large", 422: "Unprocessable Entity", 500: "Internal Server Error",
        503: "Service Unavailable",
    ]

    static let types: [Int: String] = [
        400: "https://tools.ietf.org/html/rfc7231#section-6.5.1",
        401: "https://tools.ietf.org/html/rfc7235#section-3.1",
        403: "https://tools.ietf.org/html/rfc7231#section-6.5.3",
        404: "https://tools.ietf.org/html/rfc7231#section-6.5.4",
        405: "https://tools.ietf.org/html/rfc7231#section-6.5.5",
        413: "https://tools.ietf.org/html/rfc7231#section-6.5.11",
        422: "https://tools.ietf.org/html/rfc4918#section-11.2",
        500: "https://tools.ietf.org/html/rfc7231#section-6.6.1",
        503: "https://tools.ietf.org/html/rfc7231#section-6.6.4",
    ]

    static let listCodes: [Int: String] = [
        400: "INVALID_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED",
        413: "PAYLOAD_TOO_LARGE", 422: "INVALID_FILTER", 500: "INTERNAL_ERROR", 503: "SERVICE_UNAVAILABLE",
    ]

    static let queryCodes: [Int: String] = [
        400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
        413: "payload_too_large", 500: "internal_error", 503: "unavailable",
    ]
}
