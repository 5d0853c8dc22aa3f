import CurlTransport
import LoopbackSinks
import Testing

@Suite("HTTPBatchSender against a loopback HTTP sink")
struct HTTPBatchSenderTests {
    /// Generous: these tests must not fail because a loaded CI machine is slow.
    static let patient = Duration.seconds(30)

    @Test func postWithJSONBodyAndHeadersArrivesIntact() async throws {
        let sink = try HTTPSink()
        let sender = try HTTPBatchSender()
        let body = Array(#"{"ticket":"T-1","categoria":"Facturación","vencido":true}"#.utf8)
        let request = HTTPRequest(
            url: sink.url + "/hooks/abc?team=mesa",
            headers: [("Content-Type", "application/json"), ("webhook-id", "evt_123"), ("X-Empty", "")],
            body: body, timeout: Self.patient)

        let response = try await sender.send(request).get()

        #expect(response.statusCode == 200)
        #expect(response.isSuccess)
        #expect(response.body == Array("{}".utf8))
        #expect(response.header("Content-Type") == "application/json")
        #expect(response.headers.allSatisfy { $0.name == $0.name.lowercased() })
        let received = try #require(sink.requests.first)
        #expect(sink.requests.count == 1)
        #expect(received.method == "POST")
        #expect(received.target == "/hooks/abc?team=mesa")
        #expect(received.body == body)
        #expect(received.bodyText.contains("Facturación"))
        #expect(received.header("content-type") == "application/json")
        #expect(received.header("webhook-id") == "evt_123")
        #expect(received.header("x-empty") == "")
        #expect(received.header("content-length") == String(body.count))
        #expect(received.header("expect") == nil)
    }

    @Test func otherMethodsAndALargeBodyArriveIntact() async throws {
        let sink = try HTTPSink()
        let sender = try HTTPBatchSender()
        // Large enough for libcurl to want "Expect: 100-continue" and to need several writes.
        let big = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }

        let results = await sender.send([
            HTTPRequest(url: sink.url + "/put", method: .put, body: big, timeout: Self.patient),
            HTTPRequest(url: sink.url + "/get", method: .get, timeout: Self.patient),
            HTTPRequest(url: sink.url + "/delete", method: .delete, timeout: Self.patient),
        ])

        #expect(try results.map { try $0.get().statusCode } == [200, 200, 200])
        let byTarget = Dictionary(uniqueKeysWithValues: sink.requests.map { ($0.target, $0) })
        #expect(byTarget["/put"]?.method == "PUT")
        #expect(byTarget["/put"]?.body == big)
        #expect(byTarget["/get"]?.method == "GET")
        #expect(byTarget["/get"]?.body == [])
        #expect(byTarget["/delete"]?.method == "DELETE")
    }

    @Test func non2xxIsAResponseAndRetryAfterParses() async throws {
        let sink = try HTTPSink()
        let sender = try HTTPBatchSender()
        sink.enqueue(.init(status: 503, headers: [("Retry-After", "7")], text: "busy"))

        let result = await sender.send(
            HTTPRequest(url: sink.url + "/hook", body: Array("{}".utf8), timeout: Self.patient))

        let response = try result.get()
        #expect(response.statusCode == 503)
        #expect(!response.isSuccess)
        #expect(response.body == Array("busy".utf8))
        #expect(response.retryAfter(now: .now) == .seconds(7))
    }

    @Test func aSlowServerIsATimeout() async throws {
        let sink = try HTTPSink()
        let sender = try HTTPBatchSender()
        // The sink answers after 20 s; the client gives up after 300 ms. The gap is wide enough that only
        // a broken timeout, not a slow machine, can change the outcome.
        sink.enqueue(.init(delay: .seconds(20)))

        let result = await sender.send(
            HTTPRequest(url: sink.url + "/slow", timeout: .milliseconds(300), connectTimeout: Self.patient))

        guard case .failure(let error) = result else {
            Issue.record("expected a timeout, got \(result)")
            return
        }
        #expect(error.kind == .timeout)
        #expect(error.curlCodeName == "CURLE_OPERATION_TIMEDOUT")
        #expect(error.endpoint == "http://127.0.0.1:\(sink.port)")
        #expect(error.description.contains("127.0.0.1:\(sink.port)"))
        #expect(error.description.contains("timeout"))
        #expect(sink.requests.count == 1)
    }

    @Test func aClosedPortIsAConnectionError() async throws {
        let closed = try ClosedPort()
        let sender = try HTTPBatchSender()

        let result = await sender.send(HTTPRequest(url: closed.httpURL + "/hook", timeout: Self.patient))

        guard case .failure(let error) = result else {
            Issue.record("expected a connection error, got \(result)")
            return
        }
        #expect(error.kind == .couldNotConnect)
        #expect(error.kind != .timeout)
        #expect(error.curlCodeName == "CURLE_COULDNT_CONNECT")
        #expect(error.description.contains("\(closed.port)"))
    }

    @Test func aBatchArrivesWholeInOrderAndReusesConnections() async throws {
        let sink = try HTTPSink()
        sink.respond { request in .init(status: 200, text: request.target) }
        let sender = try HTTPBatchSender(configuration: .init(maxConnectionsPerHost: 4))
        let requests = (0..<50).map { index in
            HTTPRequest(
                url: sink.url + "/n/\(index)", headers: [("webhook-id", "msg_\(index)")],
                body: Array("{\"n\":\(index)}".utf8), timeout: Self.patient)
        }

        let first = await sender.send(requests)

        #expect(first.count == 50)
        for (index, result) in first.enumerated() {
            #expect(try result.get().body == Array("/n/\(index)".utf8), "result \(index) is out of order")
        }
        #expect(sink.requests.count == 50)
        #expect(Set(sink.requests.map(\.target)) == Set((0..<50).map { "/n/\($0)" }))
        #expect(sink.requests.allSatisfy { $0.bodyText == "{\"n\":\($0.target.split(separator: "/").last ?? "")}" })
        let connectionsAfterFirst = sink.connectionCount
        #expect(connectionsAfterFirst >= 1)
        #expect(connectionsAfterFirst <= 4)

        // A later batch goes over the connections the first one left open.
        let second = await sender.send(requests)
        #expect(second.allSatisfy { (try? $0.get().statusCode) == 200 })
        #expect(sink.requests.count == 100)
        #expect(sink.connectionCount == connectionsAfterFirst)
    }

    @Test func batchesInFlightTogetherToTwoHostsKeepEachHostsLimitAndTheirOwnOrder() async throws {
        let sinks = [try HTTPSink(), try HTTPSink()]
        for sink in sinks { sink.respond { request in .init(status: 200, text: request.target) } }
        let sender = try HTTPBatchSender(configuration: .init(maxConnectionsPerHost: 2))
        func batch(_ tag: String) -> [HTTPRequest] {
            (0..<60).map { index in
                HTTPRequest(
                    url: sinks[index % 2].url + "/\(tag)/\(index)", body: Array("{}".utf8), timeout: Self.patient)
            }
        }

        // The second batch is queued behind the first, as the dispatcher queues its next claim.
        async let first = sender.send(batch("a"))
        async let second = sender.send(batch("b"))
        let results = await [first, second]

        for (tag, batchResults) in zip(["a", "b"], results) {
            #expect(batchResults.count == 60)
            for (index, result) in batchResults.enumerated() {
                #expect(
                    try result.get().body == Array("/\(tag)/\(index)".utf8),
                    "result \(index) of batch \(tag) is out of place")
            }
        }
        for sink in sinks {
            #expect(sink.requests.count == 60)
            #expect(sink.connectionCount <= 2)
        }
    }

    @Test func headerInjectionIsRefusedWithoutSendingAndSparesTheRestOfTheBatch() async throws {
        let sink = try HTTPSink()
        let sender = try HTTPBatchSender()

        let results = await sender.send([
            HTTPRequest(url: sink.url + "/bad", headers: [("X-Label", "ok\r\nX-Injected: 1")], timeout: Self.patient),
            HTTPRequest(url: sink.url + "/good", timeout: Self.patient),
            HTTPRequest(url: "not a url", timeout: Self.patient),
        ])

        guard case .failure(let injected) = results[0], case .failure(let unparseable) = results[2] else {
            Issue.record("expected failures, got \(results)")
            return
        }
        #expect(injected.kind == .invalidRequest)
        #expect(unparseable.kind == .invalidRequest)
        #expect(try results[1].get().statusCode == 200)
        #expect(sink.requests.map(\.target) == ["/good"])
    }
}
