import Foundation
import SlawatchCore
import Testing

/// 10,000 random and mutated HTTP requests against a running `slawatch serve` (paths, methods,
/// headers, bodies with invalid UTF-8, NUL, CR/LF, huge numbers, deep nesting), from a fixed seed:
/// every one is answered (no crash, no hang), never with a 500, and every answer the API gives is
/// JSON in the shape of the endpoint its path names. `scripts/fuzz --target api` runs it for longer
/// from a random seed (`SLAWATCH_FUZZ_SEED`, `SLAWATCH_FUZZ_SECONDS`).
@Suite(.serialized) struct APIFuzzTests {
    static let defaultSeed: UInt64 = 0x5EED_A919_2026_0013

    /// SplitMix64: small, fast, and the same sequence everywhere.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
        mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
        mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
    }

    static let paths = [
        "/api/tickets/dashboard", "/api/tickets/TKT-2026-00001", "/api/tickets/TKT-2026-00001/sla",
        "/api/v2/ticketing/ticket/list?type=a&module=b", "/api/v1/tickets/query", "/healthz", "/metrics",
        "/api/tickets/", "/api/v2/", "/", "/api/tickets/%00", "/api/tickets/TKT%2F1", "/api/tickets/%FF%FE",
    ]
    static let bodies = [
        #"{"top": 10, "offset": 0}"#,
        #"{"top": 30, "offset": 5, "search": "facturación", "sort": "dueDate", "searchOrder": "ASC"}"#,
        #"{"top": 5, "offset": 0, "filter": {"op": "AND", "operand": [{"column": "status", "op": "EQ", "operand": "ABIERTO"}, {"column": "slaStatus", "op": "IN", "operand": ["breached", null]}]}}"#,
        #"{"top": 5, "offset": 0, "filter": {"column": "createdAt", "op": "GT", "operand": "2026-03-01"}}"#,
        #"{"perspective_id": 1}"#, #"{"search_object": {"search_perspective": "Abiertos"}}"#, "{}", "",
    ]

    /// One generated request as raw bytes, always with `Connection: close`.
    static func request(_ r: inout Random, tokens: [String]) -> (bytes: [UInt8], incomplete: Bool) {
        var method = r.pick([
            "GET", "POST", "POST", "GET", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "G\u{0}T", "get",
        ])
        var path = r.pick(paths)
        if r.chance(25) { path = mutate(Array(path.utf8), &r).map { String(UnicodeScalar($0)) }.joined() }
        if r.chance(3) { path += String(repeating: "a", count: r.below(9000)) }
        var headers: [(String, [UInt8])] = [("Host", Array("127.0.0.1".utf8)), ("Connection", Array("close".utf8))]
        if r.chance(85) {
            var token = Array(r.pick(tokens).utf8)
            if r.chance(30) { token = mutate(token, &r) }
            headers.append(("Authorization", Array((r.chance(90) ? "Bearer " : "Basic ").utf8) + token))
        }
        if r.chance(80) {
            var tenant = Array("7d3c0b8e-3c1a-4c55-9a0e-2b7f5b1d0001".utf8)
            if r.chance(30) { tenant = mutate(tenant, &r) }
            headers.append(("x-tenantid", tenant))
        }
        if r.chance(10) { headers.append(("X-Junk", mutate(Array("a\r\nb: c".utf8), &r))) }
        var body = Array(r.pick(bodies).utf8)
        if r.chance(50) { body = mutate(body, &r) }
        if r.chance(5) { body = Array(repeating: UInt8(ascii: "["), count: r.below(5000)) }
        if r.chance(3) {
            body = Array(#"{"top": 1e999999, "offset": -0, "perspective_id": 123456789012345678901234567890}"#.utf8)
        }
        if method == "GET" && r.chance(70) { body = [] }
        if r.chance(5) { method = String(repeating: "X", count: r.below(300)) }
        var text = Array("\(method) ".utf8) + Array(path.utf8) + Array(" HTTP/1.1\r\n".utf8)
        for (name, value) in headers { text += Array(name.utf8) + Array(": ".utf8) + value + Array("\r\n".utf8) }
        // A declared length longer than the body would leave the server waiting for the rest until its timeout
        // (the stalled client, tested on its own): only shorter ones, and one far over the limit.
        let length = r.chance(5) ? r.pick([0, body.count / 2, Int(Int32.max)]) : body.count
        text += Array("Content-Length: \(length)\r\n\r\n".utf8) + body
        return (text, false)
    }

    /// Truncations, cuts, repeats, flipped bytes, invalid UTF-8, NUL and CR/LF.
    static func mutate(_ input: [UInt8], _ r: inout Random) -> [UInt8] {
        var bytes = input
        for _ in 0..<(1 + r.below(3)) {
            switch r.below(7) {
            case 0: bytes = Array(bytes.prefix(r.below(bytes.count + 1)))
            case 1 where !bytes.isEmpty:
                let i = r.below(bytes.count)
                bytes[i] = UInt8(truncatingIfNeeded: r.next())
            case 2:
                bytes.insert(
                    r.pick([0x00, 0x0D, 0x0A, 0xFF, 0xC3, 0x80, 0x22, 0x7B, 0x5B]), at: r.below(bytes.count + 1))
            case 3 where bytes.count > 1:
                let i = r.below(bytes.count)
                bytes.removeSubrange(i..<min(bytes.count, i + 1 + r.below(8)))
            case 4:
                bytes += Array(
                    r.pick(["99999999999999999999999", "-1", "null", "\"\u{0}\"", "{}", "[]", "\\u0000"]).utf8)
            case 5 where !bytes.isEmpty:
                let i = r.below(bytes.count)
                bytes.insert(contentsOf: bytes[i..<min(bytes.count, i + 16)], at: i)
            default: bytes.reverse()
            }
        }
        return bytes
    }

    @Test func tenThousandRandomRequestsAreAllAnsweredInShape() async throws {
        let environment = ProcessInfo.processInfo.environment
        var seed = Self.defaultSeed
        if let text = environment["SLAWATCH_FUZZ_SEED"], !text.isEmpty {
            seed = (text.hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : UInt64(text)) ?? seed
        }
        let seconds = environment["SLAWATCH_FUZZ_SECONDS"].flatMap(Double.init)
        let s = try await APITests.Setup(extra: ["--timeout", "2s", "--threads", "4"])
        let server = s.server
        let tokens = [
            try server.token(role: "ADMIN", scope: "tickets:read"), try server.token(role: "AREA", area: "TECNOLOGIA"),
            try server.token(role: "ticket_user", email: "ana@example.com", scope: "tickets:read"),
            try server.token(role: "ADMIN", secret: String(repeating: "z", count: 40)), "not.a.token",
        ]
        let started = ContinuousClock.now
        var failures: [String] = []
        var index = 0
        // Bounded: 10,000 requests, or the asked seconds.
        while seconds.map({ ContinuousClock.now - started < .seconds($0) }) ?? (index < 10_000), failures.count < 10 {
            var random = Random(state: seed ^ (UInt64(index) &* 0xD1B5_4A32_D192_ED03))
            let (request, incomplete) = Self.request(&random, tokens: tokens)
            let t0 = ContinuousClock.now
            defer {
                if ContinuousClock.now - t0 > .milliseconds(250) {
                    print(
                        "SLOW \(ContinuousClock.now - t0) \(String(decoding: request.prefix(150), as: UTF8.self).debugDescription)"
                    )
                }
            }
            if let problem = Self.check(request, incomplete: incomplete, port: server.port) {
                failures.append(
                    "input \(index) (seed \(seed)): \(problem)\n  request: \(String(decoding: request.prefix(300), as: UTF8.self).debugDescription)"
                )
            }
            index += 1
        }
        for failure in failures { Issue.record("\(failure)") }
        let health = try await server.get("/healthz")
        #expect(health.statusCode == 200, "the server still answers after \(index) requests")
        #expect(server.child.process.isRunning)
        print("APIFuzzTests: \(index) requests in \(ContinuousClock.now - started), seed \(seed)")
    }

    /// A chunked body's content; nil when a chunk is malformed or the last one is missing.
    static func dechunked(_ bytes: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        var i = 0
        // Bounded: each step moves past one chunk.
        while i < bytes.count {
            guard let lineEnd = bytes[i...].firstRange(of: Array("\r\n".utf8)),
                let size = Int(String(decoding: bytes[i..<lineEnd.lowerBound], as: UTF8.self), radix: 16)
            else { return nil }
            if size == 0 { return out }
            let start = lineEnd.upperBound
            guard start + size + 2 <= bytes.count else { return nil }
            out += bytes[start..<(start + size)]
            i = start + size + 2
        }
        return nil
    }

    /// What is wrong with the server's answer to one request; nil when nothing is.
    static func check(_ request: [UInt8], incomplete: Bool, port: Int) -> String? {
        let connection: RawHTTP
        do { connection = try RawHTTP(port: port, receiveTimeout: .milliseconds(100)) } catch {
            return "cannot connect: the server is gone"
        }
        // The server may answer and close before reading everything (a body over the limit).
        try? connection.send(request)
        if incomplete { connection.finishSending() }
        let started = ContinuousClock.now
        var answer = connection.readResponse(within: .milliseconds(300))
        if answer.isEmpty {
            // The server still waits for more of the request (a mutation made it longer than what was sent):
            // the client ends its side, as a client that gives up does.
            connection.finishSending()
            answer = connection.readResponse(within: .seconds(10))
        }
        if ContinuousClock.now - started > .seconds(8) { return "no answer within 8 s (a hang)" }
        // A request the server could not read as HTTP may be closed without an answer.
        guard !answer.isEmpty else { return nil }
        let text = String(decoding: answer, as: UTF8.self)
        guard text.hasPrefix("HTTP/1."), let status = Int(text.dropFirst(9).prefix(3)) else {
            return "not an HTTP answer: \(text.prefix(80).debugDescription)"
        }
        if status == 500 { return "500: \(text.prefix(400).debugDescription)" }
        guard let split = answer.firstRange(of: Array("\r\n\r\n".utf8)) else { return "no end of headers" }
        let head = String(decoding: answer[..<split.lowerBound], as: UTF8.self).lowercased()
        var body = Array(answer[split.upperBound...])
        if head.contains("transfer-encoding: chunked") {
            guard let whole = dechunked(body) else { return "a chunked body that does not end properly" }
            body = whole
        }
        // libmicrohttpd answers what it cannot parse itself (400, 413, 414, 431, 505) before the API sees it.
        let fromAPI = head.contains("content-type: application/")
        if !fromAPI {
            if head.contains("content-type: text/plain; version=0.0.4") { return nil }  // /metrics
            return [400, 405, 413, 414, 431, 501, 505].contains(status) ? nil : "status \(status) without a JSON body"
        }
        // A HEAD answer has no body.
        if body.isEmpty && request.starts(with: Array("HEAD ".utf8)) { return nil }
        guard let json = try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]) else {
            return
                "status \(status): the body is not JSON: \(String(decoding: body.prefix(200), as: UTF8.self).debugDescription)"
        }
        guard status >= 400 else { return nil }
        // The error shape of the endpoint the path names.
        let path = String(decoding: request.drop { $0 != 0x20 }.dropFirst().prefix { $0 != 0x20 }, as: UTF8.self)
        let object = json as? [String: Any] ?? [:]
        if path.hasPrefix("/api/v2/") {
            let error = object["error"] as? [String: Any]
            if object["success"] as? Bool != false || error?["code"] is String == false
                || object["timestamp"] is String == false
            {
                return
                    "status \(status): not the list's error envelope: \(String(decoding: body.prefix(200), as: UTF8.self))"
            }
        } else if path.hasPrefix("/api/v1/") {
            if object["ok"] as? Bool != false || object["error"] is String == false {
                return
                    "status \(status): not the query's error shape: \(String(decoding: body.prefix(200), as: UTF8.self))"
            }
        } else if object["status"] as? Int != status || object["type"] is String == false {
            return "status \(status): not a problem: \(String(decoding: body.prefix(200), as: UTF8.self))"
        }
        return nil
    }
}
