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

    public init(
        from: String, to: [String], subject: String, text: String, html: String, messageID: String, threadKey: String?,
        date: Instant
    ) {
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
        let boundary =
            "slawatch-" + String(UInt64(bitPattern: Int64(truncatingIfNeeded: messageID.hashValue)), radix: 36) + "-alt"
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
