import CCurl

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A complete HTTP response, whatever its status: a 404 or a 503 is a response, not an error.
///
/// Header names are lowercased and kept in the order received; a repeated header appears once per line.
/// Only the final response's headers are kept (an interim `100 Continue` is dropped).
public struct HTTPResponse: Sendable {
    public var statusCode: Int
    public var headers: [(name: String, value: String)]
    /// The body, up to the sender's `maxResponseBodyBytes`; see ``bodyWasTruncated``.
    public var body: [UInt8]
    /// True when the server sent more than the sender keeps; the rest was read and discarded, so the
    /// connection stays reusable.
    public var bodyWasTruncated: Bool

    /// Lowercases the header names, so that a response built by hand behaves like a received one.
    public init(
        statusCode: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = [],
        bodyWasTruncated: Bool = false
    ) {
        self.statusCode = statusCode
        self.headers = headers.map { (name: $0.name.lowercased(), value: $0.value) }
        self.body = body
        self.bodyWasTruncated = bodyWasTruncated
    }

    /// 200...299.
    public var isSuccess: Bool { (200..<300).contains(statusCode) }

    /// The first value of a header, by case-insensitive name.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name == wanted }?.value
    }

    /// Every value of a header, in order, by case-insensitive name.
    public func headerValues(_ name: String) -> [String] {
        let wanted = name.lowercased()
        return headers.filter { $0.name == wanted }.map(\.value)
    }

    /// How long the server asked us to wait, from `Retry-After`: either delta-seconds (`120`) or an
    /// HTTP-date, taken relative to `now` (a date in the past means "now": zero). Nil when the header is
    /// absent or unreadable. No upper bound is applied here; capping is the caller's policy.
    public func retryAfter(now: Date) -> Duration? {
        guard let raw = header("retry-after")?.trimmingASCIISpaces, !raw.isEmpty else { return nil }
        if raw.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) {
            // All digits but too large for Int: the server means "a very long time".
            return .seconds(Int64(raw) ?? Int64.max)
        }
        // Every HTTP-date names a month; without a letter this is a malformed delta ("-5", "1.5"), which
        // libcurl's lenient date parser might still turn into some date.
        guard raw.contains(where: { $0.isLetter }) else { return nil }
        // libcurl's date parser accepts the three formats RFC 9110 requires recipients to read
        // (IMF-fixdate, RFC 850, asctime).
        let parsed = raw.withCString { curl_getdate($0, nil) }
        guard parsed != -1 else { return nil }
        let delta = Double(parsed) - now.timeIntervalSince1970
        return delta <= 0 ? .zero : .milliseconds(Int64((delta * 1000).rounded()))
    }
}

extension String {
    var trimmingASCIISpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
