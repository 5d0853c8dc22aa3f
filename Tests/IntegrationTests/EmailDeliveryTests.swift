import Foundation
import LoopbackSinks
import PostgresClient
import SlawatchApp
import SlawatchCore
import Testing

/// E-mail as the README's delivery rules describe it: real SMTP to a loopback sink, the received messages parsed here.
@Suite struct EmailDeliveryTests {
    static let title = "Facturación electrónica rechazada — ñandú ¿por qué?"

    static func rules(_ sink: SMTPSink) throws -> TemporaryRules {
        try TemporaryRules([
            "sla.json": WorkerRules.text(
                channels: #"{ jefes: { type: "email", to: ["{{area_manager_email}}", "ops@example.com"] } }"#,
                routes: WorkerRules.allEvents(to: ["jefes"]),
                smtp: #"{ url: "\#(sink.url)", from: "slawatch <sla@example.com>", tls: "none" }"#)
        ])
    }

    @Test func mailsAreMultipartEncodedAndThreadedPerTicket() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try SMTPSink()
        let ticket = try desk.addTicket(title: Self.title, area: "FACTURACION")
        let rules = try Self.rules(sink)
        let warningAt = WorkerClock.at(hours: 3)
        let breachAt = WorkerClock.at(hours: 5)
        try await requireRunOnce(rules, desk, at: warningAt)
        let afterWarning = try await desk.deliveries()
        try #require(sink.messages.count == 2, "\(afterWarning)")
        try await requireRunOnce(rules, desk, at: breachAt)
        let messages = sink.messages
        let afterBreach = try await desk.deliveries()
        try #require(messages.count == 4, "\(afterBreach)")

        var messageIDs = Set<String>()
        var threads = Set<String>()
        for (index, message) in messages.enumerated() {
            let warning = index < 2
            #expect(message.envelopeFrom == "sla@example.com")
            #expect(message.recipients.count == 1)
            let mail = try ParsedMail(message.text)
            let recipient = try #require(message.recipients.first)
            #expect(["jefe.facturacion@example.com", "ops@example.com"].contains(recipient))
            #expect(mail.header("To")?.contains(recipient) == true, "\(mail.headers)")
            #expect(mail.header("From")?.contains("<sla@example.com>") == true)
            #expect(mail.header("MIME-Version") == "1.0")
            #expect(mail.header("Date") == InternetMessage.rfc5322Date(warning ? warningAt : breachAt))
            #expect(
                mail.header("Date") == (warning ? "Tue, 24 Mar 2026 11:00:00 +0000" : "Tue, 24 Mar 2026 13:00:00 +0000")
            )
            let id = try #require(mail.header("Message-ID"))
            #expect(id.hasPrefix("<") && id.hasSuffix(">") && id.contains("@"), "\(id)")
            #expect(messageIDs.insert(id).inserted, "Message-ID \(id) repeated")
            let inReplyTo = try #require(mail.header("In-Reply-To"))
            #expect(mail.header("References") == inReplyTo)
            threads.insert(inReplyTo)

            // RFC 2047: encoded words of at most 75 characters, each whole UTF-8 characters.
            let rawSubject = try #require(mail.header("Subject"))
            let plainASCII = rawSubject.unicodeScalars.allSatisfy { $0.isASCII }
            #expect(plainASCII, "a raw 8-bit subject: \(rawSubject)")
            let subject = try #require(RFC2047.decode(rawSubject), "undecodable subject \(rawSubject)")
            let expected =
                warning
                ? "[SLA] \(ticket.code) alcanzó el 75 % de su SLA (CRITICA, 4 h): quedan 1 h — \(Self.title)"
                : "[SLA] \(ticket.code) incumplió su SLA (CRITICA, 4 h) — \(Self.title)"
            #expect(subject == expected)
            for line in mail.rawHeaderLines { #expect(line.utf8.count <= 998) }

            // multipart/alternative: text/plain first, then text/html.
            let contentType = try #require(mail.header("Content-Type"))
            #expect(contentType.lowercased().hasPrefix("multipart/alternative"))
            let parts = try mail.parts()
            try #require(parts.count == 2, "\(parts.map(\.contentType))")
            #expect(parts[0].contentType.lowercased().hasPrefix("text/plain"))
            #expect(parts[1].contentType.lowercased().hasPrefix("text/html"))
            #expect(parts[0].contentType.lowercased().contains("charset=utf-8"))
            #expect(parts[0].text.contains(Self.title), "\(parts[0].text)")
            #expect(parts[0].text.contains(ticket.code))
            #expect(parts[1].text.contains("Facturación electrónica") || parts[1].text.contains("Facturaci&oacute;n"))
            #expect(parts[1].text.lowercased().contains("<html"))
        }
        // Every mail about the ticket threads together under one root.
        #expect(threads.count == 1, "\(threads)")
        #expect(!messageIDs.contains(threads.first ?? ""))
        #expect(try await desk.deliveries().allSatisfy { $0.status == "sent" })
    }

    @Test func ticketDataCannotInjectAHeader() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try SMTPSink()
        let title = "Cobro duplicado\r\nBcc: evil@example.com\r\nX-Injected: yes\nReply-To: evil@example.com"
        try desk.addTicket(title: title, area: "FACTURACION")
        let rules = try Self.rules(sink)
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 5))
        let messages = sink.messages
        #expect(messages.count == 2)
        for message in messages {
            let mail = try ParsedMail(message.text)
            let names = Set(mail.headers.map { $0.name.lowercased() })
            #expect(!names.contains("bcc"), "\(mail.headers)")
            #expect(!names.contains("x-injected"), "\(mail.headers)")
            #expect(!names.contains("reply-to"), "\(mail.headers)")
            #expect(mail.headers.filter { $0.name.lowercased() == "subject" }.count == 1)
            #expect(!message.recipients.contains("evil@example.com"))
            let raw = try #require(mail.header("Subject"))
            let subject = try #require(RFC2047.decode(raw))
            #expect(subject.contains("Cobro duplicado"))
            #expect(subject.contains("Bcc: evil@example.com"), "the text stays in the subject, on one line: \(subject)")
            #expect(!subject.contains("\r") && !subject.contains("\n"))
        }
        #expect(!sink.commands.contains { $0.lowercased().contains("evil@example.com") })
    }

    /// A mail whose first copy the server may have kept (its answer was a refusal after the data,
    /// as when an answer is lost) goes again with the same Message-ID, so a mail client folds them.
    @Test func aRepeatedMailCarriesItsFirstCopysMessageID() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try SMTPSink()
        try desk.addTicket(title: Self.title, area: "FACTURACION")
        sink.failNextData(1, code: 451, text: "4.3.0 Try again later")
        let rules = try Self.rules(sink)
        let now = WorkerClock.at(hours: 5)
        try await requireRunOnce(rules, desk, at: now)
        let first = try #require(sink.refusedMessages.first)
        try await requireRunOnce(rules, desk, at: now + 31 * WorkerClock.second)
        func messageID(_ message: SMTPSink.Message) -> String? {
            message.text.split(separator: "\r\n").first { $0.lowercased().hasPrefix("message-id:") }.map(String.init)
        }
        let again = try #require(sink.messages.last { $0.recipients == first.recipients }, "\(sink.messages.count)")
        #expect(messageID(first) != nil)
        #expect(messageID(again) == messageID(first), "\(messageID(again) ?? "-") vs \(messageID(first) ?? "-")")
        let others = sink.messages.filter { $0.recipients != first.recipients }.compactMap(messageID)
        #expect(!others.contains(messageID(first)!), "each delivery has a Message-ID of its own")
    }

    @Test func aTemporarySMTPFailureIsRetried() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try SMTPSink()
        try desk.addTicket(title: Self.title, area: "FACTURACION")
        sink.failNextData(1, code: 451, text: "4.3.0 Try again later")
        let rules = try Self.rules(sink)
        let now = WorkerClock.at(hours: 5)
        try await requireRunOnce(rules, desk, at: now)
        #expect(sink.messages.count == 1)
        let rows = try await desk.deliveries()
        try #require(rows.count == 2)
        let failed = try #require(rows.first { $0.status == "failed" }, "\(rows)")
        #expect(failed.attempts == 1)
        #expect(failed.last_error?.contains("451") == true, "\(failed)")
        #expect(rows.filter { $0.status == "sent" }.count == 1, "\(rows)")

        // Past the longest first backoff (15 s), counted from the answer a moment after --now.
        try await requireRunOnce(rules, desk, at: now + 20 * WorkerClock.second)
        let messages = sink.messages
        #expect(messages.count == 2)
        #expect(Set(messages.flatMap(\.recipients)) == ["jefe.facturacion@example.com", "ops@example.com"])
        let after = try await desk.deliveries()
        #expect(after.allSatisfy { $0.status == "sent" }, "\(after)")
        #expect(after.first { $0.id == failed.id }?.attempts == 2)
    }

    @Test func aRejectedRecipientIsDeadAndTheOtherIsSent() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try SMTPSink()
        try desk.addTicket(title: Self.title, area: "FACTURACION")
        sink.rejectRecipient("ops@example.com", code: 550, text: "5.1.1 No such user here")
        let rules = try Self.rules(sink)
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 5))
        let messages = sink.messages
        #expect(messages.count == 1)
        #expect(messages.first?.recipients == ["jefe.facturacion@example.com"])
        let rows = try await desk.deliveries()
        let rejected = try #require(rows.first { $0.recipient == "ops@example.com" }, "\(rows)")
        #expect(rejected.status == "dead", "\(rejected)")
        #expect(rejected.last_error?.contains("550") == true, "\(rejected)")
        #expect(rows.first { $0.recipient == "jefe.facturacion@example.com" }?.status == "sent")
    }

    @Test func aTicketWithoutAreaManagerGetsADeadDeliveryWithAReason() async throws {
        let desk = try WorkerHelpDesk()
        let sink = try SMTPSink()
        try desk.addAreaWithoutManager("SIN_JEFE")
        let noManager = try desk.addTicket(title: "Área sin jefe", area: "SIN_JEFE")
        let noArea = try desk.addTicket(title: "Sin área asignada", area: nil)
        let rules = try Self.rules(sink)
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 5))
        let rows = try await desk.deliveries()
        for ticket in [noManager, noArea] {
            let mine = rows.filter { $0.label == ticket.code }
            #expect(mine.count == 2, "\(rows)")
            let dead = try #require(mine.first { $0.status == "dead" }, "\(mine)")
            #expect(dead.attempts == 0)
            #expect(dead.last_error?.contains("area_manager_email") == true, "\(dead)")
            #expect(mine.first { $0.recipient == "ops@example.com" }?.status == "sent", "\(mine)")
        }
        #expect(sink.messages.count == 2)
        #expect(sink.messages.allSatisfy { $0.recipients == ["ops@example.com"] })
    }
}

/// A received message split into unfolded headers and MIME parts.
struct ParsedMail {
    let rawHeaderLines: [String]
    let headers: [(name: String, value: String)]
    let body: String

    struct Part {
        let contentType: String
        let text: String
    }

    init(_ text: String) throws {
        guard let split = text.range(of: "\r\n\r\n") else { throw TestSetupError("no blank line after the headers") }
        rawHeaderLines = text[..<split.lowerBound].components(separatedBy: "\r\n")
        var headers: [(name: String, value: String)] = []
        for line in rawHeaderLines {
            if line.hasPrefix(" ") || line.hasPrefix("\t") {
                guard !headers.isEmpty else { throw TestSetupError("continuation line first: \(line)") }
                headers[headers.count - 1].value += line
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { throw TestSetupError("not a header line: \(line)") }
            headers.append(
                (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        self.headers = headers
        body = String(text[split.upperBound...])
    }

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    func parts() throws -> [Part] {
        guard let type = header("Content-Type"), let range = type.range(of: "boundary=") else {
            throw TestSetupError("no boundary")
        }
        var boundary = String(type[range.upperBound...])
        if let semicolon = boundary.firstIndex(of: ";") { boundary = String(boundary[..<semicolon]) }
        boundary = boundary.trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
        let chunks = body.components(separatedBy: "--" + boundary)
        // [preamble, part, part, ..., "--" epilogue]
        guard chunks.count >= 3, chunks.last?.hasPrefix("--") == true else {
            throw TestSetupError("unterminated multipart")
        }
        return try chunks.dropFirst().dropLast().map { chunk in
            let part = try ParsedMail(String(chunk.drop { $0 == "\r\n" || $0 == "\r" || $0 == "\n" }))
            var content = part.body
            if part.header("Content-Transfer-Encoding")?.lowercased() == "base64" {
                let joined = content.components(separatedBy: .whitespacesAndNewlines).joined()
                guard let data = Data(base64Encoded: joined) else { throw TestSetupError("bad base64 part") }
                content = String(decoding: data, as: UTF8.self)
            }
            return Part(contentType: part.header("Content-Type") ?? "text/plain", text: content)
        }
    }
}

/// RFC 2047 encoded words: each must be at most 75 characters and hold whole characters.
enum RFC2047 {
    static func decode(_ value: String) -> String? {
        var result = ""
        var previousWasEncoded = false
        for (index, token) in value.split(whereSeparator: { $0 == " " || $0 == "\t" }).enumerated() {
            if token.hasPrefix("=?") && token.hasSuffix("?=") {
                guard token.count <= 75 else { return nil }
                let inner = token.dropFirst(2).dropLast(2).split(separator: "?", omittingEmptySubsequences: false)
                guard inner.count == 3, inner[0].uppercased() == "UTF-8" else { return nil }
                let bytes: [UInt8]
                switch inner[1].uppercased() {
                case "B":
                    guard let data = Data(base64Encoded: String(inner[2])) else { return nil }
                    bytes = Array(data)
                case "Q":
                    guard let decoded = qDecode(String(inner[2])) else { return nil }
                    bytes = decoded
                default: return nil
                }
                // Each word must decode on its own (no character split across words).
                guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
                if index > 0 && !previousWasEncoded { result += " " }
                result += text
                previousWasEncoded = true
            } else {
                if index > 0 { result += " " }
                result += token
                previousWasEncoded = false
            }
        }
        return result
    }

    static func qDecode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var bytes = Array(text.utf8)[...]
        while let b = bytes.popFirst() {
            if b == UInt8(ascii: "_") {
                out.append(0x20)
                continue
            }
            if b == UInt8(ascii: "=") {
                guard bytes.count >= 2, let v = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16)
                else { return nil }
                out.append(v)
                bytes = bytes.dropFirst(2)
                continue
            }
            out.append(b)
        }
        return out
    }
}
