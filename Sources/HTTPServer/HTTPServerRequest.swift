/// One complete request, as libmicrohttpd parsed it.
public struct HTTPServerRequest: Sendable {
    /// The method token as sent (`GET`, `POST`, ...).
    public var method: String
    /// The path without the query string, percent-decoded by libmicrohttpd (`/tickets/TKT 1` for
    /// `/tickets/TKT%201`).
    public var path: String
    /// The query string's items in order, names and values decoded (`%xx` and `+`); an item without `=`
    /// has a nil value.
    public var queryItems: [(name: String, value: String?)]
    /// The header lines in order, names as the client wrote them; look them up with ``header(_:)``.
    public var headers: [(name: String, value: String)]
    /// The complete body; empty when there was none.
    public var body: [UInt8]
    /// The client's IP address as text (`127.0.0.1`, `::1`); empty when unknown.
    public var remoteHost: String
    /// The client's TCP port; 0 when unknown.
    public var remotePort: Int

    public init(
        method: String, path: String, queryItems: [(name: String, value: String?)] = [],
        headers: [(name: String, value: String)] = [], body: [UInt8] = [], remoteHost: String = "",
        remotePort: Int = 0
    ) {
        self.method = method
        self.path = path
        self.queryItems = queryItems
        self.headers = headers
        self.body = body
        self.remoteHost = remoteHost
        self.remotePort = remotePort
    }

    /// The first value of a header, by name compared without regard to ASCII case.
    public func header(_ name: String) -> String? {
        headers.first { asciiCaseInsensitiveEqual($0.name, name) }?.value
    }

    /// Every value of a header, in order, by name compared without regard to ASCII case.
    public func headerValues(_ name: String) -> [String] {
        headers.filter { asciiCaseInsensitiveEqual($0.name, name) }.map(\.value)
    }

    /// The value of the first query item with this exact name; nil when absent or without a value.
    public func queryValue(_ name: String) -> String? {
        queryItems.first { $0.name == name }?.value ?? nil
    }
}

/// Header names are ASCII tokens; comparing their bytes avoids Unicode case mapping.
func asciiCaseInsensitiveEqual(_ a: String, _ b: String) -> Bool {
    let a = a.utf8
    let b = b.utf8
    guard a.count == b.count else { return false }
    return zip(a, b).allSatisfy { x, y in
        let lowerX = (0x41...0x5A).contains(x) ? x | 0x20 : x
        let lowerY = (0x41...0x5A).contains(y) ? y | 0x20 : y
        return lowerX == lowerY
    }
}
