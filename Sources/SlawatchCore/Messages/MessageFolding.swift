/// Folds the notifications due for one channel and recipient, more than its rate allows one by one,
/// into as few messages as the platform's limits allow (README, 'Rate limits and folding').
///
/// A folded chat message has a heading with the count, then the newest crossings first: the first
/// ``listedLines`` notifications one line each (code, title cut short, kind and level, hours left or
/// over) and every further ticket by its code alone, so that every ticket is named. It is split
/// only where the platform's limits force it (Slack: 50 blocks, 3,000 characters a section; Teams:
/// the card's size; Google Chat: 4,096 characters of text; Discord: 10 embeds, 4,096 characters a
/// description, 6,000 in all), and each part names its own tickets. A generic webhook (or a log
/// channel) receives one `sla.batch` with every event, never split.
public enum MessageFolding {
    /// A due delivery and the notice it carries.
    public struct Item: Sendable {
        public let deliveryID: Int64
        public let notice: Notice

        public init(deliveryID: Int64, notice: Notice) {
            self.deliveryID = deliveryID
            self.notice = notice
        }
    }

    /// How many notifications get a line of their own; the rest are named by their ticket's code.
    public static let listedLines = 20

    /// The longest title shown on a line.
    static let titleLength = 60

    /// What one part may hold, with some room left below each platform's documented limit.
    struct Limits {
        /// Measured size of one text block: a Slack section, a Discord embed's description, a Teams
        /// TextBlock, Google Chat's text.
        let block: Int
        /// Text blocks in one message besides the heading's.
        let blocks: Int
        /// Measured size of one message's blocks and heading.
        let message: Int
    }

    static func limits(_ kind: Channel.Kind) -> Limits? {
        switch kind {
        // Slack: at most 50 blocks, a section's text at most 3,000 characters.
        case .slack: Limits(block: 2_900, blocks: 49, message: 30_000)
        // Discord: at most 10 embeds, a description at most 4,096 characters, 6,000 in all embeds.
        case .discord: Limits(block: 4_000, blocks: 10, message: 5_700)
        // Google Chat: one text of at most 4,096 characters; its blocks are joined by line breaks.
        case .googlechat: Limits(block: 3_900, blocks: 20, message: 3_990)
        // Teams: a Workflows webhook refuses a card over about 28 KB; measured in bytes of JSON.
        case .teams: Limits(block: 2_000, blocks: 500, message: 24_000)
        case .webhook, .log, .email: nil
        }
    }

    /// The messages that carry `items` to a channel of `kind`, in order; at least one. Every item's
    /// delivery is carried by exactly one of them.
    public static func fold(_ items: [Item], kind: Channel.Kind, language: String) -> [FoldedMessage] {
        fold(items, kind: kind, language: language, listed: listedLines)
    }

    /// One fold sent again under `id`, its first attempt's: the same deliveries or fewer of them,
    /// as one message. A part that named its tickets by code alone could outgrow one message once
    /// some of them get lines of their own, so when the usual layout needs more than one part,
    /// every ticket is named by its code alone, which fits where the first attempt's part did.
    /// Nil if even that does not fit one message.
    public static func refold(_ items: [Item], kind: Channel.Kind, language: String, id: String) -> FoldedMessage? {
        var parts = fold(items, kind: kind, language: language, listed: listedLines)
        if parts.count > 1 { parts = fold(items, kind: kind, language: language, listed: 0) }
        guard parts.count == 1 else { return nil }
        return FoldedMessage(body: parts[0].body, deliveryIDs: parts[0].deliveryIDs, part: 1, parts: 1, id: id)
    }

    static func fold(_ items: [Item], kind: Channel.Kind, language: String, listed: Int) -> [FoldedMessage] {
        precondition(!items.isEmpty)
        let sorted = newestFirst(items)
        guard let limits = limits(kind) else {
            return [FoldedMessage(body: batch(sorted), deliveryIDs: sorted.map(\.deliveryID), part: 1, parts: 1)]
        }
        let en = language == "en"
        let markup: Markup = kind == .slack ? .slack : (kind == .googlechat ? .html : .plain)
        let measure: (String) -> Int =
            switch kind {
            case .teams: { JSONText.string($0).utf8.count + 60 }
            case .googlechat: { $0.utf16.count + 1 }
            default: { $0.utf16.count }
            }
        let reserve = measure(heading(items.count, part: 99, of: 99, en, markup)) + (kind == .teams ? 500 : 2)
        let packed = pack(
            units(sorted, listed: listed, en: en, markup: markup), limits: limits, measure: measure, reserve: reserve,
            en)
        return packed.enumerated().map { index, part in
            let title = heading(items.count, part: index + 1, of: packed.count, en, markup)
            let body: String
            switch kind {
            case .slack: body = slack(title, part.blocks)
            case .teams: body = teams(title, part.blocks)
            case .googlechat: body = googleChat(title, part.blocks)
            default:
                body = discord(title, part.blocks, warningsOnly: sorted.allSatisfy { $0.notice.kind == "sla.warning" })
            }
            return FoldedMessage(body: body, deliveryIDs: part.ids, part: index + 1, parts: packed.count)
        }
    }

    /// Newest crossing first (a crossing's instant, else its detection), then the newest detection,
    /// then the newest delivery.
    static func newestFirst(_ items: [Item]) -> [Item] {
        func key(_ item: Item) -> (Int64, Int64, Int64) {
            let detected = Instant(iso8601: item.notice.detectedAt)?.microseconds ?? 0
            let crossed = item.notice.crossedAt.flatMap { Instant(iso8601: $0)?.microseconds } ?? detected
            return (crossed, detected, item.deliveryID)
        }
        return items.map { (key($0), $0) }.sorted { $0.0 > $1.0 }.map(\.1)
    }

    /// The text of a ticket's code, title and so on in the part's markup.
    enum Markup { case plain, slack, html }

    static func escape(_ s: String, _ markup: Markup) -> String {
        markup == .plain ? s : ChannelPayload.slackEscape(s)
    }

    /// "12 SLA alerts, newest first (part 1 of 2)".
    static func heading(_ count: Int, part: Int, of parts: Int, _ en: Bool, _ markup: Markup) -> String {
        var text =
            en
            ? "\(count) SLA alert\(count == 1 ? "" : "s"), newest first"
            : "\(count) alerta\(count == 1 ? "" : "s") de SLA, las más recientes primero"
        if parts > 1 { text += en ? " (part \(part) of \(parts))" : " (parte \(part) de \(parts))" }
        return escape(text, markup)
    }

    /// One notification's line: code, title cut short, kind and level, hours left or over.
    static func line(_ n: Notice, _ en: Bool, _ markup: Markup) -> String {
        var title = n.title.replacing("\r", with: " ").replacing("\n", with: " ")
        if title.count > titleLength { title = String(title.prefix(titleLength - 1)) + "…" }
        let code = escape(n.code, markup)
        return "• " + (markup == .slack ? "*\(code)*" : code) + " — " + escape(title, markup) + " — "
            + escape(kindText(n, en), markup) + " — " + hoursText(n, en)
    }

    static func kindText(_ n: Notice, _ en: Bool) -> String {
        var text: String
        switch EventKind(rawValue: n.kind) {
        case .warning: text = (en ? "warning " : "aviso ") + Notice.hours(n.level, en) + " %"
        case .breached: text = en ? "breached" : "vencido"
        case .escalated: text = (en ? "escalated +" : "escalado +") + DurationText.format(Int64(n.level * 1_000_000))
        default: text = en ? "closed after breach" : "cerrado fuera de SLA"
        }
        if let reminder = n.reminder { text += en ? " (reminder \(reminder))" : " (recordatorio \(reminder))" }
        return text
    }

    static func hoursText(_ n: Notice, _ en: Bool) -> String {
        let hours = Notice.hours(abs(n.hoursRemaining), en)
        if n.hoursRemaining >= 0 { return en ? "\(hours) h left" : "quedan \(hours) h" }
        return en ? "\(hours) h over" : "excedido \(hours) h"
    }

    /// A line or a code, with the deliveries it names.
    struct Unit {
        let text: String
        let ids: [Int64]
        let isCode: Bool
    }

    /// The first `listed` items as lines, then each further ticket's code once, carrying
    /// every delivery of that ticket not already on a line.
    static func units(_ sorted: [Item], listed: Int, en: Bool, markup: Markup) -> [Unit] {
        var units = sorted.prefix(listed).map {
            Unit(text: line($0.notice, en, markup), ids: [$0.deliveryID], isCode: false)
        }
        var codes: [String] = []
        var ids: [String: [Int64]] = [:]
        for item in sorted.dropFirst(listed) {
            if ids[item.notice.code] == nil { codes.append(item.notice.code) }
            ids[item.notice.code, default: []].append(item.deliveryID)
        }
        units += codes.map { Unit(text: escape($0, markup), ids: ids[$0]!, isCode: true) }
        return units
    }

    /// A part's text blocks and the deliveries they name.
    struct Part {
        var blocks: [String] = []
        var ids: [Int64] = []
    }

    /// Packs `units` into blocks and parts: lines joined by newlines, codes by commas after a label,
    /// a new block when one is full, a new part when the blocks or the size of a message are.
    static func pack(_ units: [Unit], limits: Limits, measure: (String) -> Int, reserve: Int, _ en: Bool)
        -> [Part]
    {
        let label = en ? "Also: " : "Además: "
        var parts: [Part] = []
        var part = Part()
        var size = reserve
        var current = ""
        var currentIsCode = false
        func closeBlock() {
            guard !current.isEmpty else { return }
            part.blocks.append(current)
            size += measure(current)
            current = ""
        }
        func closePart() {
            closeBlock()
            if !part.blocks.isEmpty { parts.append(part) }
            part = Part()
            size = reserve
        }
        for unit in units {
            // A unit alone always fits an empty part: a code or line longer than that is cut.
            let room = min(limits.block, limits.message - reserve) - measure(label) - 8
            var text = unit.text
            while measure(text) > room, text.count > 1 { text = String(text.prefix(text.count * 3 / 4)) + "…" }
            while true {
                if !current.isEmpty && unit.isCode != currentIsCode {
                    closeBlock()
                    continue
                }
                let candidate =
                    current.isEmpty ? (unit.isCode ? label : "") + text : current + (unit.isCode ? ", " : "\n") + text
                let blocks = part.blocks.count + 1
                let total = size + measure(candidate)
                if measure(candidate) <= limits.block && blocks <= limits.blocks && total <= limits.message {
                    current = candidate
                    currentIsCode = unit.isCode
                    part.ids += unit.ids
                    break
                }
                if !current.isEmpty && measure(candidate) > limits.block && blocks < limits.blocks
                    && size + measure(current) <= limits.message
                {
                    closeBlock()
                } else if !current.isEmpty || !part.blocks.isEmpty {
                    closePart()
                } else {
                    // Cannot happen once cut to `room`; placed anyway rather than looping.
                    current = candidate
                    currentIsCode = unit.isCode
                    part.ids += unit.ids
                    break
                }
            }
        }
        closePart()
        return parts
    }

    static func mrkdwn(_ text: String) -> String {
        JSONText.object([
            ("type", "\"section\""),
            ("text", JSONText.object([("type", "\"mrkdwn\""), ("text", JSONText.string(text))])),
        ])
    }

    static func slack(_ heading: String, _ blocks: [String]) -> String {
        let all = [mrkdwn("*\(heading)*")] + blocks.map(mrkdwn)
        return JSONText.object([
            ("text", JSONText.string(heading)), ("blocks", "[" + all.joined(separator: ", ") + "]"),
        ])
    }

    static func teams(_ heading: String, _ blocks: [String]) -> String {
        var body = [
            JSONText.object([
                ("type", "\"TextBlock\""), ("text", JSONText.string(heading)), ("weight", "\"Bolder\""),
                ("size", "\"Medium\""), ("wrap", "true"),
            ])
        ]
        body += blocks.map {
            JSONText.object([("type", "\"TextBlock\""), ("text", JSONText.string($0)), ("wrap", "true")])
        }
        return ChannelPayload.teamsMessage(body)
    }

    static func googleChat(_ heading: String, _ blocks: [String]) -> String {
        JSONText.object([("text", JSONText.string((["*\(heading)*"] + blocks).joined(separator: "\n")))])
    }

    static func discord(_ heading: String, _ blocks: [String], warningsOnly: Bool) -> String {
        let color = warningsOnly ? "15105570" : "15158332"
        let title = heading.count <= 256 ? heading : String(heading.prefix(255)) + "…"
        let embeds = blocks.enumerated().map { index, block in
            JSONText.object(
                (index == 0 ? [("title", JSONText.string(title))] : []) + [
                    ("color", color), ("description", JSONText.string(block)),
                ])
        }
        return JSONText.object([
            ("content", JSONText.string(title)), ("embeds", "[" + embeds.joined(separator: ", ") + "]"),
            ("allowed_mentions", "{\"parse\": []}"),
        ])
    }

    /// The generic webhook's `sla.batch` with every event, newest crossing first.
    static func batch(_ sorted: [Item]) -> String {
        JSONText.object([
            ("type", "\"sla.batch\""), ("timestamp", JSONText.string(sorted.map(\.notice.detectedAt).max()!)),
            (
                "data",
                JSONText.object([
                    ("count", String(sorted.count)),
                    ("events", "[" + sorted.map { ChannelPayload.noticeJSON($0.notice) }.joined(separator: ", ") + "]"),
                ])
            ),
        ])
    }
}
