import Foundation

/// A complete RFC 5322 message: headers and a multipart/alternative body (plain text first, then
/// HTML), ready for SMTP.
///
/// Every header value passes through `headerSafe`, so ticket data can never start a new header
/// (CR and LF become spaces); non-ASCII subjects and names are RFC 2047 encoded words; both body
/// parts are UTF-8 in base64, so no line is too long and no byte is misread. `threadKey` gives every
/// mail about one ticket the same `References`/`In-Reply-To`, so mail clients thread them together.
public struct InternetMessage: Sendable, Hashable {
    public var from: String
    public var to: [String]
    public var subject: String
    public var text: String
    public var html: String
    public var messageID: String
    public var threadKey: String?
    public var date: Instant

    public init(from: String, to: [String], subject: String, text: String, html: String, messageID: String, threadKey: String?, date: Instant) {
        self.from = from
        self.to = to
        self.subject = subject
        self.text = text
        self.html = html
        self.messageID = messageID
        self.threadKey = threadKey
        self.date = date
    }

    /// The address part of `from` (`sla@example.com` in `slawatch <sla@example.com>`).
    public static func address(_ mailbox: String) -> String {
        if let open = mailbox.lastIndex(of: "<"), let close = mailbox.lastIndex(of: ">"), open < close {
            return String(mailbox[mailbox.index(after: open)..<close]).trimmingCharacters(in: .whitespaces)
        }
        return mailbox.trimmingCharacters(in: .whitespaces)
    }

    var domain: String {
        let address = Self.address(from)
        return address.split(separator: "@").last.map(String.init) ?? "slawatch.invalid"
    }

    /// The message as CRLF-terminated bytes.
    public func rendered() -> [UInt8] {
        let boundary = "slawatch-" + String(UInt64(bitPattern: Int64(truncatingIfNeeded: messageID.hashValue)), radix: 36) + "-alt"
        var lines: [String] = [
            "From: " + Self.mailbox(from),
            "To: " + to.map(Self.mailbox).joined(separator: ", "),
            "Subject: " + Self.encodedWords(Self.headerSafe(subject)),
            "Date: " + Self.rfc5322Date(date),
            "Message-ID: <\(Self.headerSafe(messageID))@\(domain)>",
        ]
        if let threadKey {
            let root = "<\(Self.headerSafe(threadKey))@\(domain)>"
            lines.append("In-Reply-To: " + root)
            lines.append("References: " + root)
        }
        lines += [
            "MIME-Version: 1.0",
            "Content-Type: multipart/alternative; boundary=\"\(boundary)\"",
            "",
            "--\(boundary)",
            "Content-Type: text/plain; charset=UTF-8",
            "Content-Transfer-Encoding: base64",
            "",
        ]
        lines += Self.base64Lines(text)
        lines += ["--\(boundary)", "Content-Type: text/html; charset=UTF-8", "Content-Transfer-Encoding: base64", ""]
        lines += Self.base64Lines(html)
        lines += ["--\(boundary)--", ""]
        return Array(lines.joined(separator: "\r\n").utf8)
    }

    /// A header value on one line: CR, LF and other control characters become spaces.
    public static func headerSafe(_ value: String) -> String {
        String(String.UnicodeScalarView(value.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : $0 }))
    }

    /// `Name <addr>` with the name encoded when it is not plain ASCII; a bare address as it is.
    static func mailbox(_ text: String) -> String {
        let safe = headerSafe(text)
        guard let open = safe.lastIndex(of: "<") else { return safe.trimmingCharacters(in: .whitespaces) }
        let name = safe[..<open].trimmingCharacters(in: .whitespaces)
        let address = safe[open...].trimmingCharacters(in: .whitespaces)
        if name.isEmpty { return address }
        let plain = name.unicodeScalars.allSatisfy { $0.isASCII && $0 != "\"" && $0 != "\\" }
        return (plain ? "\"\(name)\"" : encodedWords(name)) + " " + address
    }

    /// RFC 2047 `=?UTF-8?B?...?=` words of at most 75 characters, split on character boundaries;
    /// ASCII text is returned as it is.
    public static func encodedWords(_ text: String) -> String {
        if text.unicodeScalars.allSatisfy({ $0.isASCII }) && !text.contains("=?") { return text }
        var words: [String] = []
        var chunk: [UInt8] = []
        // RFC 2047 keeps lines with encoded words within 76 characters. A word of 45 UTF-8 bytes is
        // 60 characters of base64 plus 12 of frame: 73 with the folding space. The first word
        // shares its line with "Subject: ", so it holds 39 bytes (52 + 12 + 9 = 73).
        for character in text {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > (words.isEmpty ? 39 : 45) {
                words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=") }
        return words.joined(separator: "\r\n ")
    }

    static func base64Lines(_ text: String) -> [String] {
        let encoded = Data(text.utf8).base64EncodedString()
        var lines: [String] = []
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let end = encoded.index(index, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
            lines.append(String(encoded[index..<end]))
            index = end
        }
        return lines
    }

    /// `Tue, 24 Nov 2026 23:49:02 +0000`.
    public static func rfc5322Date(_ instant: Instant) -> String {
        let seconds = instant.seconds
        let days = floorDiv(seconds, 86_400)
        let date = CivilDate(daysSinceEpoch: days)
        let sod = seconds - days * 86_400
        let weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return "\(weekdays[date.weekdayIndex]), \(pad2(Int64(date.day))) \(months[date.month - 1]) \(date.year) "
            + "\(pad2(sod / 3600)):\(pad2(sod / 60 % 60)):\(pad2(sod % 60)) +0000"
    }
}

/// Renders notices as e-mail: a subject, a plain-text part and an HTML part.
public enum MailContent {
    public static func subject(_ notices: [Notice], language: String) -> String {
        let prefix = "[SLA] "
        if notices.count == 1 { return prefix + notices[0].headline(language) + " — " + notices[0].title }
        return prefix + (language == "en" ? "\(notices.count) SLA alerts" : "\(notices.count) alertas de SLA")
    }

    public static func text(_ notices: [Notice], language: String) -> String {
        notices.map { n in
            ([n.headline(language), ""] + n.facts(language).map { "\($0.0): \($0.1)" }).joined(separator: "\n")
        }.joined(separator: "\n\n----\n\n") + "\n\n-- \nslawatch\n"
    }

    public static func html(_ notices: [Notice], language: String) -> String {
        let items = notices.map { n -> String in
            let rows = n.facts(language).map {
                "<tr><th align=\"left\" style=\"padding:2px 12px 2px 0;color:#555\">\(escape($0.0))</th><td style=\"padding:2px 0\">\(escape($0.1))</td></tr>"
            }.joined()
            let color = n.kind == EventKind.warning.rawValue ? "#b26a00" : "#b00020"
            return "<h2 style=\"font-size:16px;color:\(color);margin:16px 0 8px\">\(escape(n.headline(language)))</h2><table style=\"border-collapse:collapse;font-size:14px\">\(rows)</table>"
        }.joined(separator: "<hr style=\"border:0;border-top:1px solid #ddd\">")
        return "<!DOCTYPE html><html lang=\"\(language)\"><head><meta charset=\"utf-8\"></head><body style=\"font-family:Arial,Helvetica,sans-serif\">\(items)<p style=\"color:#888;font-size:12px\">slawatch</p></body></html>"
    }

    public static func escape(_ s: String) -> String {
        s.replacing("&", with: "&amp;").replacing("<", with: "&lt;").replacing(">", with: "&gt;").replacing("\"", with: "&quot;")
    }
}
