/// A minimal real ESMTP server on 127.0.0.1 that records every accepted message.
///
/// Speaks EHLO/HELO, MAIL FROM, RCPT TO, DATA (with dot-unstuffing, ending at CRLF.CRLF), RSET, NOOP and
/// QUIT. Advertises no extension that needs TLS or authentication, so clients must be configured for clear
/// text. Scriptable: refuse chosen recipients, or answer the next MAIL commands or ends of DATA with a
/// temporary failure. A message is recorded before its `250` is sent, so once a client has its answer the
/// message is visible in ``messages``. Accessors are thread-safe.
public final class SMTPSink: Sendable {
    /// One message the sink accepted.
    public struct Message: Sendable {
        public var envelopeFrom: String
        /// Accepted recipients only, in order.
        public var recipients: [String]
        /// The data as the client meant it: dot-unstuffed, CRLF line endings, without the final `.` line.
        public var data: [UInt8]
        /// Which accepted connection carried it (1, 2, ...).
        public var connectionID: Int

        public var text: String { String(decoding: data, as: UTF8.self) }
    }

    struct State {
        var messages: [Message] = []
        var refused: [Message] = []
        var rejectedRecipients: [String: (code: Int, text: String)] = [:]
        var failMail: [(code: Int, text: String)] = []
        var failData: [(code: Int, text: String)] = []
        var connections = 0
        var commands: [String] = []
    }

    private let state: SharedState<State>
    private let server: LoopbackServer

    /// `smtp://127.0.0.1:PORT`
    public var url: String { "smtp://127.0.0.1:\(port)" }
    public var port: UInt16 { server.port }

    public init() throws(SinkError) {
        let state = SharedState(State())
        self.state = state
        server = try LoopbackServer { id in
            state.mutex.withLock { $0.connections += 1 }
            return SMTPConnection(id: id, state: state)
        }
    }

    deinit { server.stop() }

    /// Answers `RCPT TO` for this address (case-insensitive) with `code` from now on.
    public func rejectRecipient(_ address: String, code: Int = 550, text: String = "5.1.1 No such user here") {
        state.mutex.withLock { $0.rejectedRecipients[address.lowercased()] = (code, text) }
    }

    /// Answers the next `count` `MAIL FROM` commands with `code`.
    public func failNextMail(_ count: Int = 1, code: Int = 451, text: String = "4.3.0 Try again later") {
        state.mutex.withLock { $0.failMail += Array(repeating: (code, text), count: max(0, count)) }
    }

    /// Answers the end of the next `count` messages' data with `code`; those messages are not recorded.
    public func failNextData(_ count: Int = 1, code: Int = 451, text: String = "4.3.0 Try again later") {
        state.mutex.withLock { $0.failData += Array(repeating: (code, text), count: max(0, count)) }
    }

    /// Every message refused after its data was read (``failNextData(_:code:text:)``), in order: what
    /// a server that accepted it but whose answer was lost would have had.
    public var refusedMessages: [Message] { state.mutex.withLock { $0.refused } }

    /// Every accepted message so far, in order.
    public var messages: [Message] { state.mutex.withLock { $0.messages } }

    /// How many TCP connections were accepted so far.
    public var connectionCount: Int { state.mutex.withLock { $0.connections } }

    /// Every command line received, in order, with the connection id (`"1 MAIL FROM:<a@b>"`). A test sink
    /// only: an `AUTH` line would be recorded too.
    public var commands: [String] { state.mutex.withLock { $0.commands } }

    /// Closes the listener and every connection; idempotent.
    public func stop() { server.stop() }
}

private final class SMTPConnection: ConnectionHandler {
    private let id: Int
    private let state: SharedState<SMTPSink.State>
    private var inData = false
    private var from: String?
    private var recipients: [String] = []
    private var data: [UInt8] = []

    private static let maxLineBytes = 64 * 1024
    private static let maxMessageBytes = 10 << 20

    init(id: Int, state: SharedState<SMTPSink.State>) {
        self.id = id
        self.state = state
    }

    func greeting() -> [UInt8] { Array("220 127.0.0.1 ESMTP slawatch loopback sink\r\n".utf8) }

    func consume(_ input: inout [UInt8]) -> [Outgoing] {
        var out: [Outgoing] = []
        while let lineEnd = input.firstRange(of: [13, 10]) {
            let line = Array(input[..<lineEnd.lowerBound])
            input.removeFirst(lineEnd.upperBound)
            if inData {
                if let reply = dataLine(line) { out.append(reply) }
            } else {
                let reply = command(String(decoding: line, as: UTF8.self))
                out.append(reply)
                if reply.closeAfter { return out }
            }
        }
        if input.count > Self.maxLineBytes {
            return out + [Outgoing(bytes: Array("500 5.5.6 Line too long\r\n".utf8), closeAfter: true)]
        }
        return out
    }

    private func resetTransaction() {
        from = nil
        recipients = []
        data = []
        inData = false
    }

    private func reply(_ code: Int, _ text: String, close: Bool = false) -> Outgoing {
        Outgoing(bytes: Array("\(code) \(text)\r\n".utf8), closeAfter: close)
    }

    private func dataLine(_ line: [UInt8]) -> Outgoing? {
        if line == [UInt8(ascii: ".")] {
            defer { resetTransaction() }
            if data.count > Self.maxMessageBytes { return reply(552, "5.3.4 Message too big") }
            let message = SMTPSink.Message(
                envelopeFrom: from ?? "", recipients: recipients, data: data, connectionID: id)
            let failure: (code: Int, text: String)? = state.mutex.withLock { state in
                if !state.failData.isEmpty {
                    state.refused.append(message)
                    return state.failData.removeFirst()
                }
                state.messages.append(message)
                return nil
            }
            if let failure { return reply(failure.code, failure.text) }
            return reply(250, "2.0.0 Ok: queued")
        }
        // Dot-unstuffing: a client doubles a leading dot, so one is removed.
        let unstuffed = line.first == UInt8(ascii: ".") ? line.dropFirst() : line[...]
        if data.count <= Self.maxMessageBytes {
            data.append(contentsOf: unstuffed)
            data.append(contentsOf: [13, 10])
        }
        return nil
    }

    private func command(_ line: String) -> Outgoing {
        state.mutex.withLock { $0.commands.append("\(id) \(line)") }
        let upper = line.uppercased()
        let verb = upper.split(separator: " ", maxSplits: 1).first.map(String.init) ?? ""
        switch verb {
        case "EHLO":
            return Outgoing(
                bytes: Array("250-127.0.0.1 greets you\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n".utf8))
        case "HELO":
            return reply(250, "127.0.0.1")
        case "MAIL":
            guard upper.hasPrefix("MAIL FROM:"), let address = Self.address(in: line) else {
                return reply(501, "5.5.4 Syntax: MAIL FROM:<address>")
            }
            let failure = state.mutex.withLock { $0.failMail.isEmpty ? nil : $0.failMail.removeFirst() }
            if let failure { return reply(failure.code, failure.text) }
            resetTransaction()
            from = address
            return reply(250, "2.1.0 Ok")
        case "RCPT":
            guard upper.hasPrefix("RCPT TO:"), let address = Self.address(in: line) else {
                return reply(501, "5.5.4 Syntax: RCPT TO:<address>")
            }
            guard from != nil else { return reply(503, "5.5.1 Need MAIL before RCPT") }
            if let refusal = state.mutex.withLock({ $0.rejectedRecipients[address.lowercased()] }) {
                return reply(refusal.code, refusal.text)
            }
            recipients.append(address)
            return reply(250, "2.1.5 Ok")
        case "DATA":
            guard from != nil else { return reply(503, "5.5.1 Need MAIL before DATA") }
            guard !recipients.isEmpty else { return reply(554, "5.5.1 No valid recipients") }
            inData = true
            data = []
            return reply(354, "End data with <CR><LF>.<CR><LF>")
        case "RSET":
            resetTransaction()
            return reply(250, "2.0.0 Ok")
        case "NOOP":
            return reply(250, "2.0.0 Ok")
        case "QUIT":
            return reply(221, "2.0.0 Bye", close: true)
        case "VRFY", "EXPN", "STARTTLS", "AUTH":
            return reply(502, "5.5.1 Not implemented")
        default:
            return reply(500, "5.5.2 Command not recognized")
        }
    }

    /// The address between the angle brackets (`<>` gives ""), ignoring parameters after it.
    private static func address(in line: String) -> String? {
        guard let open = line.firstIndex(of: "<"), let close = line[open...].firstIndex(of: ">") else { return nil }
        return String(line[line.index(after: open)..<close])
    }
}
