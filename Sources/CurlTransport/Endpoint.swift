import CCurl
import SlawatchCore

/// `scheme://host:port` of a URL, as libcurl's own URL parser understands it, so that what we check (for
/// example "is this loopback?") is what libcurl will connect to.
struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    var scheme: String
    var host: String
    var port: Int

    var description: String { "\(scheme)://\(host):\(port)" }

    /// Whether the host is this machine, by the one strict rule the rules loader applies too.
    var isLoopback: Bool { Loopback.isLoopbackHost(host) }

    init?(url: String) {
        guard !url.utf8.contains(0), let handle = curl_url() else { return nil }
        defer { curl_url_cleanup(handle) }
        let set = url.withCString { curl_url_set(handle, CURLUPART_URL, $0, 0) }
        guard set == CURLUE_OK else { return nil }
        func part(_ what: CURLUPart, flags: Int32 = 0) -> String? {
            var value: UnsafeMutablePointer<CChar>?
            guard curl_url_get(handle, what, &value, UInt32(flags)) == CURLUE_OK, let value else { return nil }
            defer { curl_free(value) }
            return String(cString: value)
        }
        guard let scheme = part(CURLUPART_SCHEME), let host = part(CURLUPART_HOST),
            let port = part(CURLUPART_PORT, flags: CURLU_DEFAULT_PORT).flatMap({ Int($0) })
        else { return nil }
        self.scheme = scheme.lowercased()
        self.host = host
        self.port = port
    }
}
