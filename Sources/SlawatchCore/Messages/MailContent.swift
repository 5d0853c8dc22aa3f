import Foundation

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
            return
                "<h2 style=\"font-size:16px;color:\(color);margin:16px 0 8px\">\(escape(n.headline(language)))</h2><table style=\"border-collapse:collapse;font-size:14px\">\(rows)</table>"
        }.joined(separator: "<hr style=\"border:0;border-top:1px solid #ddd\">")
        return
            "<!DOCTYPE html><html lang=\"\(language)\"><head><meta charset=\"utf-8\"></head><body style=\"font-family:Arial,Helvetica,sans-serif\">\(items)<p style=\"color:#888;font-size:12px\">slawatch</p></body></html>"
    }

    public static func escape(_ s: String) -> String {
        s.replacing("&", with: "&amp;").replacing("<", with: "&lt;").replacing(">", with: "&gt;").replacing(
            "\"", with: "&quot;")
    }
}
