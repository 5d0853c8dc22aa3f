import Foundation
import LoopbackSinks
import PostgresClient
import Testing

// Scheduled reports end to end (the README's Reports, delivery rules and Commands
// `slawatch report`): a real PostgreSQL, the worker run in-process, mail to a real SMTP sink and
// webhooks to a real HTTP sink on loopback.

/// A help desk of two areas with different managers, and a ticket without an area.
/// The report `por_area` runs daily at 08:00 in Bogotá (UTC−5) = 13:00Z. At 2026-03-24T13:00Z:
/// - TECNOLOGIA (jefe.tecnologia@example.com): 00101 CRITICA 7 h of 4 (breached), 00102 ALTA 6.5 h of
///   8 (81 %, at risk), 00103 MEDIA 1 h of 24 (on track).
/// - FACTURACION (jefe.facturacion@example.com): 00201 CRITICA 8 h of 4 (breached), 00202 MEDIA 1 h
///   of 24 (on track), 00203 ALTA resolved after 5 h of 8 (met, at 01:00Z on the 24th).
/// - No area: 00301 CRITICA, breached.
private enum TwoAreas {
    static let arm = "2026-03-24T12:00:00Z"
    static let firstRun = "2026-03-24T13:00:00Z"
    static let secondRun = "2026-03-25T13:00:00Z"

    /// Each area: its manager, the codes its report lists on the 24th at 13:00Z, and all its codes.
    static let tecnologia = (
        area: "TECNOLOGIA", manager: "jefe.tecnologia@example.com", codes: ["TKT-2026-00101", "TKT-2026-00102"],
        all: ["TKT-2026-00101", "TKT-2026-00102", "TKT-2026-00103"]
    )
    static let facturacion = (
        area: "FACTURACION", manager: "jefe.facturacion@example.com", codes: ["TKT-2026-00201"],
        all: ["TKT-2026-00201", "TKT-2026-00202", "TKT-2026-00203"]
    )
    static let everyCode = tecnologia.all + facturacion.all + ["TKT-2026-00301"]

    static let dataSQL = """
        INSERT INTO tickets (id, codigo, titulo, descripcion, categoria, usuario_id, area_id, prioridad_id, estado_id, creado_en, actualizado_en)
        SELECT v.id::uuid, v.codigo, v.titulo, '', NULL, NULL,
               (SELECT id FROM areas WHERE nombre = v.area), (SELECT id FROM prioridades WHERE nombre = v.prioridad),
               (SELECT id FROM estados WHERE code = v.estado), v.creado::timestamptz, v.actualizado::timestamptz
        FROM (VALUES
          ('00000000-0000-0000-0000-000000000101', 'TKT-2026-00101', 'Servidor de correo caído', 'TECNOLOGIA', 'CRITICA', 'EN_PROCESO', '2026-03-24T06:00:00Z', '2026-03-24T06:00:00Z'),
          ('00000000-0000-0000-0000-000000000102', 'TKT-2026-00102', 'Copia de seguridad fallida', 'TECNOLOGIA', 'ALTA', 'ABIERTO', '2026-03-24T06:30:00Z', '2026-03-24T06:30:00Z'),
          ('00000000-0000-0000-0000-000000000103', 'TKT-2026-00103', 'Monitor parpadea', 'TECNOLOGIA', 'MEDIA', 'ABIERTO', '2026-03-24T12:00:00Z', '2026-03-24T12:00:00Z'),
          ('00000000-0000-0000-0000-000000000201', 'TKT-2026-00201', 'Factura duplicada', 'FACTURACION', 'CRITICA', 'ABIERTO', '2026-03-24T05:00:00Z', '2026-03-24T05:00:00Z'),
          ('00000000-0000-0000-0000-000000000202', 'TKT-2026-00202', 'Nota crédito pendiente', 'FACTURACION', 'MEDIA', 'ABIERTO', '2026-03-24T12:00:00Z', '2026-03-24T12:00:00Z'),
          ('00000000-0000-0000-0000-000000000203', 'TKT-2026-00203', 'Cobro rechazado', 'FACTURACION', 'ALTA', 'RESUELTO', '2026-03-23T20:00:00Z', '2026-03-24T01:00:00Z'),
          ('00000000-0000-0000-0000-000000000301', 'TKT-2026-00301', 'Sin área asignada', NULL, 'CRITICA', 'ABIERTO', '2026-03-24T04:00:00Z', '2026-03-24T04:00:00Z')
        ) AS v(id, codigo, titulo, area, prioridad, estado, creado, actualizado);
        INSERT INTO ticket_historial (ticket_id, estado_id, cambiado_en)
        SELECT v.t::uuid, (SELECT id FROM estados WHERE code = v.e), v.at::timestamptz FROM (VALUES
          ('00000000-0000-0000-0000-000000000203', 'ABIERTO', '2026-03-23T20:00:00Z'),
          ('00000000-0000-0000-0000-000000000203', 'RESUELTO', '2026-03-24T01:00:00Z')
        ) AS v(t, e, at);
        """

    static let breachedOrAtRisk = #"{ column: "sla_status", op: "IN", operand: ["breached", "at_risk"] }"#

    /// Rules with the `por_area` report; `channels` are the report's, `extraChannels` more channel definitions.
    static func rules(
        smtp: String, schedule: String = "0 8 * * *", timezone: String = "America/Bogota",
        filter: String = breachedOrAtRisk,
        to: String = #""{{area_manager_email}}""#, channels: [String] = ["jefes"], extraChannels: String = ""
    ) -> String {
        """
        {
          calendars: { "24x7": { type: "always" } },
          policies: [
            { name: "todo", calendar: "24x7", targets: { CRITICA: 4, ALTA: 8, MEDIA: 24, BAJA: 40 },
              pause_statuses: ["EN_ESPERA"], stop_statuses: ["RESUELTO", "CERRADO"], warn_at: [75] },
          ],
          channels: {
            jefes: { type: "email", to: [\(to)] },
            \(extraChannels)
          },
          smtp: { url: "\(smtp)", from: "slawatch <sla@example.com>", tls: "none" },
          reports: [
            { name: "por_area", title: "Vencidos por área", schedule: "\(schedule)", timezone: "\(timezone)", per_area: true,
              filter: \(filter), channels: [\(channels.map { "\"\($0)\"" }.joined(separator: ", "))] },
          ],
        }
        """
    }

    static func load(into db: TestDatabase) throws {
        try db.loadReferenceSchema()
        try db.connect().execute(dataSQL)
    }
}

/// A received mail taken apart: its headers (unfolded, names lower-cased), its decoded subject, and
/// its MIME parts in order with their decoded bodies.
private struct ReceivedMail {
    let recipients: [String]
    let headers: [String: String]
    let subject: String
    let parts: [(contentType: String, body: String)]

    var text: String { parts.first { $0.contentType.hasPrefix("text/plain") }?.body ?? "" }
    var html: String { parts.first { $0.contentType.hasPrefix("text/html") }?.body ?? "" }

    init(_ message: SMTPSink.Message) throws {
        recipients = message.recipients
        let raw = message.text
        let split = try #require(raw.range(of: "\r\n\r\n"), "no header/body separator")
        headers = Self.headers(String(raw[..<split.lowerBound]))
        subject = Self.decodeWords(headers["subject"] ?? "")
        let contentType = try #require(headers["content-type"])
        #expect(contentType.hasPrefix("multipart/alternative"), "\(contentType)")
        let boundaryMatch = try #require(
            contentType.firstMatch(of: /boundary="([^"]+)"/), "no boundary in \(contentType)")
        let boundary = "--" + boundaryMatch.output.1
        let body = String(raw[split.upperBound...])
        #expect(body.contains(boundary + "--"), "the multipart body is not closed")
        var parts: [(String, String)] = []
        for chunk in body.components(separatedBy: boundary).dropFirst() where !chunk.hasPrefix("--") {
            guard let end = chunk.range(of: "\r\n\r\n") else { continue }
            let partHeaders = Self.headers(
                String(chunk[..<end.lowerBound]).trimmingCharacters(in: .whitespacesAndNewlines))
            let encoded = String(chunk[end.upperBound...])
            var decoded = encoded
            if partHeaders["content-transfer-encoding"]?.lowercased() == "base64" {
                let data = try #require(Data(base64Encoded: encoded.filter { !$0.isWhitespace }), "bad base64 part")
                decoded = String(decoding: data, as: UTF8.self)
            }
            parts.append((partHeaders["content-type"] ?? "", decoded))
        }
        self.parts = parts
    }

    static func headers(_ block: String) -> [String: String] {
        var result: [String: String] = [:]
        let unfolded = block.replacingOccurrences(of: "\r\n ", with: " ").replacingOccurrences(of: "\r\n\t", with: " ")
        for line in unfolded.components(separatedBy: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            result[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return result
    }

    /// RFC 2047 `=?UTF-8?B?...?=` words; whitespace between adjacent encoded words is dropped.
    static func decodeWords(_ value: String) -> String {
        guard value.contains("=?") else { return value }
        var bytes: [UInt8] = []
        for match in value.matches(of: /=\?[Uu][Tt][Ff]-8\?[Bb]\?([A-Za-z0-9+\/=]*)\?=/) {
            bytes += Data(base64Encoded: String(match.output.1)).map(Array.init) ?? []
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Runs the CLI and expects it to succeed.
@discardableResult
private func run(_ arguments: [String]) async -> CLIResult {
    let result = await slawatch(arguments)
    #expect(result.status == 0, "slawatch \(arguments.joined(separator: " ")): \(result.stderr)")
    return result
}

/// `slawatch run --once` at `now`.
@discardableResult
private func cycle(_ db: TestDatabase, _ rules: TemporaryRules, at now: String) async -> CLIResult {
    await run(["run", "--once", "--rules", rules.path, "--database", db.url, "--now", now])
}

/// The report runs recorded, as "scheduled_at status".
private func reportRuns(_ db: TestDatabase) throws -> [String] {
    try db.connect().query(
        """
        SELECT to_char(scheduled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ' ' || status
        FROM slawatch.report_runs ORDER BY scheduled_at
        """
    ).rows.map { try $0.string(0) }
}

/// The report deliveries, as "scheduled_at channel recipient status".
private func reportDeliveries(_ db: TestDatabase) throws -> [String] {
    try db.connect().query(
        """
        SELECT to_char(report_scheduled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ' ' || channel || ' ' || recipient || ' ' || status
        FROM slawatch.deliveries WHERE report IS NOT NULL ORDER BY 1
        """
    ).rows.map { try $0.string(0) }
}

private func deliveryCount(_ db: TestDatabase) throws -> Int {
    try db.connect().query("SELECT count(*) FROM slawatch.deliveries").rows[0].int(0)
}

/// Checks that one area's mail went to that area's manager only and holds `codes` and no ticket of
/// another area (nor any of `absent`), in both parts, text first.
private func expectAreaMail(
    _ mail: ReceivedMail, area: String, manager: String, codes: [String], own: [String], absent: [String] = []
) {
    #expect(mail.recipients == [manager], "\(area)")
    #expect(mail.headers["to"] == manager, "\(area)")
    #expect(mail.parts.count == 2, "\(area)")
    #expect(
        mail.parts.first?.contentType.hasPrefix("text/plain") == true,
        "\(area): the first part is \(mail.parts.first?.contentType ?? "-")")
    #expect(
        mail.parts.last?.contentType.hasPrefix("text/html") == true,
        "\(area): the last part is \(mail.parts.last?.contentType ?? "-")")
    #expect(mail.subject.contains(area), "\(area): subject \(mail.subject)")
    #expect(mail.text.contains(area), "\(area)")
    #expect(mail.html.contains("<html"), "\(area)")
    for code in codes {
        #expect(mail.text.contains(code), "\(area): \(code) missing from the text part")
        #expect(mail.html.contains(code), "\(area): \(code) missing from the HTML part")
    }
    for code in TwoAreas.everyCode where !own.contains(code) || absent.contains(code) {
        #expect(!mail.text.contains(code), "\(area): \(code) leaked into the text part")
        #expect(!mail.html.contains(code), "\(area): \(code) leaked into the HTML part")
    }
}

/// The mails of `messages` by recipient.
private func mailsByRecipient(_ messages: [SMTPSink.Message]) throws -> [String: [ReceivedMail]] {
    var result: [String: [ReceivedMail]] = [:]
    for message in messages {
        let mail = try ReceivedMail(message)
        result[mail.recipients.joined(separator: ","), default: []].append(mail)
    }
    return result
}

@Suite struct ReportTests {
    @Test("per-area report: one mail per area, to that area's manager, with only that area's tickets; once")
    func perAreaMailsOncePerScheduledInstant() async throws {
        let db = try TestDatabase()
        try TwoAreas.load(into: db)
        let smtp = try SMTPSink()
        let rules = try TemporaryRules(["sla.json": TwoAreas.rules(smtp: smtp.url)])

        // The first cycle arms the report; nothing is due yet.
        await cycle(db, rules, at: TwoAreas.arm)
        #expect(smtp.messages.isEmpty)
        #expect(try reportRuns(db).isEmpty)

        // Just after 08:00 in Bogotá.
        await cycle(db, rules, at: "2026-03-24T13:00:30Z")
        #expect(smtp.messages.count == 2)
        let mails = try mailsByRecipient(smtp.messages)
        #expect(Set(mails.keys) == [TwoAreas.tecnologia.manager, TwoAreas.facturacion.manager])
        for area in [TwoAreas.tecnologia, TwoAreas.facturacion] {
            let received = mails[area.manager] ?? []
            #expect(received.count == 1, "\(area.area)")
            guard let mail = received.first else { continue }
            expectAreaMail(mail, area: area.area, manager: area.manager, codes: area.codes, own: area.all)
            #expect(mail.headers["from"]?.contains("sla@example.com") == true)
            #expect(mail.headers["message-id"] != nil)
            #expect(mail.headers["date"] != nil)
        }
        // The counts and the attainment are the area's own.
        if let tech = mails[TwoAreas.tecnologia.manager]?.first,
            let billing = mails[TwoAreas.facturacion.manager]?.first
        {
            #expect(tech.subject.contains("1 vencido, 1 en riesgo"), "\(tech.subject)")
            #expect(billing.subject.contains("1 vencido, 0 en riesgo"), "\(billing.subject)")
            #expect(tech.text.contains("ningún ticket cerrado"), "\(tech.text)")
            #expect(billing.text.contains("100 % (1/1)"), "\(billing.text)")
        }
        #expect(try reportRuns(db) == ["\(TwoAreas.firstRun) sent"])
        #expect(
            try reportDeliveries(db) == [
                "\(TwoAreas.firstRun) jefes \(TwoAreas.facturacion.manager) sent",
                "\(TwoAreas.firstRun) jefes \(TwoAreas.tecnologia.manager) sent",
            ])

        // The same instant again, and later that day: nothing more.
        await cycle(db, rules, at: "2026-03-24T13:00:30Z")
        await cycle(db, rules, at: "2026-03-24T18:00:00Z")
        #expect(smtp.messages.count == 2)
        #expect(try reportRuns(db) == ["\(TwoAreas.firstRun) sent"])
    }

    @Test("two workers at once: one report run per scheduled instant")
    func twoConcurrentWorkersRunOnce() async throws {
        let db = try TestDatabase()
        try TwoAreas.load(into: db)
        let smtp = try SMTPSink()
        let rules = try TemporaryRules(["sla.json": TwoAreas.rules(smtp: smtp.url)])
        await cycle(db, rules, at: TwoAreas.arm)
        await cycle(db, rules, at: "2026-03-24T13:00:30Z")
        #expect(smtp.messages.count == 2)

        for round in 0..<3 {
            let day = ["2026-03-25", "2026-03-26", "2026-03-27"][round]
            let arguments = ["run", "--once", "--rules", rules.path, "--database", db.url, "--now", "\(day)T13:01:00Z"]
            async let first = slawatch(arguments)
            async let second = slawatch(arguments)
            let (a, b) = await (first, second)
            #expect(a.status == 0, "\(a.stderr)")
            #expect(b.status == 0, "\(b.stderr)")
            #expect(smtp.messages.count == 2 * (round + 2), "round \(round)")
        }
        let mails = try mailsByRecipient(smtp.messages)
        #expect(mails[TwoAreas.tecnologia.manager]?.count == 4)
        #expect(mails[TwoAreas.facturacion.manager]?.count == 4)
        #expect(
            try reportRuns(db) == [
                "2026-03-24T13:00:00Z sent", "2026-03-25T13:00:00Z sent", "2026-03-26T13:00:00Z sent",
                "2026-03-27T13:00:00Z sent",
            ])
        #expect(try reportDeliveries(db).count == 8)
        #expect(try reportDeliveries(db).allSatisfy { $0.hasSuffix(" sent") })
    }

    @Test("after a restart: a run less than one period late is sent once")
    func lateByLessThanAPeriodIsSentOnce() async throws {
        let db = try TestDatabase()
        try TwoAreas.load(into: db)
        let smtp = try SMTPSink()
        let rules = try TemporaryRules(["sla.json": TwoAreas.rules(smtp: smtp.url)])
        await cycle(db, rules, at: TwoAreas.arm)
        // The worker was down from before 13:00Z on the 24th until 23 h 59 min later.
        await cycle(db, rules, at: "2026-03-25T12:59:00Z")
        #expect(smtp.messages.count == 2)
        #expect(try reportRuns(db) == ["\(TwoAreas.firstRun) sent"])
        let mails = try mailsByRecipient(smtp.messages)
        for area in [TwoAreas.tecnologia, TwoAreas.facturacion] {
            if let mail = mails[area.manager]?.first {
                expectAreaMail(mail, area: area.area, manager: area.manager, codes: area.codes, own: area.all)
            } else {
                Issue.record("no mail for \(area.area)")
            }
        }
        // Another restart before the next instant: not again.
        await cycle(db, rules, at: "2026-03-25T12:59:30Z")
        #expect(smtp.messages.count == 2)
        // The next instant runs as usual.
        await cycle(db, rules, at: "2026-03-25T13:00:30Z")
        #expect(smtp.messages.count == 4)
        #expect(try reportRuns(db) == ["\(TwoAreas.firstRun) sent", "\(TwoAreas.secondRun) sent"])
    }

    @Test("after a restart: a run more than one period late is recorded as skipped and not sent")
    func lateByMoreThanAPeriodIsSkipped() async throws {
        let db = try TestDatabase()
        try TwoAreas.load(into: db)
        let smtp = try SMTPSink()
        let rules = try TemporaryRules(["sla.json": TwoAreas.rules(smtp: smtp.url)])
        await cycle(db, rules, at: TwoAreas.arm)
        // Down until 24 h 30 min after the 24th's run: that run is more than a day late (skipped);
        // the 25th's is 30 minutes late (sent).
        await cycle(db, rules, at: "2026-03-25T13:30:00Z")
        #expect(try reportRuns(db) == ["\(TwoAreas.firstRun) skipped", "\(TwoAreas.secondRun) sent"])
        #expect(smtp.messages.count == 2)
        let deliveries = try reportDeliveries(db)
        #expect(deliveries.count == 2)
        #expect(deliveries.allSatisfy { $0.hasPrefix(TwoAreas.secondRun) }, "\(deliveries)")
        await cycle(db, rules, at: "2026-03-25T13:45:00Z")
        #expect(smtp.messages.count == 2)
        #expect(try reportRuns(db).count == 2)
    }

    @Test("after a long outage: every missed instant is recorded as skipped, the latest sent once")
    func everyMissedInstantIsRecorded() async throws {
        let db = try TestDatabase()
        try TwoAreas.load(into: db)
        let smtp = try SMTPSink()
        let rules = try TemporaryRules(["sla.json": TwoAreas.rules(smtp: smtp.url)])
        await cycle(db, rules, at: TwoAreas.arm)
        // Down for three days: the 24th, 25th and 26th are more than a period late; the 27th is not.
        await cycle(db, rules, at: "2026-03-27T13:30:00Z")
        #expect(smtp.messages.count == 2)
        #expect(try reportDeliveries(db).allSatisfy { $0.hasPrefix("2026-03-27T13:00:00Z") })
        // Each scheduled instant produces exactly one report run: sent or skipped.
        let runs = try reportRuns(db)
        #expect(
            runs == [
                "2026-03-24T13:00:00Z skipped", "2026-03-25T13:00:00Z skipped", "2026-03-26T13:00:00Z skipped",
                "2026-03-27T13:00:00Z sent",
            ], "recorded: \(runs)")
    }

    @Test("a report whose filter matches nothing still sends a short \"nothing overdue\" message")
    func filterMatchingNothingSendsQuietMessage() async throws {
        let db = try TestDatabase()
        try TwoAreas.load(into: db)
        let smtp = try SMTPSink()
        let nothing = #"{ column: "priority", op: "EQ", operand: "NINGUNA" }"#
        let rules = try TemporaryRules(["sla.json": TwoAreas.rules(smtp: smtp.url, filter: nothing)])
        await cycle(db, rules, at: TwoAreas.arm)
        await cycle(db, rules, at: "2026-03-24T13:00:30Z")
        #expect(smtp.messages.count == 2)
        let mails = try mailsByRecipient(smtp.messages)
        for area in [TwoAreas.tecnologia, TwoAreas.facturacion] {
            guard let mail = mails[area.manager]?.first else {
                Issue.record("no mail for \(area.area)")
                continue
            }
            expectAreaMail(mail, area: area.area, manager: area.manager, codes: [], own: area.all, absent: area.all)
            #expect(mail.subject.contains("Nada vencido ni en riesgo"), "\(mail.subject)")
            #expect(mail.text.contains("Nada vencido ni en riesgo"), "\(mail.text)")
            #expect(mail.html.contains("Nada vencido ni en riesgo"))
            // Short.
            #expect(mail.text.count < 600, "\(mail.text)")
        }
        #expect(try reportRuns(db) == ["\(TwoAreas.firstRun) sent"])
    }

    @Test("two areas with the same manager: that manager gets each area's report")
    func sharedManagerGetsEachAreasReport() async throws {
        let db = try TestDatabase()
        try TwoAreas.load(into: db)
        try db.connect().execute(
            "UPDATE areas SET correo_responsable = 'jefa.comun@example.com' WHERE nombre IN ('TECNOLOGIA', 'FACTURACION')"
        )
        let smtp = try SMTPSink()
        let rules = try TemporaryRules(["sla.json": TwoAreas.rules(smtp: smtp.url)])
        await cycle(db, rules, at: TwoAreas.arm)
        await cycle(db, rules, at: "2026-03-24T13:00:30Z")
        let mails = try smtp.messages.map(ReceivedMail.init)
        #expect(mails.count == 2, "one report per area; got \(mails.count) mail(s): \(mails.map(\.subject))")
        let areas = Set(
            mails.compactMap { mail in
                [TwoAreas.tecnologia, TwoAreas.facturacion].first { mail.subject.contains($0.area) }?.area
            })
        #expect(areas == ["TECNOLOGIA", "FACTURACION"])
        for mail in mails {
            let area = mail.subject.contains("TECNOLOGIA") ? TwoAreas.tecnologia : TwoAreas.facturacion
            expectAreaMail(mail, area: area.area, manager: "jefa.comun@example.com", codes: area.codes, own: area.all)
        }
    }

    @Test("slawatch report NAME --print renders text, HTML and JSON without sending anything")
    func printRendersWithoutSending() async throws {
        let db = try TestDatabase()
        try TwoAreas.load(into: db)
        let smtp = try SMTPSink()
        let http = try HTTPSink()
        let rules = try TemporaryRules([
            "sla.json": TwoAreas.rules(
                smtp: smtp.url, channels: ["jefes", "gancho"],
                extraChannels: #"gancho: { type: "webhook", url: "\#(http.url)/hook" },"#)
        ])
        await run(["migrate", "--rules", rules.path, "--database", db.url, "--now", TwoAreas.arm])
        let base = ["report", "por_area", "--rules", rules.path, "--database", db.url, "--now", "2026-03-24T13:00:30Z"]

        // Text by default: one section per area, each with only its own tickets.
        let text = await run(base + ["--print"])
        let sections = text.stdout.components(separatedBy: "\n----\n")
        #expect(sections.count == 2, "\(text.stdout)")
        for area in [TwoAreas.tecnologia, TwoAreas.facturacion] {
            let section = try #require(
                sections.first { $0.contains("Área \(area.area)") }, "no section for \(area.area)")
            for code in area.codes { #expect(section.contains(code), "\(area.area): \(code)") }
            for code in TwoAreas.everyCode where !area.all.contains(code) {
                #expect(!section.contains(code), "\(area.area): \(code) leaked")
            }
        }
        #expect(!text.stdout.contains("TKT-2026-00301"))
        #expect(await run(base).stdout == text.stdout, "--print is the default")

        let html = await run(base + ["--print", "--format", "html"])
        #expect(html.stdout.components(separatedBy: "<!DOCTYPE html>").count == 3, "two HTML documents")
        #expect(html.stdout.contains("TKT-2026-00101") && html.stdout.contains("TKT-2026-00201"))

        let json = await run(base + ["--print", "--format", "json"])
        let array = try #require(
            try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]], "\(json.stdout)")
        #expect(Set(array.compactMap { $0["area"] as? String }) == ["TECNOLOGIA", "FACTURACION"])
        for object in array {
            let area = object["area"] as? String
            let labels = (object["attention"] as? [[String: Any]])?.compactMap { $0["label"] as? String }
            #expect(
                labels == (area == "TECNOLOGIA" ? TwoAreas.tecnologia.codes : TwoAreas.facturacion.codes),
                "\(area ?? "-")")
            #expect(object["report"] as? String == "por_area")
        }

        let bad = await slawatch(base + ["--print", "--format", "pdf"])
        #expect(bad.status == 2)
        let unknown = await slawatch(["report", "no_existe", "--print", "--rules", rules.path, "--database", db.url])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("no_existe"))

        // Nothing was written or sent.
        #expect(try deliveryCount(db) == 0)
        #expect(try reportRuns(db).isEmpty)
        #expect(smtp.messages.isEmpty)
        #expect(http.requests.isEmpty)
    }

    @Test("slawatch report NAME --send delivers now through the report's channels")
    func sendDeliversNow() async throws {
        let db = try TestDatabase()
        try TwoAreas.load(into: db)
        let smtp = try SMTPSink()
        let http = try HTTPSink()
        let rules = try TemporaryRules([
            "sla.json": TwoAreas.rules(
                smtp: smtp.url, channels: ["jefes", "gancho"],
                extraChannels: #"gancho: { type: "webhook", url: "\#(http.url)/hook" },"#)
        ])
        let sendAt = "2026-03-24T15:30:00Z"
        let result = await run([
            "report", "por_area", "--send", "--rules", rules.path, "--database", db.url, "--now", sendAt,
        ])
        #expect(result.stderr.contains("4 deliveries"), "\(result.stderr)")

        // E-mail: one per area, each to its manager with its own tickets.
        #expect(smtp.messages.count == 2)
        let mails = try mailsByRecipient(smtp.messages)
        for area in [TwoAreas.tecnologia, TwoAreas.facturacion] {
            if let mail = mails[area.manager]?.first {
                expectAreaMail(mail, area: area.area, manager: area.manager, codes: area.codes, own: area.all)
            } else {
                Issue.record("no mail for \(area.area)")
            }
        }
        // Webhook: one JSON report per area.
        let requests = http.requests
        #expect(requests.count == 2)
        var hookAreas: [String] = []
        for request in requests {
            #expect(request.method == "POST")
            #expect(request.target == "/hook")
            #expect(request.header("webhook-id") != nil)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
            #expect(object["type"] as? String == "sla.report")
            let data = try #require(object["data"] as? [String: Any])
            let area = try #require(data["area"] as? String)
            hookAreas.append(area)
            let labels = (data["attention"] as? [[String: Any]])?.compactMap { $0["label"] as? String }
            #expect(
                labels == (area == "TECNOLOGIA" ? TwoAreas.tecnologia.codes : TwoAreas.facturacion.codes), "\(area)")
        }
        #expect(hookAreas.sorted() == ["FACTURACION", "TECNOLOGIA"])
        #expect(try reportRuns(db) == ["\(sendAt) manual"])
        let deliveries = try reportDeliveries(db)
        #expect(deliveries.count == 4)
        #expect(deliveries.allSatisfy { $0.hasSuffix(" sent") }, "\(deliveries)")

        // A manual send neither arms nor consumes a scheduled run: the worker still runs 08:00 once.
        await cycle(db, rules, at: "2026-03-25T12:00:00Z")
        await cycle(db, rules, at: "2026-03-25T13:00:30Z")
        #expect(smtp.messages.count == 4)
        #expect(http.requests.count == 4)
        #expect(try reportRuns(db) == ["\(sendAt) manual", "\(TwoAreas.secondRun) sent"])
    }

    @Test("slawatch check names the report with an invalid cron expression or time zone")
    func checkNamesTheReport() async throws {
        let cases: [(schedule: String, timezone: String, mentions: [String])] = [
            ("0 25 * * *", "America/Bogota", ["reports[0].schedule", "por_area", "hour"]),
            ("0 8 * * MON-XYZ", "America/Bogota", ["reports[0].schedule", "por_area"]),
            ("0 8 * *", "America/Bogota", ["reports[0].schedule", "por_area"]),
            ("0 8 * * 1-5", "America/Bogot", ["reports[0].timezone", "por_area", "America/Bogot"]),
            ("0 8 * * 1-5", "Mars/Olympus_Mons", ["reports[0].timezone", "por_area"]),
        ]
        for c in cases {
            let rules = try TemporaryRules([
                "sla.json": TwoAreas.rules(smtp: "smtp://127.0.0.1:2525", schedule: c.schedule, timezone: c.timezone)
            ])
            let result = await slawatch(["check", "--rules", rules.path])
            #expect(result.status == 2, "\(c.schedule) \(c.timezone): \(result.stderr)")
            #expect(result.stderr.contains("sla.json"), "\(result.stderr)")
            for text in c.mentions {
                #expect(result.stderr.contains(text), "\(c.schedule) \(c.timezone): \(result.stderr)")
            }
            #expect(result.stdout.isEmpty)
        }
        let good = try TemporaryRules(["sla.json": TwoAreas.rules(smtp: "smtp://127.0.0.1:2525")])
        let ok = await slawatch(["check", "--rules", good.path])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("1 reports"))
    }
}
