import CMicroHTTPD
import CMicroHTTPDShim

/// One request between libmicrohttpd's first callback and its completion notice: what was parsed and the
/// body so far. Used only on the pool thread that serves its connection; held through `con_cls` by a
/// retain that the request-completed callback gives back.
final class RequestState {
    let method: String
    let path: String
    private(set) var queryItems: [(name: String, value: String?)] = []
    private(set) var headers: [(name: String, value: String)] = []
    let remoteHost: String
    let remotePort: Int
    var body: [UInt8] = []
    /// Set once the body is known to be too long: the handler is not called, the rejection is the answer.
    var overflow: HTTPRejection?
    /// Bytes of an overflowing body read (and dropped) so far.
    var discardedBytes = 0
    /// An answer given before the body is read; libmicrohttpd then closes the connection after it.
    var earlyAnswer: HTTPRejection?

    init(connection: OpaquePointer, method: String, path: String) {
        self.method = method
        self.path = path
        var host = [CChar](repeating: 0, count: 64)
        var port: UInt32 = 0
        if slawatch_mhd_client_address(connection, &host, host.count, &port) != 0 {
            remoteHost = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            remotePort = Int(port)
        } else {
            remoteHost = ""
            remotePort = 0
        }
        let me = Unmanaged.passUnretained(self).toOpaque()
        _ = MHD_get_connection_values_n(connection, .HEADER_KIND, collectHeader, me)
        _ = MHD_get_connection_values_n(connection, .GET_ARGUMENT_KIND, collectQueryItem, me)
    }

    /// `Content-Length` when the client sent a valid one; nil for a chunked body or none.
    var declaredBodyLength: Int? {
        guard let text = header("Content-Length"), !text.isEmpty, text.utf8.allSatisfy({ (0x30...0x39).contains($0) })
        else { return nil }
        return Int(text) ?? Int.max
    }

    var expectsContinue: Bool {
        header("Expect").map { asciiCaseInsensitiveEqual($0, "100-continue") } ?? false
    }

    private func header(_ name: String) -> String? {
        headers.first { asciiCaseInsensitiveEqual($0.name, name) }?.value
    }

    func request() -> HTTPServerRequest {
        HTTPServerRequest(
            method: method, path: path, queryItems: queryItems, headers: headers, body: body, remoteHost: remoteHost,
            remotePort: remotePort)
    }

    fileprivate func addHeader(_ name: String, _ value: String) { headers.append((name, value)) }
    fileprivate func addQueryItem(_ name: String, _ value: String?) { queryItems.append((name, value)) }
}

/// Keys and values come with their lengths: a decoded query value may hold any byte. Text that is not
/// UTF-8 becomes U+FFFD rather than failing the request.
private func text(_ pointer: UnsafePointer<CChar>?, _ count: Int) -> String? {
    guard let pointer else { return nil }
    return String(decoding: UnsafeRawBufferPointer(start: pointer, count: count), as: UTF8.self)
}

private let collectHeader: MHD_KeyValueIteratorN = { cls, _, key, keySize, value, valueSize in
    guard let cls, let name = text(key, keySize) else { return .YES }
    Unmanaged<RequestState>.fromOpaque(cls).takeUnretainedValue().addHeader(name, text(value, valueSize) ?? "")
    return .YES
}

private let collectQueryItem: MHD_KeyValueIteratorN = { cls, _, key, keySize, value, valueSize in
    guard let cls, let name = text(key, keySize) else { return .YES }
    Unmanaged<RequestState>.fromOpaque(cls).takeUnretainedValue().addQueryItem(name, text(value, valueSize))
    return .YES
}

@available(*, unavailable, message: "a request's state stays on the thread that serves its connection")
extension RequestState: Sendable {}
