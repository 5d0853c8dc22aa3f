import Foundation
import SlawatchCore
import Testing

// Folding (README, 'Rate limits and folding'): the notifications due for one rate-limited channel
// and recipient go out as few messages, within each platform's limits, naming every ticket.

private let t0 = Instant(iso8601: "2026-03-24T08:00:00Z")!

/// Ticket `i` crossed at t0 + i minutes: the larger `i`, the newer. Titles carry markup, accents and
/// a line break, and every seventh is very long.
private func items(_ count: Int, kind: String = "sla.breached") throws -> [MessageFolding.Item] {
    try (1...count).map { i in
        let digits = String(i)
        let code = "TKT-2026-" + String(repeating: "0", count: 5 - digits.count) + digits
        var title = "Facturación <caída> & \"correo\"\nsucursal \(i)"
        if i % 7 == 0 { title += String(repeating: " muy largo 😀", count: 40) }
        let notice: [String: Any] = [
            "eventID": "t\(i)/\(kind)/0/14400000000", "kind": kind, "level": kind == "sla.warning" ? 75 : 0,
            "ticketID": "t\(i)", "code": code, "title": title, "priority": "CRITICA", "status": "ABIERTO",
            "slaHours": 4, "hoursRemaining": i % 2 == 0 ? -1.5 : 2.25,
            "crossedAt": (t0 + Int64(i) * 60_000_000).iso8601,
            "detectedAt": (t0 + 3_600_000_000).iso8601,
        ]
        let data = try JSONSerialization.data(withJSONObject: notice)
        return MessageFolding.Item(
            deliveryID: Int64(1000 + i), notice: try JSONDecoder().decode(Notice.self, from: data))
    }
}

private func object(_ body: String) throws -> [String: Any] {
    let value = try JSONSerialization.jsonObject(with: Data(body.utf8))
    return try #require(value as? [String: Any], "\(body)")
}

/// Checks `part` against the platform's documented limits, by measuring its JSON.
private func requireWithinLimits(_ part: FoldedMessage, _ kind: Channel.Kind) throws {
    let json = try object(part.body)
    switch kind {
    case .slack:
        let blocks = try #require(json["blocks"] as? [[String: Any]])
        #expect(blocks.count <= 50)
        for block in blocks {
            let text = try #require((block["text"] as? [String: Any])?["text"] as? String)
            #expect(text.utf16.count <= 3_000, "a section of \(text.utf16.count) characters")
        }
        #expect((json["text"] as? String)?.isEmpty == false)
    case .teams:
        #expect(part.body.utf8.count <= 28_000, "a card of \(part.body.utf8.count) bytes")
    case .googlechat:
        let text = try #require(json["text"] as? String)
        #expect(text.utf16.count <= 4_096, "a text of \(text.utf16.count) characters")
    case .discord:
        let content = try #require(json["content"] as? String)
        #expect(content.utf16.count <= 2_000)
        let embeds = try #require(json["embeds"] as? [[String: Any]])
        #expect(embeds.count <= 10)
        var total = 0
        for embed in embeds {
            let description = embed["description"] as? String ?? ""
            let title = embed["title"] as? String ?? ""
            #expect(description.utf16.count <= 4_096)
            #expect(title.utf16.count <= 256)
            total += description.utf16.count + title.utf16.count
        }
        #expect(total <= 6_000, "embeds of \(total) characters")
        #expect((json["allowed_mentions"] as? [String: Any])?["parse"] as? [Any] != nil)
    default:
        break
    }
}

/// The text a reader sees, unescaped as the platform would show it.
private func shown(_ body: String) -> String {
    body.replacing("&lt;", with: "<").replacing("&gt;", with: ">").replacing("&amp;", with: "&")
}

@Suite struct MessageFoldingTests {
    static let platforms: [Channel.Kind] = [.slack, .teams, .googlechat, .discord]

    @Test(arguments: platforms, [1, 20, 500])
    func everyTicketIsNamedWithinThePlatformsLimitsNewestFirst(kind: Channel.Kind, count: Int) throws {
        let items = try items(count)
        let parts = MessageFolding.fold(items, kind: kind, language: "es")
        try #require(!parts.isEmpty)
        for part in parts { try requireWithinLimits(part, kind) }
        // Split only where the limits force it: small folds are one message, and 500 tickets a few.
        if count <= 20 { #expect(parts.count == 1) }
        #expect(parts.count <= 5, "\(parts.count) parts")
        // Every delivery carried exactly once, every ticket named, newest crossing first.
        let carried = parts.flatMap(\.deliveryIDs)
        #expect(carried.sorted() == items.map(\.deliveryID).sorted())
        #expect(carried == items.map(\.deliveryID).reversed())
        let text = parts.map { shown($0.body) }.joined(separator: "\n")
        var previous = text.startIndex
        for item in items.reversed() {
            let range = try #require(text.range(of: item.notice.code), "\(item.notice.code) is not named")
            #expect(range.lowerBound > previous, "\(item.notice.code) out of order")
            previous = range.lowerBound
        }
        // The heading counts them all, in every part.
        for part in parts { #expect(part.body.contains("\(count) alerta")) }
        #expect(Set(parts.map(\.id)).count == parts.count)
        #expect(parts.enumerated().allSatisfy { $0.element.part == $0.offset + 1 && $0.element.parts == parts.count })
    }

    @Test(arguments: platforms)
    func theFirstTwentyHaveALineAndTheRestTheirCode(kind: Channel.Kind) throws {
        let parts = MessageFolding.fold(try items(30), kind: kind, language: "en")
        let text = shown(parts.map(\.body).joined())
        // Lines: code, title cut short, kind, hours left or over.
        #expect(text.contains("TKT-2026-00030"))
        #expect(text.contains("breached — 1.5 h over"))
        #expect(text.contains("breached — 2.2 h left") || text.contains("breached — 2.3 h left"))
        #expect(text.contains("Also: "))
        let lines = text.components(separatedBy: "• ").count - 1
        #expect(lines == 20, "\(lines) lines")
        // A line's title is cut short: never the long tail of a long title.
        #expect(!text.contains(String(repeating: " muy largo 😀", count: 5)))
        #expect(text.contains("30 SLA alerts, newest first"))
    }

    @Test func slackTextIsEscapedAndTheCodeIsBold() throws {
        let parts = MessageFolding.fold(try items(2), kind: .slack, language: "es")
        let body = parts[0].body
        #expect(body.contains("&lt;caída&gt; &amp;"))
        #expect(!body.contains("<caída>"))
        #expect(body.contains("*TKT-2026-00002*"))
        #expect(body.contains("excedido 1,5 h"))
        #expect(body.contains("vencido"))
    }

    @Test func aWarningLineSaysItsLevel() throws {
        let parts = MessageFolding.fold(try items(3, kind: "sla.warning"), kind: .googlechat, language: "es")
        #expect(parts[0].body.contains("aviso 75 %"))
        let en = MessageFolding.fold(try items(3, kind: "sla.warning"), kind: .discord, language: "en")
        #expect(en[0].body.contains("warning 75 %"))
    }

    @Test(arguments: [Channel.Kind.webhook, .log])
    func aWebhookReceivesOneBatchWithEveryEventNewestFirst(kind: Channel.Kind) throws {
        let items = try items(500)
        let parts = MessageFolding.fold(items, kind: kind, language: "es")
        try #require(parts.count == 1)
        let json = try object(parts[0].body)
        #expect(json["type"] as? String == "sla.batch")
        let data = try #require(json["data"] as? [String: Any])
        #expect(data["count"] as? Int == 500)
        let events = try #require(data["events"] as? [[String: Any]])
        #expect(events.compactMap { $0["label"] as? String } == items.reversed().map(\.notice.code))
        #expect(events.first?["title"] as? String == items.last?.notice.title)
    }

    @Test func theIdDependsOnTheDeliveriesCarriedNotTheirOrder() throws {
        #expect(FoldedMessage.id(carrying: [1, 2, 3]) == FoldedMessage.id(carrying: [3, 1, 2]))
        #expect(FoldedMessage.id(carrying: [1, 2, 3]) != FoldedMessage.id(carrying: [1, 2, 4]))
        #expect(FoldedMessage.id(carrying: [1, 2]) != FoldedMessage.id(carrying: [1, 2, 3]))
        let id = FoldedMessage.id(carrying: [7])
        #expect(id.hasPrefix("msg_slawatch_fold_") && id.count == "msg_slawatch_fold_".count + 32)
        let items = try items(40)
        let a = MessageFolding.fold(items, kind: .slack, language: "es")
        let b = MessageFolding.fold(items.shuffled(), kind: .slack, language: "es")
        #expect(a.map(\.id) == b.map(\.id))
        #expect(a.map(\.body) == b.map(\.body))
    }

    @Test func fiveThousandTicketsAreStillNamedInFewParts() throws {
        let items = try items(5_000 / 10 * 10)
        for kind in Self.platforms {
            let parts = MessageFolding.fold(items, kind: kind, language: "es")
            for part in parts { try requireWithinLimits(part, kind) }
            #expect(parts.flatMap(\.deliveryIDs).count == items.count)
            #expect(parts.count <= 30, "\(kind): \(parts.count) parts")
        }
    }
}
