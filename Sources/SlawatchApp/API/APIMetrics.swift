import Synchronization

/// The API's own Prometheus figures: requests by route and status, and a latency histogram by route.
final class APIMetrics: Sendable {
    /// Upper bounds of the latency buckets, in seconds.
    static let buckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    private struct Figures {
        var requests: [String: [Int: Int]] = [:]
        /// Per route: a count per bucket (not cumulative), the sum and the count.
        var latency: [String: (buckets: [Int], sum: Double, count: Int)] = [:]
    }

    private let figures = Mutex(Figures())

    func record(route: String, status: Int, seconds: Double) {
        figures.withLock { f in
            f.requests[route, default: [:]][status, default: 0] += 1
            var l = f.latency[route] ?? (Array(repeating: 0, count: Self.buckets.count), 0, 0)
            if let i = Self.buckets.firstIndex(where: { seconds <= $0 }) { l.buckets[i] += 1 }
            l.sum += seconds
            l.count += 1
            f.latency[route] = l
        }
    }

    /// Prometheus text exposition of the API's figures.
    func text() -> String {
        let f = figures.withLock { $0 }
        var lines = [
            "# HELP slawatch_api_requests_total HTTP requests answered, by route and status.",
            "# TYPE slawatch_api_requests_total counter",
        ]
        for route in f.requests.keys.sorted() {
            for status in f.requests[route]!.keys.sorted() {
                lines.append(
                    "slawatch_api_requests_total{route=\"\(route)\",status=\"\(status)\"} \(f.requests[route]![status]!)"
                )
            }
        }
        lines += [
            "# HELP slawatch_api_request_duration_seconds Time to answer a request (to its first byte when streamed).",
            "# TYPE slawatch_api_request_duration_seconds histogram",
        ]
        for route in f.latency.keys.sorted() {
            let l = f.latency[route]!
            var cumulative = 0
            for (i, bound) in Self.buckets.enumerated() {
                cumulative += l.buckets[i]
                lines.append(
                    "slawatch_api_request_duration_seconds_bucket{route=\"\(route)\",le=\"\(bound)\"} \(cumulative)")
            }
            lines.append("slawatch_api_request_duration_seconds_bucket{route=\"\(route)\",le=\"+Inf\"} \(l.count)")
            lines.append("slawatch_api_request_duration_seconds_sum{route=\"\(route)\"} \(l.sum)")
            lines.append("slawatch_api_request_duration_seconds_count{route=\"\(route)\"} \(l.count)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
