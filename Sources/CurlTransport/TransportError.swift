import CCurl

/// Why a request or a message got no answer from its server, or was never sent.
///
/// An HTTP response is never a `TransportError`, whatever its status: a 503 is an ``HTTPResponse`` with
/// `statusCode == 503`. SMTP is different because libcurl ends the transfer on a refusing reply; such a
/// refusal is a `TransportError` of kind `Kind.rejected` whose ``responseCode`` is the server's
/// reply code (4xx: try again later, 5xx: permanent).
///
/// ``description`` is one line for operators: what was attempted, against which endpoint (scheme, host and
/// port only: webhook URLs often carry their secret in the path, so the full URL is only in ``url``), what
/// went wrong, and what libcurl said (its `CURLE_` name and the text of its error buffer).
public struct TransportError: Error, Sendable, CustomStringConvertible {
    /// A coarse classification, stable across libcurl versions. New kinds may be added; switch with a
    /// `default`.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        public let description: String
        private init(_ description: String) { self.description = description }

        /// The whole exchange, or the connect phase, took longer than its timeout (`CURLE_OPERATION_TIMEDOUT`).
        public static let timeout = Kind("timeout")
        /// No connection could be made: refused, host or network unreachable (`CURLE_COULDNT_CONNECT`).
        public static let couldNotConnect = Kind("could not connect")
        /// The host name (or the proxy's) did not resolve.
        public static let hostNotFound = Kind("host not found")
        /// TLS could not be established or the peer's certificate was not trusted.
        public static let tls = Kind("TLS failure")
        /// The connection broke or the server closed it before a complete answer.
        public static let connectionLost = Kind("connection lost")
        /// An SMTP server refused the message with a 4xx or 5xx reply (see ``TransportError/responseCode``).
        public static let rejected = Kind("rejected by server")
        /// The server refused the credentials.
        public static let authentication = Kind("authentication failed")
        /// The request or the configuration is unusable (bad URL, CR/LF in a header, refused TLS setting);
        /// nothing was sent.
        public static let invalidRequest = Kind("invalid request")
        /// The sender was shut down before the request ran.
        public static let cancelled = Kind("cancelled")
        /// The caller withdrew the request right before it would have started (see
        /// ``HTTPRequest/headersAtStart``); nothing was sent.
        public static let withdrawn = Kind("withdrawn")
        /// Anything else libcurl reported.
        public static let other = Kind("transfer failed")
    }

    /// The classification callers decide on (retry, give up, disable).
    public var kind: Kind
    /// What was attempted: the HTTP method, or `SMTP`.
    public var operation: String
    /// `scheme://host:port` of the target, without credentials, path or query.
    public var endpoint: String
    /// The full URL as given by the caller. Not part of ``description``, because it may hold a secret.
    public var url: String
    /// The raw `CURLcode`, when libcurl produced the error.
    public var curlCode: Int?
    /// The symbolic name of ``curlCode``, such as `CURLE_OPERATION_TIMEDOUT`.
    public var curlCodeName: String? { curlCode.map(curlCodeSymbol) }
    /// libcurl's error buffer text, or `curl_easy_strerror` when the buffer was empty, or our own message
    /// when the request was refused before libcurl ran.
    public var message: String
    /// The last reply code of the server, when there was one (SMTP; for HTTP only on transport failures
    /// after a status line, which is rare).
    public var responseCode: Int?
    /// The last reply line of an SMTP server (`451 4.3.0 Try again later`), when there was one.
    public var serverReply: String?

    public init(
        kind: Kind, operation: String, endpoint: String, url: String, curlCode: Int? = nil, message: String,
        responseCode: Int? = nil, serverReply: String? = nil
    ) {
        self.kind = kind
        self.operation = operation
        self.endpoint = endpoint
        self.url = url
        self.curlCode = curlCode
        self.message = message
        self.responseCode = responseCode
        self.serverReply = serverReply
    }

    public var description: String {
        var text = "\(operation) \(endpoint): \(kind)"
        if let serverReply {
            text += " (server said: \(serverReply))"
        } else if let responseCode {
            text += " (response code \(responseCode))"
        }
        text += ": \(message)"
        if let curlCodeName { text += " [\(curlCodeName)]" }
        return text
    }
}

extension TransportError.Kind {
    /// The kind for a libcurl result code. SMTP refusals are recognised by the caller from the reply code,
    /// because libcurl reports them under several codes (`CURLE_SEND_ERROR`, `CURLE_WEIRD_SERVER_REPLY`,...).
    init(curlCode code: CURLcode) {
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            self = .timeout
        case CURLE_COULDNT_CONNECT:
            self = .couldNotConnect
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            self = .hostNotFound
        case CURLE_SSL_CONNECT_ERROR, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_CERTPROBLEM,
            CURLE_SSL_CIPHER, CURLE_PEER_FAILED_VERIFICATION, CURLE_USE_SSL_FAILED, CURLE_SSL_ENGINE_INITFAILED,
            CURLE_SSL_CACERT_BADFILE, CURLE_SSL_SHUTDOWN_FAILED, CURLE_SSL_CRL_BADFILE, CURLE_SSL_ISSUER_ERROR,
            CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT:
            self = .tls
        case CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_HTTP2,
            CURLE_HTTP2_STREAM, CURLE_HTTP3, CURLE_QUIC_CONNECT_ERROR:
            self = .connectionLost
        case CURLE_LOGIN_DENIED, CURLE_AUTH_ERROR, CURLE_REMOTE_ACCESS_DENIED:
            self = .authentication
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT, CURLE_BAD_FUNCTION_ARGUMENT, CURLE_UNKNOWN_OPTION,
            CURLE_SETOPT_OPTION_SYNTAX, CURLE_NOT_BUILT_IN:
            self = .invalidRequest
        default:
            self = .other
        }
    }
}

/// `CURLE_...` for a code, for log lines that must be searchable; the numeric code otherwise.
func curlCodeSymbol(_ raw: Int) -> String {
    let code = CURLcode(UInt32(truncatingIfNeeded: raw))
    let names: [(CURLcode, String)] = [
        (CURLE_OK, "CURLE_OK"), (CURLE_UNSUPPORTED_PROTOCOL, "CURLE_UNSUPPORTED_PROTOCOL"),
        (CURLE_FAILED_INIT, "CURLE_FAILED_INIT"), (CURLE_URL_MALFORMAT, "CURLE_URL_MALFORMAT"),
        (CURLE_NOT_BUILT_IN, "CURLE_NOT_BUILT_IN"), (CURLE_COULDNT_RESOLVE_PROXY, "CURLE_COULDNT_RESOLVE_PROXY"),
        (CURLE_COULDNT_RESOLVE_HOST, "CURLE_COULDNT_RESOLVE_HOST"), (CURLE_COULDNT_CONNECT, "CURLE_COULDNT_CONNECT"),
        (CURLE_WEIRD_SERVER_REPLY, "CURLE_WEIRD_SERVER_REPLY"),
        (CURLE_REMOTE_ACCESS_DENIED, "CURLE_REMOTE_ACCESS_DENIED"), (CURLE_HTTP2, "CURLE_HTTP2"),
        (CURLE_PARTIAL_FILE, "CURLE_PARTIAL_FILE"), (CURLE_HTTP_RETURNED_ERROR, "CURLE_HTTP_RETURNED_ERROR"),
        (CURLE_WRITE_ERROR, "CURLE_WRITE_ERROR"), (CURLE_UPLOAD_FAILED, "CURLE_UPLOAD_FAILED"),
        (CURLE_READ_ERROR, "CURLE_READ_ERROR"), (CURLE_OUT_OF_MEMORY, "CURLE_OUT_OF_MEMORY"),
        (CURLE_OPERATION_TIMEDOUT, "CURLE_OPERATION_TIMEDOUT"), (CURLE_RANGE_ERROR, "CURLE_RANGE_ERROR"),
        (CURLE_SSL_CONNECT_ERROR, "CURLE_SSL_CONNECT_ERROR"), (CURLE_BAD_DOWNLOAD_RESUME, "CURLE_BAD_DOWNLOAD_RESUME"),
        (CURLE_ABORTED_BY_CALLBACK, "CURLE_ABORTED_BY_CALLBACK"),
        (CURLE_BAD_FUNCTION_ARGUMENT, "CURLE_BAD_FUNCTION_ARGUMENT"),
        (CURLE_INTERFACE_FAILED, "CURLE_INTERFACE_FAILED"), (CURLE_TOO_MANY_REDIRECTS, "CURLE_TOO_MANY_REDIRECTS"),
        (CURLE_UNKNOWN_OPTION, "CURLE_UNKNOWN_OPTION"), (CURLE_SETOPT_OPTION_SYNTAX, "CURLE_SETOPT_OPTION_SYNTAX"),
        (CURLE_GOT_NOTHING, "CURLE_GOT_NOTHING"), (CURLE_SSL_ENGINE_NOTFOUND, "CURLE_SSL_ENGINE_NOTFOUND"),
        (CURLE_SSL_ENGINE_SETFAILED, "CURLE_SSL_ENGINE_SETFAILED"), (CURLE_SEND_ERROR, "CURLE_SEND_ERROR"),
        (CURLE_RECV_ERROR, "CURLE_RECV_ERROR"), (CURLE_SSL_CERTPROBLEM, "CURLE_SSL_CERTPROBLEM"),
        (CURLE_SSL_CIPHER, "CURLE_SSL_CIPHER"), (CURLE_PEER_FAILED_VERIFICATION, "CURLE_PEER_FAILED_VERIFICATION"),
        (CURLE_BAD_CONTENT_ENCODING, "CURLE_BAD_CONTENT_ENCODING"),
        (CURLE_FILESIZE_EXCEEDED, "CURLE_FILESIZE_EXCEEDED"),
        (CURLE_USE_SSL_FAILED, "CURLE_USE_SSL_FAILED"), (CURLE_SEND_FAIL_REWIND, "CURLE_SEND_FAIL_REWIND"),
        (CURLE_SSL_ENGINE_INITFAILED, "CURLE_SSL_ENGINE_INITFAILED"), (CURLE_LOGIN_DENIED, "CURLE_LOGIN_DENIED"),
        (CURLE_SSL_CACERT_BADFILE, "CURLE_SSL_CACERT_BADFILE"),
        (CURLE_SSL_SHUTDOWN_FAILED, "CURLE_SSL_SHUTDOWN_FAILED"),
        (CURLE_AGAIN, "CURLE_AGAIN"), (CURLE_SSL_CRL_BADFILE, "CURLE_SSL_CRL_BADFILE"),
        (CURLE_SSL_ISSUER_ERROR, "CURLE_SSL_ISSUER_ERROR"), (CURLE_CHUNK_FAILED, "CURLE_CHUNK_FAILED"),
        (CURLE_NO_CONNECTION_AVAILABLE, "CURLE_NO_CONNECTION_AVAILABLE"),
        (CURLE_SSL_PINNEDPUBKEYNOTMATCH, "CURLE_SSL_PINNEDPUBKEYNOTMATCH"),
        (CURLE_SSL_INVALIDCERTSTATUS, "CURLE_SSL_INVALIDCERTSTATUS"), (CURLE_HTTP2_STREAM, "CURLE_HTTP2_STREAM"),
        (CURLE_RECURSIVE_API_CALL, "CURLE_RECURSIVE_API_CALL"), (CURLE_AUTH_ERROR, "CURLE_AUTH_ERROR"),
        (CURLE_HTTP3, "CURLE_HTTP3"), (CURLE_QUIC_CONNECT_ERROR, "CURLE_QUIC_CONNECT_ERROR"),
        (CURLE_PROXY, "CURLE_PROXY"), (CURLE_SSL_CLIENTCERT, "CURLE_SSL_CLIENTCERT"),
        (CURLE_UNRECOVERABLE_POLL, "CURLE_UNRECOVERABLE_POLL"),
    ]
    return names.first { $0.0 == code }?.1 ?? "CURLE \(raw)"
}
