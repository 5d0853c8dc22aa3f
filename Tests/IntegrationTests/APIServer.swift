import CurlTransport
import Foundation
import Glibc
import SlawatchCore
import Testing
import TokenAuth

/// A `slawatch serve` child process on a free loopback port, against a test database, at a fixed
/// `--now`; requests go to it over HTTP with libcurl.
final class APIServer {
    static let secret = "api-test-secret-api-test-secret-0123456789"
    static let tenant = "7d3c0b8e-3c1a-4c55-9a0e-2b7f5b1d0001"
    static let patient = Duration.seconds(30)

    /// The `api` and `perspectives` keys the tests add to a help desk's rules.
    static let rules = """
        {
          api: { jwt: { secret: "${SLAWATCH_TEST_JWT_SECRET}" } },
          perspectives: [
            { id: 1, name: "Vencidos", filter: { column: "vencido", op: "EQ", operand: true }, sort: "horas_restantes", desc: false },
            { id: 2, name: "Abiertos", filter: { column: "status", op: "EQ", operand: "ABIERTO" }, sort: "ticketNumber", desc: false },
          ],
        }
        """

    let child: WorkerProcessTests.Child
    let port: Int
    let sender: HTTPBatchSender
    let now: Instant

    init(database: String, rules: String, now: Instant, extra: [String] = []) async throws {
        let executable = try WorkerProcessTests.requireExecutable()
        child = try WorkerProcessTests.Child(
            executable,
            ["serve", "--listen", "127.0.0.1:0", "--database", database, "--rules", rules, "--now", now.iso8601]
                + extra, environment: ["SLAWATCH_TEST_JWT_SECRET": Self.secret])
        self.now = now
        var found: Int?
        let started = await eventually(timeout: Self.patient) { [child] in
            if let line = child.stdout.split(separator: "\n").first(where: { $0.hasPrefix("listening on http://") }),
                let colon = line.lastIndex(of: ":")
            {
                found = Int(line[line.index(after: colon)...])
            }
            return found != nil || !child.process.isRunning
        }
        guard started, let found else {
            throw TestSetupError("slawatch serve did not start: \(child.stderr)")
        }
        port = found
        sender = try HTTPBatchSender(configuration: .init(maxResponseBodyBytes: 64 << 20))
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    func get(_ path: String, token: String? = nil, headers: [(name: String, value: String)] = []) async throws
        -> HTTPResponse
    {
        try await send(path, method: .get, token: token, headers: headers, body: [])
    }

    func post(
        _ path: String, token: String? = nil, headers: [(name: String, value: String)] = [], json: String
    ) async throws -> HTTPResponse {
        try await send(
            path, method: .post, token: token, headers: headers + [("Content-Type", "application/json")],
            body: Array(json.utf8))
    }

    func send(
        _ path: String, method: HTTPMethod, token: String?, headers: [(name: String, value: String)], body: [UInt8]
    ) async throws -> HTTPResponse {
        var all = headers
        if let token { all.append(("Authorization", "Bearer \(token)")) }
        return try await sender.send(
            HTTPRequest(url: url(path), method: method, headers: all, body: body, timeout: Self.patient)
        ).get()
    }

    /// A token signed with the test secret, valid for an hour around `now` unless `exp` is given.
    func token(
        role: String?, area: String? = nil, email: String? = nil, scope: String? = nil, exp: Instant? = nil,
        secret: String = APIServer.secret
    ) throws -> String {
        var claims: [String: JSONValue] = ["exp": .number(Double((exp ?? now + 3_600_000_000).seconds))]
        if let role { claims["role"] = .string(role) }
        if let area { claims["area"] = .string(area) }
        if let email { claims["email"] = .string(email) }
        if let scope { claims["scope"] = .string(scope) }
        return try JWTSigner(algorithm: .hs256, secret: Array(secret.utf8)).sign(claims)
    }

    /// Sends SIGTERM and waits for the exit status.
    func terminate() async -> Int32? {
        kill(child.process.processIdentifier, SIGTERM)
        return await child.waitForExit(timeout: Self.patient)
    }
}

extension HTTPResponse {
    var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as a JSON object (an empty one when it is not).
    var object: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
}
