import CurlTransport
import Glibc
import HTTPServer
import Synchronization
import Testing

@Suite("HTTPServer over loopback HTTP")
struct HTTPServerTests {
    /// Generous: these tests must not fail because a loaded machine is slow.
    static let patient = Duration.seconds(30)

    static func url(_ server: HTTPServer, _ target: String) -> String {
        "http://127.0.0.1:\(server.port)\(target)"
    }

    @Test func getWithHeadersAndQueryRoundTrips() async throws {
        let handler = TestHandler { request in
            let query = request.queryItems.map { "\($0.name)=\($0.value ?? "<nil>")" }.joined(separator: "&")
            let text = [
                request.method, request.path, query, request.header("x-ticket") ?? "-",
                request.header("X-TICKET") ?? "-", request.remoteHost, String(request.remotePort > 0),
                String(request.body.count),
            ].joined(separator: "|")
            return HTTPServerResponse(
                status: 203, contentType: "text/plain", body: Array(text.utf8), headers: [("X-Answer", "sí")])
        }
        let server = try HTTPServer(handler: handler)
        let sender = try HTTPBatchSender()
        let response = try await sender.send(
            HTTPRequest(
                url: Self.url(server, "/tickets/TKT%2042?area=TECNOLOG%C3%8DA&q=a+b&flag&empty="), method: .get,
                headers: [("X-Ticket", "TKT-1")], timeout: Self.patient)
        ).get()

        #expect(response.statusCode == 203)
        #expect(
            String(decoding: response.body, as: UTF8.self)
                == "GET|/tickets/TKT 42|area=TECNOLOGÍA&q=a b&flag=<nil>&empty=|TKT-1|TKT-1|127.0.0.1|true|0")
        #expect(response.header("x-answer") == "sí")
        #expect(response.header("content-type") == "text/plain")
        #expect(response.header("content-length") == String(response.body.count))
        #expect(handler.callCount == 1)
    }

    @Test func postBodyRoundTrips() async throws {
        let handler = TestHandler { request in
            HTTPServerResponse(
                status: 200, contentType: request.header("content-type") ?? "?",
                body: request.method == "POST" ? request.body : [])
        }
        let server = try HTTPServer(handler: handler)
        let sender = try HTTPBatchSender()
        let body = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let response = try await sender.send(
            HTTPRequest(
                url: Self.url(server, "/echo"), headers: [("Content-Type", "application/octet-stream")], body: body,
                timeout: Self.patient)
        ).get()

        #expect(response.statusCode == 200)
        #expect(response.body == body)
        #expect(response.header("content-type") == "application/octet-stream")
    }

    @Test func aBodyOfExactlyTheLimitIsAcceptedAndOneByteMoreIsRefused() async throws {
        let handler = TestHandler { request in
            HTTPServerResponse(status: 200, contentType: "text/plain", body: Array(String(request.body.count).utf8))
        }
        let configuration = HTTPServer.Configuration(rejectionResponse: { rejection in
            HTTPServerResponse(
                status: 0, contentType: "application/json",
                body: Array(#"{"error":"\#(rejection.status)"}"#.utf8))
        })
        let server = try HTTPServer(configuration: configuration, handler: handler)
        let sender = try HTTPBatchSender()
        let limit = 1 << 20
        let fits = try await sender.send(
            HTTPRequest(
                url: Self.url(server, "/upload"), body: [UInt8](repeating: 0x61, count: limit), timeout: Self.patient)
        ).get()
        #expect(fits.statusCode == 200)
        #expect(fits.body == Array(String(limit).utf8))
        #expect(handler.callCount == 1)

        let tooLong = try await sender.send(
            HTTPRequest(
                url: Self.url(server, "/upload"), body: [UInt8](repeating: 0x61, count: limit + 1),
                timeout: Self.patient)
        ).get()
        #expect(tooLong.statusCode == 413)
        #expect(tooLong.body == Array(#"{"error":"413"}"#.utf8))
        #expect(tooLong.header("content-type") == "application/json")

        // A client that waits for "100 Continue" is answered before it sends the body.
        let announced = try await sender.send(
            HTTPRequest(
                url: Self.url(server, "/upload"), headers: [("Expect", "100-continue")],
                body: [UInt8](repeating: 0x61, count: 3 * limit), timeout: Self.patient)
        ).get()
        #expect(announced.statusCode == 413)
        #expect(handler.callCount == 1)
    }

    @Test func aChunkedBodyOverTheLimitIsRefused() throws {
        let handler = TestHandler { _ in HTTPServerResponse(status: 200) }
        let server = try HTTPServer(configuration: .init(maxRequestBodyBytes: 10), handler: handler)
        let connection = try RawConnection(port: server.port)
        try connection.send(
            "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                + "8\r\n01234567\r\n8\r\n89abcdef\r\n0\r\n\r\n")
        let answer = try #require(connection.readUntilClosed(within: Self.patient))
        #expect(String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.1 413 "))
        #expect(handler.callCount == 0)
    }

    @Test func aResponseMHDRefusesBecomesA500() async throws {
        let handler = TestHandler { request in
            switch request.path {
            case "/crlf": return HTTPServerResponse(status: 200, headers: [("X-Injected", "a\r\nSet-Cookie: b")])
            case "/status": return HTTPServerResponse(status: 42)
            default: return HTTPServerResponse(status: 204)
            }
        }
        let logged = Mutex<[String]>([])
        let configuration = HTTPServer.Configuration(log: { line in logged.withLock { $0.append(line) } })
        let server = try HTTPServer(configuration: configuration, handler: handler)
        let sender = try HTTPBatchSender()
        let results = await sender.send(
            ["/crlf", "/status", "/fine"].map {
                HTTPRequest(url: Self.url(server, $0), method: .get, timeout: Self.patient)
            })
        let statuses = try results.map { try $0.get().statusCode }
        #expect(statuses == [500, 500, 204])
        #expect(try results[0].get().header("set-cookie") == nil)
        // Ours, one per refused response; libmicrohttpd adds its own line about the status.
        #expect(logged.withLock { $0.filter { $0.hasPrefix("refused the handler's response") }.count } == 2)
    }

    @Test func aStreamOf50MBKeepsServerMemoryFlat() async throws {
        let total = 50_000_000
        let pieceSize = 64 * 1024
        let produced = Atomic<Int>(0)
        let growth = Atomic<Int>(0)
        // One period of the body's byte pattern, longer than a piece: each piece is a slice of it.
        let pattern = (0..<(pieceSize + 251)).map { UInt8($0 % 251) }
        let handler = TestHandler { _ in
            var sent = 0
            var baseline = 0
            return HTTPServerResponse(
                status: 200, headers: [("Content-Type", "application/octet-stream")],
                body: .stream {
                    guard sent < total else { return nil }
                    let count = min(pieceSize, total - sent)
                    // Made on demand from the offset: nothing of the body is kept.
                    let start = sent % 251
                    let piece = Array(pattern[start..<(start + count)])
                    sent += count
                    produced.store(sent, ordering: .releasing)
                    if sent >= 5_000_000, sent - count < 5_000_000 {
                        baseline = residentBytes()
                    } else if baseline > 0, sent % (2_000_000) < count {
                        let grown = residentBytes() - baseline
                        if grown > growth.load(ordering: .relaxed) { growth.store(grown, ordering: .relaxed) }
                    }
                    return piece
                })
        }
        let server = try HTTPServer(handler: handler)
        // The client keeps the first KiB and reads the rest into nothing, so the process's memory is the
        // server's.
        let sender = try HTTPBatchSender(configuration: .init(maxResponseBodyBytes: 1024))
        let response = try await sender.send(
            HTTPRequest(url: Self.url(server, "/export"), method: .get, timeout: .seconds(120))
        ).get()

        #expect(response.statusCode == 200)
        #expect(response.header("transfer-encoding") == "chunked")
        #expect(response.bodyWasTruncated)
        #expect(response.body == (0..<1024).map { UInt8($0 % 251) })
        #expect(produced.load(ordering: .acquiring) == total)
        #expect(growth.load(ordering: .relaxed) < 20_000_000, "resident memory grew while streaming")
    }

    @Test func aSlowProducerIsWaitedFor() async throws {
        let handler = TestHandler { _ in
            var pieces = 0
            return HTTPServerResponse(
                status: 200,
                body: .stream {
                    guard pieces < 5 else { return nil }
                    pieces += 1
                    usleep(150_000)
                    return pieces == 3 ? [] : Array("piece \(pieces);".utf8)
                })
        }
        let server = try HTTPServer(handler: handler)
        let sender = try HTTPBatchSender()
        let response = try await sender.send(
            HTTPRequest(url: Self.url(server, "/slow"), method: .get, timeout: Self.patient)
        ).get()
        #expect(response.statusCode == 200)
        #expect(String(decoding: response.body, as: UTF8.self) == "piece 1;piece 2;piece 4;piece 5;")
    }

    @Test func aProducerThatFailsCutsTheBodyShort() async throws {
        struct Broken: Error {}
        let handler = TestHandler { _ in
            var pieces = 0
            return HTTPServerResponse(
                status: 200,
                body: .stream {
                    pieces += 1
                    if pieces > 2 { throw Broken() }
                    return Array("piece;".utf8)
                })
        }
        let server = try HTTPServer(handler: handler)
        let sender = try HTTPBatchSender()
        let result = await sender.send(
            HTTPRequest(url: Self.url(server, "/broken"), method: .get, timeout: Self.patient))
        #expect(throws: TransportError.self) { try result.get() }
    }

    @Test func thirtyTwoConcurrentKeepAliveClients() async throws {
        let ports = Mutex<Set<Int>>([])
        let handler = TestHandler { request in
            ports.withLock { _ = $0.insert(request.remotePort) }
            usleep(2_000)
            return HTTPServerResponse(status: 200, contentType: "text/plain", body: Array(request.path.utf8))
        }
        let server = try HTTPServer(configuration: .init(threadPoolSize: 4), handler: handler)
        let sender = try HTTPBatchSender(configuration: .init(maxConnectionsPerHost: 32, maxConcurrentTransfers: 32))
        let requests = (0..<640).map {
            HTTPRequest(url: Self.url(server, "/r/\($0)"), method: .get, timeout: Self.patient)
        }
        let results = await sender.send(requests)

        for (index, result) in results.enumerated() {
            let response = try result.get()
            #expect(response.statusCode == 200)
            #expect(response.body == Array("/r/\(index)".utf8))
        }
        #expect(handler.callCount == 640)
        let used = ports.withLock { $0.count }
        // Keep-alive: each of the 32 clients sent its requests over one connection (a few may be reopened).
        #expect(used <= 40, "\(used) connections for 640 requests")
        #expect(used >= 2)
    }

    @Test func aClientThatStallsHalfwayIsCut() throws {
        let handler = TestHandler { _ in HTTPServerResponse(status: 200) }
        let server = try HTTPServer(configuration: .init(connectionTimeout: .seconds(1)), handler: handler)
        let connection = try RawConnection(port: server.port)
        try connection.send("GET /half HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Partial: ")
        let started = ContinuousClock.now
        let answer = connection.readUntilClosed(within: .seconds(20))
        #expect(answer != nil, "the stalled connection was not closed")
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(handler.callCount == 0)
    }

    @Test(arguments: [
        "GET / HTTP/one\r\nHost: a\r\n\r\n",
        "GET / JUNK/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nNo colon here\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: twelve\r\n\r\n",
    ])
    func malformedRequestsGet400FromMHD(request: String) throws {
        let handler = TestHandler { _ in HTTPServerResponse(status: 200) }
        let server = try HTTPServer(handler: handler)
        let connection = try RawConnection(port: server.port)
        try connection.send(request)
        let answer = try #require(connection.readUntilClosed(within: Self.patient))
        let text = String(decoding: answer, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 400 "), "\(text.prefix(80))")
        #expect(handler.callCount == 0)
    }

    @Test func aRequestLineWithoutATargetIsDroppedByMHD() throws {
        let handler = TestHandler { _ in HTTPServerResponse(status: 200) }
        let server = try HTTPServer(handler: handler)
        let connection = try RawConnection(port: server.port)
        try connection.send("GARBAGE\r\n\r\n")
        // libmicrohttpd 0.9.75 closes such a connection without an answer; later versions answer 400.
        let answer = try #require(connection.readUntilClosed(within: Self.patient))
        let text = String(decoding: answer, as: UTF8.self)
        #expect(text.isEmpty || text.hasPrefix("HTTP/1.1 400 "), "\(text.prefix(80))")
        #expect(handler.callCount == 0)
    }

    @Test func stopLetsASlowRequestFinishAndThenRefusesConnections() async throws {
        let entered = Atomic<Bool>(false)
        let refusedWhileBusy = Atomic<Bool>(false)
        let serving = Mutex<HTTPServer?>(nil)
        let handler = TestHandler { _ in
            entered.store(true, ordering: .releasing)
            // Still busy well after stop() has begun, however slowly the stopping thread gets to run.
            let deadline = ContinuousClock.now + Self.patient
            while serving.withLock({ $0?.isStopping != true }), ContinuousClock.now < deadline {
                usleep(1_000)
            }
            // And until the test has seen a new connection refused.
            while !refusedWhileBusy.load(ordering: .acquiring), ContinuousClock.now < deadline {
                usleep(1_000)
            }
            return HTTPServerResponse(status: 200, contentType: "text/plain", body: Array("done".utf8))
        }
        let server = try HTTPServer(handler: handler)
        serving.withLock { $0 = server }
        let sender = try HTTPBatchSender()
        let url = Self.url(server, "/slow")
        async let slow = sender.send(HTTPRequest(url: url, method: .get, timeout: Self.patient))
        let deadline = ContinuousClock.now + Self.patient
        while !entered.load(ordering: .acquiring), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(server.requestsInFlight == 1)
        // stop() blocks; it runs on a thread of its own so that this task can go on awaiting the answer.
        let stopped = Thread.run { server.stop() }
        // While the slow request is still in flight, the listening socket already refuses connections.
        let refusing = ContinuousClock.now + Self.patient
        while ContinuousClock.now < refusing, (try? RawConnection(port: server.port)) != nil {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(server.requestsInFlight == 1)
        #expect((try? RawConnection(port: server.port)) == nil)
        refusedWhileBusy.store(true, ordering: .releasing)

        let response = try await slow.get()
        #expect(response.statusCode == 200)
        #expect(response.body == Array("done".utf8))
        stopped.join()
        serving.withLock { $0 = nil }
        #expect(server.isStopping)
        #expect(server.requestsInFlight == 0)

        let after = await sender.send(HTTPRequest(url: url, method: .get, timeout: .seconds(5)))
        #expect(throws: TransportError.self) { try after.get() }
        #expect(handler.callCount == 1)
    }

    @Test
    func aRequestArrivingDuringStopIsNotHandled() async throws {
        let entered = Atomic<Bool>(false)
        let serving = Mutex<HTTPServer?>(nil)
        let handler = TestHandler { request in
            entered.store(true, ordering: .releasing)
            // Answers only once stop() has begun, however slowly the stopping thread gets to run.
            let deadline = ContinuousClock.now + Self.patient
            while serving.withLock({ $0?.isStopping != true }), ContinuousClock.now < deadline {
                usleep(1_000)
            }
            return HTTPServerResponse(status: 200, contentType: "text/plain", body: Array(request.path.utf8))
        }
        let server = try HTTPServer(handler: handler)
        serving.withLock { $0 = server }
        let connection = try RawConnection(port: server.port)
        // Pipelined: the second request waits in libmicrohttpd's buffer while the first is handled.
        try connection.send("GET /first HTTP/1.1\r\nHost: a\r\n\r\nGET /second HTTP/1.1\r\nHost: a\r\n\r\n")
        let deadline = ContinuousClock.now + Self.patient
        while !entered.load(ordering: .acquiring), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        let stopped = Thread.run { server.stop() }
        let answer = String(decoding: try #require(connection.readUntilClosed(within: Self.patient)), as: UTF8.self)
        stopped.join()
        serving.withLock { $0 = nil }

        #expect(answer.hasPrefix("HTTP/1.1 200 "))
        #expect(answer.contains("/first"))
        // The second is answered 503 and the connection closed; should stop() win the race to the
        // connection, it is closed without an answer. Either way the handler never sees it.
        let rest = answer[(answer.range(of: "/first")?.upperBound ?? answer.endIndex)...]
        #expect(rest.isEmpty || rest.hasPrefix("HTTP/1.1 503 "), "\(rest.prefix(80))")
        #expect(handler.callCount == 1)
    }

    @Test func portZeroPicksAPortAndABadHostIsAnError() throws {
        let handler = TestHandler { _ in HTTPServerResponse(status: 204) }
        let first = try HTTPServer(handler: handler)
        let second = try HTTPServer(handler: handler)
        #expect(first.port > 0 && second.port > 0 && first.port != second.port)
        #expect(throws: HTTPServerError.self) {
            try HTTPServer(configuration: .init(host: "localhost"), handler: handler)
        }
        #expect(throws: HTTPServerError.self) {
            try HTTPServer(configuration: .init(port: first.port), handler: handler)
        }
    }
}

/// A POSIX thread running one closure, joinable: stop() blocks, and must not block Swift's cooperative pool.
struct Thread: Sendable {
    private let id: pthread_t

    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    static func run(_ body: @escaping @Sendable () -> Void) -> Thread {
        let box = Unmanaged.passRetained(Body(body)).toOpaque()
        var id = pthread_t()
        let created = pthread_create(
            &id, nil,
            { argument in
                guard let argument else { return nil }
                Unmanaged<Body>.fromOpaque(argument).takeRetainedValue().run()
                return nil
            }, box)
        precondition(created == 0, "pthread_create failed")
        return Thread(id: id)
    }

    func join() { _ = pthread_join(id, nil) }
}
