import Foundation
import SlawatchCore
import Testing

// The parsers that read what people write — the rules loader, the filter grammar (in rules and in
// `--filter`), cron expressions and durations — on 10,000 generated inputs each, from a fixed seed:
// no crash, no hang, and every rejection a clear one-line error that says where the input is wrong.
// `scripts/fuzz` runs the same tests for as long as asked with a random seed (see Fuzzer.swift).

/// A rules set that uses every key, for the fuzzer to take apart.
private let everyKeyRules = #"""
    // Every key of the rules, once.
    {
      source: { tickets: "slawatch_source.tickets", status_changes: "public.status_changes" },
      calendars: {
        "24x7": { type: "always" },
        oficina: {
          type: "business_hours", timezone: "America/Bogota",
          week: { mon: ["08:00-12:00", "13:00-18:00"], sat: ["09:00-13:00"], sun: [], fri: ["00:00-24:00"] },
          holidays: ["2026-12-25", "2027-01-01"],
        },
      },
      policies: [
        { name: "criticos", when: { column: "priority", op: "EQ", operand: "CRITICA" }, calendar: "24x7",
          targets: { CRITICA: 4, ALTA: 0.5 }, pause_statuses: ["EN_ESPERA"], stop_statuses: ["RESUELTO", "CERRADO"],
          warn_at: [50, 75, 90], escalate_after: ["1h", "1h30m", "1d"] },
        { name: "general", calendar: "oficina", targets: { MEDIA: 24, BAJA: 1000000 },
          when: { op: "OR", operand: [
            { column: "area", op: "IN", operand: ["TI", null] },
            { id: "c2", column: "created_at", op: "GT", operand: "2026-01-01T00:00:00Z" },
            { column: "reopen_count", op: "GE", operand: 2 },
          ] } },
      ],
      channels: {
        correo: { type: "email", to: ["jefe@example.com", "{{area_manager_email}}"], language: "en", max_attempts: 5,
                  max_age: "2d" },
        chat: { type: "slack", url: "https://hooks.example.com/x", rate_per_second: 2, timeout: "5s" },
        equipo: { type: "teams", url: "https://example.com/teams" },
        gchat: { type: "googlechat", url: "https://example.com/g" },
        disc: { type: "discord", url: "https://example.com/d", language: "es" },
        gancho: { type: "webhook", url: "http://127.0.0.1:9/w", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" },
        consola: { type: "log" },
      },
      smtp: { url: "smtp://127.0.0.1:2525", from: "slawatch@example.com", username: "u", password: "${SMTP_PASSWORD}",
              tls: "none" },
      routes: [
        { when: { column: "vencido", op: "EQ", operand: true }, events: ["sla.breached", "sla.escalated"],
          channels: ["correo", "chat"], group_wait: "30s", repeat: "4h" },
        { events: ["sla.warning", "sla.met_after_breach"], channels: ["gancho", "consola", "equipo", "gchat", "disc"] },
      ],
      reports: [
        { name: "diario", schedule: "0 8 * * MON-FRI", timezone: "America/Bogota", per_area: true,
          filter: { column: "sla_status", op: "IN", operand: ["breached", "at_risk"] }, channels: ["correo"],
          title: "Resumen" },
        { name: "semanal", schedule: "*/15 8-18/2 1,15 JAN-DEC 0,7", channels: ["consola"] },
      ],
    }
    """#

/// The repository's own `rules/` files.
private func repositoryRules(filePath: String = #filePath) -> [(path: String, contents: Data)] {
    let root = URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let directory = root.appendingPathComponent("rules")
    let names =
        (try? FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }.sorted())
        ?? []
    return names.compactMap { name in
        (try? Data(contentsOf: directory.appendingPathComponent(name))).map { ("rules/" + name, $0) }
    }
}

private let filters = [
    #"{"column": "priority", "op": "EQ", "operand": "ALTA"}"#,
    #"{"column": "area", "op": "NE", "operand": null}"#,
    #"{"column": "horas_restantes", "op": "LT", "operand": -1.5}"#,
    #"{"column": "sla_horas", "op": "GE", "operand": "8"}"#,
    #"{"column": "vencido", "op": "EQ", "operand": true}"#,
    #"{"column": "created_at", "op": "GT", "operand": "2026-03-24T05:00:00-05:00"}"#,
    #"{"column": "due_at", "op": "LE", "operand": "2026-04-01"}"#,
    #"{"column": "title", "op": "LIKE", "operand": "%factura\\_%"}"#,
    #"{"column": "sla_status", "op": "IN", "operand": ["breached", "at_risk", null]}"#,
    #"{"column": "ticket_id", "op": "EQ", "operand": "7d3c0b8e-3c1a-4c55-9a0e-2b7f5b1d0001"}"#,
    #"{"id": "c1", "column": "reopen_count", "op": "GT", "operand": 2}"#,
    #"{op: "AND", operand: [{column: "priority", op: "IN", operand: ["CRITICA", "ALTA"]}, {op: "OR", operand: [{column: "area", op: "EQ", operand: "Redes"}, {column: "category", op: "LIKE", operand: "Fact%"}]},]}"#,
    #"{"op": "OR", "operand": []}"#,
]

private let crons = [
    "0 8 * * 1-5", "*/15 * * * *", "0 0 1 JAN *", "30 2 * * SUN", "0 9-17/2 1,15 * MON-FRI", "5 4 * * 7", "0 0 29 2 *",
    "59 23 31 12 6", "0,30 * * * *", "1-59/7 0-23/5 */3 */2 */2", "0 8 * * mon-fri", "0\t8 *  * *",
]

private let cronTokens = [
    "*", "*/0", "*/61", "0-", "-1", "60", "24", "32", "13", "8", "0", "7", "MON", "mon", "XYZ", "JAN-DEC", "1-5/2",
    "5-1",
    "99999999999999999999", "9223372036854775807", "1,,2", ",", "/", "//", "*/", "+5", "0x10", "٣", "½", "\u{0}",
    "\r\n",
    "\t", "  ", "", "1-2-3", "*/2/3", "SUN-SAT", "*-5", "5/", "-", "é",
]

private let durations = [
    "30s", "15m", "4h", "1d", "1h30m", "250ms", "1.5h", " 4h ", "2w", "0s", "1d2h3m4s5ms", ".5h", "36600d",
]

private let durationTokens = [
    "9999999999999999999999", "1e308", ".", "..", "-", "+", "ms", "s", "m", "h", "d", "w", "x", "µs", "٣", "½", "\u{0}",
    "\r\n", " ", "0.0000001", "36600d", "1", "00", "\u{FEFF}", "é",
]

/// A row with every column the contract and the computed columns define, for filters to run on.
private struct SampleRow: FilterSubject {
    func value(of column: String) -> FieldValue? {
        switch column {
        case "ticket_id": return .text("7d3c0b8e-3c1a-4c55-9a0e-2b7f5b1d0001")
        case "created_at", "updated_at", "due_at": return .instant(Instant(microseconds: 1_774_348_200_000_000))
        case "sla_horas", "horas_restantes", "reopen_count": return .number(-1.5)
        case "vencido": return .bool(true)
        case "category": return .null
        default: return .text("Facturación_2026 %")
        }
    }
}

private func load(_ files: [(path: String, contents: Data)]) -> Result<RuleSet, RulesError> {
    do throws(RulesError) {
        return .success(try RulesLoader.load(files: files, environment: ["SMTP_PASSWORD": "x", "X": "y"]))
    } catch {
        return .failure(error)
    }
}

/// What is wrong with the issues of a rejected rules set: none at all, or one that is not a clear
/// one-line message placed by file and JSON path (or line and column).
private func rulesIssuesProblem(_ error: RulesError) -> String? {
    if error.issues.isEmpty { return "rejected without any issue" }
    for issue in error.issues {
        if issue.file.isEmpty { return "an issue without a file: \(issue)" }
        if let problem = Fuzzer.messageProblem(issue.description) { return problem }
        let wholeDocument =
            issue.message.hasPrefix("not valid JSON5 at line ")
            || issue.message.hasPrefix("expected an object with keys ")
        if issue.path.isEmpty && !wholeDocument { return "an issue that does not say where: \(issue)" }
    }
    return nil
}

@Suite("Parser fuzzing", .serialized)
struct ParserFuzzTests {
    @Test("the rules loader")
    func rulesLoader() throws {
        let repository = repositoryRules()
        try #require(repository.count == 3, "the repository's rules/ not found")
        let whole = [Array(everyKeyRules.utf8)] + repository.map { [UInt8]($0.contents) }
        // Each section alone as well: smaller documents, so more of them in the time, and mutations
        // that reach the checks of one section without the rest in the way.
        guard case .object(let sections) = try JSON5Parser.parse(whole[0]) else {
            Issue.record("not an object")
            return
        }
        let parts = [
            ["calendars", "policies"], ["channels", "smtp", "routes"], ["channels", "reports"],
            ["source", "calendars"],
        ]
        let section = parts.map { keys in FuzzJSONWriter.plain(.object(sections.filter { keys.contains($0.key) })) }
        // A whole document for one input in five: they are what takes the time.
        let corpus = whole + section + section + section
        let trees = try corpus.map { try JSON5Parser.parse($0) }
        Fuzzer(target: "rules").run(
            generate: { random in FuzzMutator.json(&random, corpus: corpus, trees: trees) },
            check: { input in
                // Sometimes beside a valid file, for names defined twice across files.
                let files = [("rules/fuzz.json", Data(input))] + (input.count % 10 == 0 ? [repository[0]] : [])
                switch load(files) {
                case .failure(let error): return rulesIssuesProblem(error)
                case .success(let rules):
                    for policy in rules.policies { _ = policy.when?.matches(SampleRow()) }
                    for route in rules.routes { _ = route.when?.matches(SampleRow()) }
                    _ = rules.referencedSourceColumns
                    return nil
                }
            })
    }

    @Test("the filter grammar, in --filter and in rules")
    func filterGrammar() throws {
        let corpus = filters.map { Array($0.utf8) }
        let trees = try corpus.map { try JSON5Parser.parse($0) }
        Fuzzer(target: "filter").run(
            generate: { random in FuzzMutator.json(&random, corpus: corpus, trees: trees) },
            check: { input in
                let text = String(decoding: input, as: UTF8.self)
                do throws(RulesError) {
                    let filter = try RulesLoader.filter(json: text, origin: "--filter")
                    _ = filter.matches(SampleRow())
                    for mismatch in filter.typeMismatches({ ColumnType.known[$0] }) {
                        if let problem = Fuzzer.messageProblem(mismatch.message) { return problem }
                        if !mismatch.message.hasPrefix("column ") {
                            return "a type mismatch that does not name its column"
                        }
                    }
                } catch {
                    if error.issues.isEmpty { return "rejected without any issue" }
                    for issue in error.issues {
                        if issue.file != "--filter" { return "an issue not placed in --filter: \(issue)" }
                        // An empty path is the filter as a whole; placed in rules below, every issue has one.
                        if let problem = Fuzzer.messageProblem(issue.description) { return problem }
                    }
                }
                // The same filter as a route's and a report's, where column types are checked.
                guard !text.isEmpty, text.utf8.count < 16_000 else { return nil }
                let rules =
                    #"{"channels": {"c": {"type": "log"}}, "routes": [{"events": ["sla.breached"], "channels": ["c"], "when": "#
                    + text + #"}], "reports": [{"name": "r", "schedule": "0 8 * * *", "channels": ["c"], "filter": "#
                    + text + "}]}"
                if case .failure(let error) = load([("rules/fuzz.json", Data(rules.utf8))]) {
                    return rulesIssuesProblem(error)
                }
                return nil
            })
    }

    @Test("cron expressions")
    func cronExpressions() {
        let corpus = crons.map { Array($0.utf8) }
        Fuzzer(target: "cron").run(
            generate: { random in
                if random.chance(0.5) {
                    return FuzzMutator.mutateBytes(random.pick(corpus), count: 3, &random, corpus: corpus)
                }
                var fields = random.pick(crons).split(separator: " ").map(String.init)
                for _ in 0..<random.int(1...3) {
                    let token = random.pick(cronTokens)
                    switch random.int(0...3) {
                    case 0: fields.append(token)
                    case 1: if !fields.isEmpty { fields.removeLast() }
                    default: if !fields.isEmpty { fields[random.int(0...(fields.count - 1))] = token }
                    }
                }
                return Array(fields.joined(separator: " ").utf8)
            },
            check: { input in
                let text = String(decoding: input, as: UTF8.self)
                do throws(CronSchedule.ParseError) {
                    let cron = try CronSchedule(text)
                    let bounds: [(Set<Int>, ClosedRange<Int>)] = [
                        (cron.minutes, 0...59), (cron.hours, 0...23), (cron.daysOfMonth, 1...31), (cron.months, 1...12),
                        (cron.daysOfWeek, 0...6),
                    ]
                    for (set, range) in bounds where set.isEmpty || !set.allSatisfy(range.contains) {
                        return "accepted with a field outside \(range): \(set.sorted())"
                    }
                    // Bounded searches, also for a schedule that never runs (30 February).
                    let schedule = ReportSchedule(cron: cron, timeZoneIdentifier: "America/Bogota")
                    let now = Instant(microseconds: 1_774_348_200_000_000)
                    if let next = schedule.next(after: now), next <= now {
                        return "next run \(next) is not after \(now)"
                    }
                    if let previous = schedule.previous(atOrBefore: now, limitDays: 60), previous > now {
                        return "previous run \(previous) is after \(now)"
                    }
                } catch {
                    if let problem = Fuzzer.messageProblem(error.description) { return problem }
                    let placed =
                        error.description.contains(" field \"") || error.description.hasPrefix("expected 5 cron fields")
                    if !placed { return "an error that does not name its field: \(error.description)" }
                }
                return nil
            })
    }

    @Test("durations")
    func durationTexts() {
        let corpus = durations.map { Array($0.utf8) }
        Fuzzer(target: "duration").run(
            generate: { random in
                var bytes = FuzzMutator.mutateBytes(random.pick(corpus), count: 3, &random, corpus: corpus)
                if random.chance(0.5) {
                    bytes.insert(contentsOf: Array(random.pick(durationTokens).utf8), at: random.int(0...bytes.count))
                }
                return bytes
            },
            check: { input in
                let text = String(decoding: input, as: UTF8.self)
                do throws(DurationText.ParseError) {
                    let micros = try DurationText.parse(text)
                    if micros < 0 || micros > DurationText.maximumMicros { return "accepted as \(micros) µs" }
                    if DurationText.microseconds(text) != micros { return "microseconds(_:) disagrees with parse(_:)" }
                    _ = DurationText.format(micros)
                } catch {
                    if DurationText.microseconds(text) != nil {
                        return "microseconds(_:) accepts what parse(_:) rejects"
                    }
                    if let problem = Fuzzer.messageProblem(error.description) { return problem }
                    if !(1...(text.count + 1)).contains(error.position) {
                        return "an error at character \(error.position) of a text of \(text.count)"
                    }
                }
                return nil
            })
    }
}
