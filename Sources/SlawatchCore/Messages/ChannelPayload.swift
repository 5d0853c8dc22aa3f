/// The body a chat or webhook channel receives for one or several notices, in that service's own
/// format, with ticket text escaped for it.
///
/// Several notices (a burst grouped by `group_wait`) become one message listing them.
public enum ChannelPayload {
    /// The largest number of notices listed one by one in a grouped chat message; the rest are
    /// counted.
    public static let groupListLimit = 10

    public static func json(for kind: Channel.Kind, notices: [Notice], language: String) -> String {
        precondition(!notices.isEmpty)
        switch kind {
        case .slack: return slack(notices, language)
        case .teams: return teams(notices, language)
        case .googlechat: return googleChat(notices, language)
        case .discord: return discord(notices, language)
        case .webhook, .log, .email: return webhook(notices)
        }
    }

    static func title(_ notices: [Notice], _ language: String) -> String {
        if notices.count == 1 { return notices[0].headline(language) }
        return language == "en" ? "\(notices.count) SLA alerts" : "\(notices.count) alertas de SLA"
    }

    static func listed(_ notices: [Notice], _ language: String, line: (Notice) -> String) -> [String] {
        var lines = notices.prefix(groupListLimit).map(line)
        if notices.count > groupListLimit {
            let more = notices.count - groupListLimit
            lines.append(language == "en" ? "…and \(more) more" : "…y \(more) más")
        }
        return lines
    }

    /// Slack's mrkdwn (also Mattermost and Rocket.Chat): `&`, `<`, `>` must be escaped.
    static func slackEscape(_ s: String) -> String {
        s.replacing("&", with: "&amp;").replacing("<", with: "&lt;").replacing(">", with: "&gt;")
    }

    /// Escaped text cut to at most `limit` characters, never inside an `&amp;`-style entity.
    static func slackClip(_ raw: String, _ limit: Int) -> String {
        let escaped = slackEscape(raw)
        guard escaped.count > limit else { return escaped }
        var cut = String(escaped.prefix(limit - 1))
        if let amp = cut.lastIndex(of: "&"), !cut[amp...].contains(";") { cut = String(cut[..<amp]) }
        return cut + "…"
    }

    static func slack(_ notices: [Notice], _ language: String) -> String {
        // Slack refuses a section text over 3,000 characters or a field over 2,000.
        let text = slackClip(title(notices, language), 2_900)
        var blocks = [
            JSONText.object([
                ("type", "\"section\""),
                ("text", JSONText.object([("type", "\"mrkdwn\""), ("text", JSONText.string("*\(text)*"))])),
            ])
        ]
        if notices.count == 1 {
            let fields = notices[0].facts(language).map {
                JSONText.object([
                    ("type", "\"mrkdwn\""),
                    ("text", JSONText.string("*\(slackEscape($0.0))*\n\(slackClip($0.1, 1_900))")),
                ])
            }
            blocks.append(
                JSONText.object([
                    ("type", "\"section\""), ("fields", "[" + fields.prefix(10).joined(separator: ", ") + "]"),
                ]))
        } else {
            let lines = listed(notices, language) {
                "• " + slackEscape($0.headline(language)) + " — " + slackClip($0.title, 200)
            }
            blocks.append(
                JSONText.object([
                    ("type", "\"section\""),
                    (
                        "text",
                        JSONText.object([
                            ("type", "\"mrkdwn\""),
                            ("text", JSONText.string(String(lines.joined(separator: "\n").prefix(2_900)))),
                        ])
                    ),
                ]))
        }
        return JSONText.object([
            ("text", JSONText.string(text)), ("blocks", "[" + blocks.joined(separator: ", ") + "]"),
        ])
    }

    /// Microsoft Teams through a Workflows webhook: a message carrying an Adaptive Card.
    static func teams(_ notices: [Notice], _ language: String) -> String {
        var body = [
            JSONText.object([
                ("type", "\"TextBlock\""), ("text", JSONText.string(title(notices, language))),
                ("weight", "\"Bolder\""),
                ("size", "\"Medium\""), ("wrap", "true"),
            ])
        ]
        if notices.count == 1 {
            let facts = notices[0].facts(language).map {
                JSONText.object([("title", JSONText.string($0.0)), ("value", JSONText.string($0.1))])
            }
            body.append(
                JSONText.object([("type", "\"FactSet\""), ("facts", "[" + facts.joined(separator: ", ") + "]")]))
        } else {
            for line in listed(notices, language, line: { $0.headline(language) + " — " + $0.title }) {
                body.append(
                    JSONText.object([("type", "\"TextBlock\""), ("text", JSONText.string(line)), ("wrap", "true")]))
            }
        }
        return teamsMessage(body)
    }

    /// A Teams message carrying one Adaptive Card whose body is `body` (card elements as JSON).
    static func teamsMessage(_ body: [String]) -> String {
        let card = JSONText.object([
            ("$schema", "\"http://adaptivecards.io/schemas/adaptive-card.json\""), ("type", "\"AdaptiveCard\""),
            ("version", "\"1.4\""), ("body", "[" + body.joined(separator: ", ") + "]"),
        ])
        let attachment = JSONText.object([
            ("contentType", "\"application/vnd.microsoft.card.adaptive\""), ("content", card),
        ])
        return JSONText.object([("type", "\"message\""), ("attachments", "[" + attachment + "]")])
    }

    /// Google Chat: text, threaded per ticket (the sender adds
    /// `messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD` to the URL).
    static func googleChat(_ notices: [Notice], _ language: String) -> String {
        func escape(_ s: String) -> String {
            s.replacing("&", with: "&amp;").replacing("<", with: "&lt;").replacing(">", with: "&gt;")
        }
        var lines = ["*" + escape(title(notices, language)) + "*"]
        if notices.count == 1 {
            lines += notices[0].facts(language).map { "\(escape($0.0)): \(escape($0.1))" }
        } else {
            lines += listed(notices, language) { "• " + escape($0.headline(language)) + " — " + escape($0.title) }
        }
        var fields = [("text", JSONText.string(String(lines.joined(separator: "\n").prefix(4000))))]
        let tickets = Set(notices.map(\.ticketID))
        if tickets.count == 1 {
            fields.append(("thread", JSONText.object([("threadKey", JSONText.string("slawatch-" + tickets.first!))])))
        }
        return JSONText.object(fields)
    }

    /// Discord: content within 2,000 characters, one embed within its limits, no mentions parsed
    /// (a ticket title cannot ping @everyone).
    static func discord(_ notices: [Notice], _ language: String) -> String {
        func clip(_ s: String, _ n: Int) -> String { s.count <= n ? s : String(s.prefix(n - 1)) + "…" }
        let color = notices.contains { $0.kind != EventKind.warning.rawValue } ? 15_158_332 : 15_105_570
        var embed: [(String, String)] = [
            ("title", JSONText.string(clip(title(notices, language), 256))), ("color", String(color)),
        ]
        if notices.count == 1 {
            let fields = notices[0].facts(language).map {
                JSONText.object([
                    ("name", JSONText.string(clip($0.0, 256))), ("value", JSONText.string(clip($0.1, 1024))),
                    ("inline", "true"),
                ])
            }
            embed.append(("fields", "[" + fields.joined(separator: ", ") + "]"))
        } else {
            let lines = listed(notices, language) { "• " + $0.headline(language) + " — " + $0.title }
            embed.append(("description", JSONText.string(clip(lines.joined(separator: "\n"), 4096))))
        }
        return JSONText.object([
            ("content", JSONText.string(clip(title(notices, language), 2000))),
            ("embeds", "[" + JSONText.object(embed) + "]"),
            ("allowed_mentions", "{\"parse\": []}"),
        ])
    }

    /// The generic webhook event, documented in the README: `{"type", "timestamp", "data"}` as
    /// Standard Webhooks recommends; several notices arrive as `"type": "sla.batch"`.
    static func webhook(_ notices: [Notice]) -> String {
        if notices.count == 1 {
            return JSONText.object([
                ("type", JSONText.string(notices[0].kind)), ("timestamp", JSONText.string(notices[0].detectedAt)),
                ("data", noticeJSON(notices[0])),
            ])
        }
        return JSONText.object([
            ("type", "\"sla.batch\""), ("timestamp", JSONText.string(notices.map(\.detectedAt).max()!)),
            ("data", JSONText.object([("events", "[" + notices.map(noticeJSON).joined(separator: ", ") + "]")])),
        ])
    }

    public static func noticeJSON(_ n: Notice) -> String {
        JSONText.object([
            ("event_id", JSONText.string(n.eventID)), ("kind", JSONText.string(n.kind)),
            ("level", JSONText.number(n.level)),
            ("crossed_at", JSONText.optional(n.crossedAt)), ("ticket_uuid", JSONText.string(n.ticketID)),
            ("label", JSONText.string(n.code)), ("title", JSONText.string(n.title)),
            ("prioridad_nom", JSONText.string(n.priority)),
            ("estado_code", JSONText.string(n.status)), ("area_asignada", JSONText.optional(n.area)),
            ("sla_horas", JSONText.number(n.slaHours)), ("horas_restantes", JSONText.number(n.hoursRemaining)),
            ("due_at", JSONText.optional(n.dueAt)), ("reminder", String(n.reminder ?? 0)),
        ])
    }
}
