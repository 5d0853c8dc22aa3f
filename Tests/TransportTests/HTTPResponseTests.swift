import CurlTransport
import Testing

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

@Suite("HTTPResponse helpers")
struct HTTPResponseTests {
    // 2015-10-21T07:20:00Z, eight minutes before the date below (checked with Python:
    // calendar.timegm(email.utils.parsedate("Wed, 21 Oct 2015 07:28:00 GMT")) == 1445412480).
    let now = Date(timeIntervalSince1970: 1_445_412_000)

    @Test func retryAfterReadsDeltaSeconds() {
        let response = HTTPResponse(statusCode: 429, headers: [("Retry-After", " 120 ")])
        #expect(response.retryAfter(now: now) == .seconds(120))
    }

    @Test func retryAfterReadsAnHTTPDateRelativeToNow() {
        let response = HTTPResponse(statusCode: 503, headers: [("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")])
        #expect(response.retryAfter(now: now) == .seconds(480))
    }

    @Test func retryAfterInThePastMeansNow() {
        let response = HTTPResponse(statusCode: 503, headers: [("Retry-After", "Wed, 21 Oct 2015 07:00:00 GMT")])
        #expect(response.retryAfter(now: now) == .zero)
    }

    @Test func retryAfterIsNilWhenAbsentOrUnreadable() {
        #expect(HTTPResponse(statusCode: 503).retryAfter(now: now) == nil)
        #expect(HTTPResponse(statusCode: 503, headers: [("Retry-After", "soon")]).retryAfter(now: now) == nil)
        #expect(HTTPResponse(statusCode: 503, headers: [("Retry-After", "-5")]).retryAfter(now: now) == nil)
    }

    @Test func headerNamesAreLowercasedAndLookupsIgnoreCase() {
        let response = HTTPResponse(statusCode: 200, headers: [("X-Trace", "a"), ("x-trace", "b"), ("ETag", "e")])
        #expect(response.headers.map(\.name) == ["x-trace", "x-trace", "etag"])
        #expect(response.header("X-TRACE") == "a")
        #expect(response.headerValues("x-Trace") == ["a", "b"])
        #expect(response.header("missing") == nil)
    }
}
