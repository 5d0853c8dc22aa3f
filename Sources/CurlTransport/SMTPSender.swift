import CCurl
import CCurlShim
import Glibc

/// How to reach an SMTP server.
public struct SMTPConfiguration: Sendable {
    /// Transport security for `smtp://` URLs (`smtps://` is always TLS from the first byte).
    public enum TLS: Sendable, Hashable {
        /// STARTTLS or fail (`CURLUSESSL_ALL`).
        case required
        /// STARTTLS when the server offers it, clear text otherwise (`CURLUSESSL_TRY`).
        case opportunistic
        /// Clear text (`CURLUSESSL_NONE`); accepted only for a loopback host.
        case none
    }

    /// `smtp://host:port` or `smtps://host:port`; an optional path is the domain sent with EHLO.
    public var url: String
    public var username: String?
    public var password: String?
    public var tls: TLS
    /// Bounds the whole exchange of one message (`CURLOPT_TIMEOUT_MS`).
    public var timeout: Duration
    /// Bounds connecting, including TLS (`CURLOPT_CONNECTTIMEOUT_MS`).
    public var connectTimeout: Duration

    public init(
        url: String, username: String? = nil, password: String? = nil, tls: TLS = .required,
        timeout: Duration = .seconds(60), connectTimeout: Duration = .seconds(10)
    ) {
        self.url = url
        self.username = username
        self.password = password
        self.tls = tls
        self.timeout = timeout
        self.connectTimeout = connectTimeout
    }
}

/// One message ready for the wire. Composing it (MIME, RFC 2047, Message-ID, header safety) is not the
/// transport's job; `data` is sent as given, with libcurl adding the dot-stuffing and the final `.`.
public struct MailMessage: Sendable {
    /// `MAIL FROM`; empty for the null reverse-path `<>`.
    public var envelopeFrom: String
    /// `RCPT TO`, one per address; at least one.
    public var recipients: [String]
    /// The RFC 5322 message, headers and body, with CRLF line endings.
    public var data: [UInt8]

    public init(envelopeFrom: String, recipients: [String], data: [UInt8]) {
        self.envelopeFrom = envelopeFrom
        self.recipients = recipients
        self.data = data
    }
}

/// A message the server accepted (`250` after the data), for ``acceptedRecipients``.
public struct SMTPReceipt: Sendable {
    /// The reply code to the end of the data, normally 250.
    public var responseCode: Int
    public var acceptedRecipients: [String]
    /// Recipients refused at `RCPT TO` while the others were accepted; empty when all were accepted.
    public var rejectedRecipients: [SMTPRecipientRejection]
}

/// One SMTP recipient that the server refused while the message went to the others.
public struct SMTPRecipientRejection: Sendable, Hashable {
    public var address: String
    /// The reply code to `RCPT TO` (4xx temporary, 5xx permanent).
    public var responseCode: Int
    /// The reply line, code included.
    public var reply: String

    public init(address: String, responseCode: Int, reply: String) {
        self.address = address
        self.responseCode = responseCode
        self.reply = reply
    }
}

/// Sends mail through libcurl's SMTP client.
///
/// Promises:
/// - One dedicated thread owns the single easy handle, so blocking SMTP exchanges never occupy Swift's
///   cooperative pool and the handle is never shared between threads. Batches are sent one after another.
/// - The easy handle outlives a batch, so the messages of a batch (and of batches close together) go over
///   one connection; libcurl reconnects by itself when the server has closed it.
/// - One result per message, in order. A message is a success when the server accepted its data for at
///   least one recipient; refused recipients are listed in the ``SMTPReceipt``
///   (`CURLOPT_MAIL_RCPT_ALLOWFAILS`). A refusal of the whole message is a ``TransportError`` of kind
///   `rejected` with the server's reply code and line.
/// - Clear text is refused for any host but loopback, at `init`.
///
/// It will not retry, compose MIME, or rewrite line endings.
public final class SMTPSender: Sendable {
    public let configuration: SMTPConfiguration
    private let endpoint: String
    private let inbox: WorkerInbox<SMTPJob>
    private let thread: JoinableThread

    /// Validates the configuration (see ``SMTPConfiguration/TLS``) and starts the worker thread.
    /// Connects lazily, on the first message.
    public init(configuration: SMTPConfiguration) throws(TransportError) {
        self.configuration = configuration
        // Before validating: validation uses libcurl's URL parser.
        if let problem = ensureCurlGlobalInit() {
            throw TransportError(
                kind: .other, operation: "SMTP", endpoint: "-", url: configuration.url, message: problem)
        }
        let endpoint = try Self.validate(configuration)
        self.endpoint = endpoint.description
        inbox = try WorkerInbox()
        let driver = SMTPDriver(configuration: configuration, endpoint: endpoint, inbox: inbox)
        thread = try JoinableThread.start { driver.run() }
    }

    deinit {
        // No send can be in flight here (each holds a reference to self); the worker says QUIT and exits.
        inbox.stop()
        thread.join()
    }

    /// Sends the messages in order over one connection; one result per message, in the same order.
    ///
    /// `proceed` is asked right before each message (by its index) whether it may still go: false
    /// withdraws it (a ``TransportError/Kind/withdrawn`` failure, nothing sent). `each` is told every
    /// result as soon as it is in. Both run on the sender's thread and must be quick.
    public func send(
        messages: [MailMessage], proceed: (@Sendable (Int) -> Bool)? = nil,
        each: (@Sendable (Int, Result<SMTPReceipt, TransportError>) -> Void)? = nil
    ) async -> [Result<SMTPReceipt, TransportError>] {
        guard !messages.isEmpty else { return [] }
        return await withCheckedContinuation { continuation in
            let job = SMTPJob(messages: messages, proceed: proceed, each: each, continuation: continuation)
            if !inbox.submit(job) {
                let error = TransportError(
                    kind: .cancelled, operation: "SMTP", endpoint: endpoint, url: configuration.url,
                    message: "the sender was shut down before the message was sent")
                continuation.resume(returning: messages.map { _ in .failure(error) })
            }
        }
    }

    /// Sends one message.
    public func send(_ message: MailMessage) async -> Result<SMTPReceipt, TransportError> {
        let results = await send(messages: [message])
        return results.first
            ?? .failure(
                TransportError(
                    kind: .cancelled, operation: "SMTP", endpoint: endpoint, url: configuration.url,
                    message: "no result"))
    }

    private static func validate(_ configuration: SMTPConfiguration) throws(TransportError) -> Endpoint {
        func invalid(_ message: String, endpoint: String) -> TransportError {
            TransportError(
                kind: .invalidRequest, operation: "SMTP", endpoint: endpoint, url: configuration.url, message: message)
        }
        guard isSafeProtocolText(configuration.url), let endpoint = Endpoint(url: configuration.url) else {
            throw invalid("the SMTP URL cannot be parsed", endpoint: "(invalid URL)")
        }
        guard endpoint.scheme == "smtp" || endpoint.scheme == "smtps" else {
            throw invalid(
                "the URL scheme must be smtp or smtps, not \(endpoint.scheme)", endpoint: endpoint.description)
        }
        for credential in [configuration.username, configuration.password].compactMap({ $0 })
        where !isSafeProtocolText(credential) {
            throw invalid("the credentials contain CR, LF or NUL", endpoint: endpoint.description)
        }
        if configuration.tls == .none {
            if endpoint.scheme == "smtps" {
                throw invalid(
                    "smtps:// always uses TLS; use tls .required instead of .none", endpoint: endpoint.description)
            }
            if !endpoint.isLoopback {
                throw invalid(
                    "refusing to send mail in clear text to \(endpoint.host): "
                        + "tls .none is only allowed for loopback hosts",
                    endpoint: endpoint.description)
            }
        }
        return endpoint
    }
}

struct SMTPJob: Sendable {
    let messages: [MailMessage]
    let proceed: (@Sendable (Int) -> Bool)?
    let each: (@Sendable (Int, Result<SMTPReceipt, TransportError>) -> Void)?
    let continuation: CheckedContinuation<[Result<SMTPReceipt, TransportError>], Never>
}

/// The worker thread's state: the easy handle whose connection is reused from message to message.
private final class SMTPDriver {
    private let configuration: SMTPConfiguration
    private let endpoint: Endpoint
    private let inbox: WorkerInbox<SMTPJob>
    private var easy: EasyHandle?

    init(configuration: SMTPConfiguration, endpoint: Endpoint, inbox: WorkerInbox<SMTPJob>) {
        self.configuration = configuration
        self.endpoint = endpoint
        self.inbox = inbox
    }

    func run() {
        while true {
            let (jobs, stopping) = inbox.take()
            for job in jobs {
                var results: [Result<SMTPReceipt, TransportError>] = []
                for (index, message) in job.messages.enumerated() {
                    let result =
                        job.proceed?(index) == false
                        ? failure(.withdrawn, "withdrawn by the caller before it was sent") : deliver(message)
                    job.each?(index, result)
                    results.append(result)
                }
                job.continuation.resume(returning: results)
                // Free the last message's copy now; the connection stays in the handle's cache.
                if let easy, (try? easy.reset()) == nil { self.easy = nil }
            }
            if stopping { return }
            var doorbell = pollfd(fd: inbox.doorbell.fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&doorbell, 1, -1)
            inbox.doorbell.drain()
        }
    }

    private func failure(
        _ kind: TransportError.Kind, _ message: String, code: CURLcode? = nil, responseCode: Int? = nil,
        serverReply: String? = nil
    ) -> Result<SMTPReceipt, TransportError> {
        .failure(
            TransportError(
                kind: kind, operation: "SMTP", endpoint: endpoint.description, url: configuration.url,
                curlCode: code.map { Int($0.rawValue) }, message: message, responseCode: responseCode,
                serverReply: serverReply))
    }

    private func deliver(_ message: MailMessage) -> Result<SMTPReceipt, TransportError> {
        if let problem = message.problem { return failure(.invalidRequest, problem) }
        guard let easy = easy ?? EasyHandle() else { return failure(.other, "curl_easy_init failed") }
        self.easy = easy
        do {
            try easy.prepare(message, configuration: configuration)
        } catch {
            let text = "could not set \(error.what): \(String(cString: curl_easy_strerror(error.code)))"
            return failure(TransportError.Kind(curlCode: error.code), text, code: error.code)
        }

        let code = easy.perform()
        let responseCode = easy.responseCode
        if code == CURLE_OK {
            let rejected = easy.rejectedRecipients
            let refused = Set(rejected.map(\.address))
            return .success(
                SMTPReceipt(
                    responseCode: responseCode, acceptedRecipients: message.recipients.filter { !refused.contains($0) },
                    rejectedRecipients: rejected))
        }
        var kind = TransportError.Kind(curlCode: code)
        // libcurl reports a refusing reply as SEND_ERROR, WEIRD_SERVER_REPLY, ... depending on the command;
        // the reply code is what tells the caller whether to try again (4xx) or not (5xx).
        if kind != .authentication && responseCode >= 400 {
            kind = .rejected
        }
        return failure(
            kind, easy.errorText(for: code), code: code, responseCode: responseCode == 0 ? nil : responseCode,
            serverReply: easy.explainingServerReply)
    }
}

extension MailMessage {
    /// Why this message must not be handed to libcurl, if it must not.
    var problem: String? {
        func isAddress(_ text: String) -> Bool {
            isSafeProtocolText(text) && !text.contains("<") && !text.contains(">")
        }
        if !isAddress(envelopeFrom) { return "the envelope sender contains CR, LF, NUL or angle brackets" }
        if recipients.isEmpty { return "the message has no recipient" }
        for recipient in recipients where recipient.isEmpty || !isAddress(recipient) {
            return "the recipient \"\(recipient)\" is empty or contains CR, LF, NUL or angle brackets"
        }
        return nil
    }
}

extension EasyHandle {
    /// Sets every option of one SMTP message; keeps the connection the handle already has.
    func prepare(_ message: MailMessage, configuration: SMTPConfiguration) throws(SetupFailure) {
        try reset()
        try enableSMTPTranscript()
        try set(CURLOPT_URL, configuration.url, "CURLOPT_URL")
        try set(CURLOPT_PROTOCOLS_STR, "smtp,smtps", "CURLOPT_PROTOCOLS_STR")
        try set(CURLOPT_TIMEOUT_MS, configuration.timeout.curlMilliseconds, "CURLOPT_TIMEOUT_MS")
        try set(CURLOPT_CONNECTTIMEOUT_MS, configuration.connectTimeout.curlMilliseconds, "CURLOPT_CONNECTTIMEOUT_MS")
        let useSSL: curl_usessl
        switch configuration.tls {
        case .required: useSSL = CURLUSESSL_ALL
        case .opportunistic: useSSL = CURLUSESSL_TRY
        case .none: useSSL = CURLUSESSL_NONE
        }
        try set(CURLOPT_USE_SSL, Int(useSSL.rawValue), "CURLOPT_USE_SSL")
        if let username = configuration.username { try set(CURLOPT_USERNAME, username, "CURLOPT_USERNAME") }
        if let password = configuration.password { try set(CURLOPT_PASSWORD, password, "CURLOPT_PASSWORD") }
        try set(CURLOPT_MAIL_FROM, "<\(message.envelopeFrom)>", "CURLOPT_MAIL_FROM")
        try setRecipients(message.recipients.map { "<\($0)>" })
        try check(slawatch_curl_setopt_mail_rcpt_allowfails(raw, 1), "CURLOPT_MAIL_RCPT_ALLOWFAILS")
        try setUploadBody(message.data)
    }
}
