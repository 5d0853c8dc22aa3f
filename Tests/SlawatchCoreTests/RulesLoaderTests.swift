import Foundation
import SlawatchCore
import Testing

// The rules format and `slawatch check`'s validation: the README's Rules.

private typealias RulesFile = (path: String, text: String)

private func load(_ files: [RulesFile], environment: [String: String] = [:]) throws(RulesError) -> RuleSet {
    try RulesLoader.load(files: files.map { (path: $0.path, contents: Data($0.text.utf8)) }, environment: environment)
}

/// Every issue the loader reports for `files`; empty when they load.
private func issues(_ files: [RulesFile], environment: [String: String] = [:]) -> [RulesIssue] {
    do throws(RulesError) {
        _ = try load(files, environment: environment)
        return []
    } catch {
        return error.issues
    }
}

/// The one-line descriptions `slawatch check` prints, one per issue.
private func messages(_ files: [RulesFile], environment: [String: String] = [:]) -> [String] {
    issues(files, environment: environment).map(\.description)
}

/// A calendars file that most tests lean on.
private let calendarsFile: RulesFile = (
    "rules/calendars.json",
    #"{"calendars": {"24x7": {"type": "always"}}}"#
)

/// A minimal valid policy on the 24x7 calendar.
private let policyFile: RulesFile = (
    "rules/sla.json",
    #"{"policies": [{"name": "general", "calendar": "24x7", "targets": {"ALTA": 8}}]}"#
)

/// A log channel named `consola`.
private let consoleFile: RulesFile = (
    "rules/channels.json",
    #"{"channels": {"consola": {"type": "log"}}}"#
)

/// The repository's own `rules/` directory, found from this file's path.
private func repositoryRules(filePath: String = #filePath) throws -> [RulesFile] {
    let root = URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let directory = root.appendingPathComponent("rules")
    let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }
        .sorted()
    return try names.map { name in
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        return ("rules/" + name, try #require(String(data: data, encoding: .utf8)))
    }
}

private let unsupportedOperator =
    "The operator 'BETWEEN' is not supported. Supported operators: EQ, NE, GT, GE, LT, LE, LIKE, IN"

@Suite("RulesLoader")
struct RulesLoaderTests {
    // MARK: - The repository's example set

    @Test("the repository's rules/ load")
    func repositoryRulesLoad() throws {
        let files = try repositoryRules()
        #expect(files.map(\.path) == ["rules/api.json", "rules/notifications.json", "rules/sla.json"])
        let rules = try load(files)

        #expect(rules.calendars.count == 2)
        #expect(rules.calendars["24x7"] == .always)
        guard case .businessHours(let office) = try #require(rules.calendars["oficina_bogota"]) else {
            Issue.record("oficina_bogota is not a business-hours calendar")
            return
        }
        #expect(office.timeZoneIdentifier == "America/Bogota")
        #expect(office.week[0].map(\.description) == ["08:00-12:00", "13:00-18:00"])
        #expect(office.week[5].isEmpty && office.week[6].isEmpty)
        #expect(office.holidays.count == 36)
        #expect(office.holidays.contains(try #require(CivilDate("2026-12-25"))))

        #expect(rules.policies.count == 2)
        #expect(rules.policies.map(\.name) == ["criticos_24x7", "general_oficina"])
        let critical = rules.policies[0]
        #expect(critical.calendarName == "24x7")
        #expect(critical.targets == ["CRITICA": 4])
        #expect(critical.clock.pauseStatuses == ["EN_ESPERA"])
        #expect(critical.clock.stopStatuses == ["RESUELTO", "CERRADO"])
        #expect(critical.clock.warnAt == [50, 75, 90])
        #expect(critical.clock.escalateAfter == [3_600_000_000, 4 * 3_600_000_000])
        #expect(critical.when == .condition(Filter.Condition(column: "priority", op: .EQ, operand: .text("CRITICA"))))
        let general = rules.policies[1]
        #expect(general.when == nil)
        #expect(general.targets == ["ALTA": 8, "MEDIA": 24, "BAJA": 40.5])
        #expect(general.clock.escalateAfter == [4 * 3_600_000_000, 24 * 3_600_000_000])

        #expect(rules.source == .default)
        #expect(rules.source.tickets.description == "slawatch_source.tickets")
        #expect(rules.channels.keys.sorted() == ["consola"])
        #expect(rules.channels["consola"]?.kind == .log)
        #expect(rules.smtp == nil)
        #expect(rules.routes.count == 2)
        #expect(rules.routes[0].events == [.breached, .escalated, .metAfterBreach])
        #expect(rules.routes[0].groupWaitMicros == 0)
        #expect(rules.routes[0].repeatMicros == nil)
        #expect(rules.routes[1].events == [.warning])
        #expect(rules.routes[1].groupWaitMicros == 30_000_000)
        #expect(rules.reports.count == 1)
        let report = rules.reports[0]
        #expect(report.name == "vencidos_por_area")
        #expect(report.schedule.description == "0 8 * * 1-5")
        #expect(report.timeZoneIdentifier == "America/Bogota")
        #expect(report.perArea)
        #expect(report.channels == ["consola"])
        #expect(report.filter?.columns == ["sla_status"])
        #expect(rules.referencedSourceColumns == ["priority"])
    }

    // MARK: - The README's example error

    @Test("a target that is not a number: the README's example message")
    func specExampleError() {
        let file: RulesFile = (
            "rules/sla.json",
            #"""
            {
              "calendars": {"24x7": {"type": "always"}},
              "policies": [
                {"name": "criticos", "calendar": "24x7", "targets": {"CRITICA": 4}},
                {"name": "general", "calendar": "24x7", "targets": {"ALTA": "cuatro", "MEDIA": 24}}
              ]
            }
            """#
        )
        do throws(RulesError) {
            _ = try load([file])
            Issue.record("rules with a non-numeric target loaded")
        } catch {
            #expect(
                error.description
                    == #"rules/sla.json: policies[1].targets.ALTA: expected a number of hours, found "cuatro""#)
            #expect(error.issues.count == 1)
            #expect(error.issues.first?.file == "rules/sla.json")
            #expect(error.issues.first?.path == "policies[1].targets.ALTA")
        }
    }

    @Test("a negative target is rejected")
    func negativeTarget() {
        let policies: RulesFile = (
            "rules/sla.json", #"{"policies": [{"name": "g", "calendar": "24x7", "targets": {"BAJA": -1}}]}"#
        )
        #expect(
            messages([calendarsFile, policies]) == [
                "rules/sla.json: policies[0].targets.BAJA: expected a number of hours from 0 to 1000000, found -1"
            ])
    }

    // MARK: - Filters in rules

    @Test("an unknown operator in a policy's when")
    func unknownOperatorInPolicy() {
        let policies: RulesFile = (
            "rules/sla.json",
            #"{"policies": [{"name": "g", "when": {"column": "priority", "op": "BETWEEN", "operand": ["A", "B"]}, "calendar": "24x7", "targets": {"ALTA": 8}}]}"#
        )
        #expect(messages([calendarsFile, policies]) == ["rules/sla.json: policies[0].when.op: " + unsupportedOperator])
    }

    @Test("an unknown operator nested in a route's when")
    func unknownOperatorInRoute() {
        let routes: RulesFile = (
            "rules/notifications.json",
            #"""
            {"routes": [
              {"events": ["sla.breached"], "channels": ["consola"]},
              {"when": {"op": "OR", "operand": [
                 {"column": "area", "op": "EQ", "operand": "Soporte"},
                 {"column": "priority", "op": "BETWEEN", "operand": 1}
               ]},
               "events": ["sla.warning"], "channels": ["consola"]}
            ]}
            """#
        )
        #expect(
            messages([consoleFile, routes]) == [
                "rules/notifications.json: routes[1].when.operand[1].op: " + unsupportedOperator
            ])
    }

    @Test(
        "a computed column cannot choose a policy",
        arguments: ["sla_status", "sla_horas", "horas_restantes", "vencido", "due_at"])
    func computedColumnInPolicy(column: String) {
        let policies: RulesFile = (
            "rules/sla.json",
            #"{"policies": [{"name": "g", "when": {"column": "\#(column)", "op": "EQ", "operand": null}, "calendar": "24x7", "targets": {"ALTA": 8}}]}"#
        )
        #expect(
            messages([calendarsFile, policies]) == [
                #"rules/sla.json: policies[0].when.column: "\#(column)" is computed from the policy itself and cannot choose the policy"#
            ])
    }

    @Test(
        "a computed column is allowed in a route's when and a report's filter",
        arguments: ["sla_status", "sla_horas", "horas_restantes", "vencido", "due_at"])
    func computedColumnInRouteAndReport(column: String) throws {
        let notifications: RulesFile = (
            "rules/notifications.json",
            #"""
            {
              "channels": {"consola": {"type": "log"}},
              "routes": [{"when": {"op": "AND", "operand": [{"column": "\#(column)", "op": "NE", "operand": null}]}, "events": ["sla.warning"], "channels": ["consola"]}],
              "reports": [{"name": "r", "schedule": "0 8 * * *", "filter": {"column": "\#(column)", "op": "EQ", "operand": null}, "channels": ["consola"]}]
            }
            """#
        )
        let rules = try load([calendarsFile, policyFile, notifications])
        #expect(rules.routes.first?.when?.columns == [column])
        #expect(rules.reports.first?.filter?.columns == [column])
        #expect(rules.referencedSourceColumns.isEmpty)
    }

    // MARK: - References between names

    @Test("a policy on a calendar that does not exist")
    func missingCalendar() {
        let policies: RulesFile = (
            "rules/sla.json", #"{"policies": [{"name": "g", "calendar": "oficina", "targets": {"ALTA": 8}}]}"#
        )
        #expect(
            messages([calendarsFile, policies]) == [
                #"rules/sla.json: policies[0].calendar: no calendar named "oficina" (defined: 24x7)"#
            ])
        #expect(
            messages([policies]) == [
                #"rules/sla.json: policies[0].calendar: no calendar named "oficina" (defined: none)"#
            ])
    }

    @Test("a route or report sending to a channel that does not exist")
    func missingChannel() {
        let notifications: RulesFile = (
            "rules/notifications.json",
            #"""
            {
              "routes": [{"events": ["sla.breached"], "channels": ["consola", "equipo"]}],
              "reports": [{"name": "diario", "schedule": "0 8 * * 1-5", "channels": ["jefes"]}]
            }
            """#
        )
        #expect(
            messages([consoleFile, notifications]) == [
                #"rules/notifications.json: routes[0].channels[1]: no channel named "equipo" (defined: consola)"#,
                #"rules/notifications.json: reports[0].channels[0]: no channel named "jefes" (defined: consola)"#,
            ])
    }

    // MARK: - Calendars

    @Test(
        "an invalid time zone in a calendar and in a report",
        arguments: ["Mars/Olympus_Mons", "Bogota", "America/Bogotá"])
    func invalidTimeZone(zone: String) {
        let file: RulesFile = (
            "rules/sla.json",
            #"""
            {
              "calendars": {"oficina": {"timezone": "\#(zone)", "week": {"mon": ["08:00-12:00"]}}},
              "channels": {"consola": {"type": "log"}},
              "reports": [{"name": "diario", "schedule": "0 8 * * 1-5", "timezone": "\#(zone)", "channels": ["consola"]}]
            }
            """#
        )
        #expect(
            messages([file]) == [
                #"rules/sla.json: calendars.oficina.timezone: unknown IANA time zone "\#(zone)" (e.g. "America/Bogota")"#,
                #"rules/sla.json: reports[0].timezone: report "diario": unknown IANA time zone "\#(zone)""#,
            ])
    }

    @Test("overlapping and inverted working ranges")
    func badRanges() {
        let file: RulesFile = (
            "rules/calendars.json",
            #"""
            {"calendars": {"oficina": {"timezone": "America/Bogota", "week": {
              "mon": ["08:00-12:00", "11:00-13:00"],
              "tue": ["18:00-08:00"],
              "wed": ["8-12"],
              "thu": ["00:00-24:00"],
              "fri": ["08:00-12:00", "12:00-18:00"]
            }}}}
            """#
        )
        #expect(
            messages([file]) == [
                "rules/calendars.json: calendars.oficina.week.mon[1]: range 11:00-13:00 overlaps 08:00-12:00",
                #"rules/calendars.json: calendars.oficina.week.tue[0]: expected a range "HH:MM-HH:MM" with start before end (end may be 24:00), found "18:00-08:00""#,
                #"rules/calendars.json: calendars.oficina.week.wed[0]: expected a range "HH:MM-HH:MM" with start before end (end may be 24:00), found "8-12""#,
            ])
    }

    @Test("a business-hours calendar loads with its ranges and holidays")
    func businessHoursCalendar() throws {
        let file: RulesFile = (
            "rules/calendars.json",
            #"""
            {"calendars": {"oficina": {"timezone": "Europe/Madrid",
              "week": {"mon": ["13:00-18:00", "08:00-12:00"], "fri": ["00:00-24:00"], "sun": []},
              "holidays": ["2026-12-25", "2027-01-01"]}}}
            """#
        )
        let rules = try load([file])
        guard case .businessHours(let hours) = try #require(rules.calendars["oficina"]) else {
            Issue.record("not a business-hours calendar")
            return
        }
        #expect(hours.timeZoneIdentifier == "Europe/Madrid")
        #expect(hours.week[0].map(\.description) == ["08:00-12:00", "13:00-18:00"])
        #expect(hours.week[4].map(\.description) == ["00:00-24:00"])
        #expect(hours.week[1].isEmpty && hours.week[6].isEmpty)
        #expect(hours.holidays == [try #require(CivilDate("2026-12-25")), try #require(CivilDate("2027-01-01"))])
    }

    @Test("calendar mistakes are named")
    func calendarMistakes() {
        let file: RulesFile = (
            "rules/calendars.json",
            #"""
            {"calendars": {
              "a": {"type": "always", "timezone": "UTC"},
              "b": {"type": "weekly"},
              "c": {"timezone": "UTC", "week": {"lun": ["08:00-12:00"]}, "holidays": ["25/12/2026"]},
              "d": {"timezone": "UTC"}
            }}
            """#
        )
        #expect(
            messages([file]) == [
                #"rules/calendars.json: calendars.a.timezone: not used by an "always" calendar; remove it or drop "type": "always""#,
                #"rules/calendars.json: calendars.b.type: expected "always" or "business_hours", found "weekly""#,
                "rules/calendars.json: calendars.c.week.lun: unknown key; expected one of mon, tue, wed, thu, fri, sat, sun",
                #"rules/calendars.json: calendars.c.holidays[0]: expected a date "YYYY-MM-DD", found "25/12/2026""#,
                #"rules/calendars.json: calendars.d.week: missing: give working ranges per day, e.g. {"mon": ["08:00-12:00", "13:00-18:00"], ...}"#,
            ])
    }

    // MARK: - Durations

    @Test("bad durations in escalate_after, group_wait and repeat")
    func badDurations() {
        let policies: RulesFile = (
            "rules/sla.json",
            #"{"policies": [{"name": "g", "calendar": "24x7", "targets": {"ALTA": 8}, "escalate_after": ["1h", "4 horas"]}]}"#
        )
        let routes: RulesFile = (
            "rules/notifications.json",
            #"""
            {"routes": [
              {"events": ["sla.warning"], "channels": ["consola"], "group_wait": "pronto"},
              {"events": ["sla.warning"], "channels": ["consola"], "group_wait": 30, "repeat": "0s"}
            ]}
            """#
        )
        #expect(
            messages([calendarsFile, consoleFile, policies, routes]) == [
                #"rules/sla.json: policies[0].escalate_after[1]: expected a duration such as "30s", "15m", "4h" or "1d", found "4 horas""#,
                #"rules/notifications.json: routes[0].group_wait: expected a duration such as "30s", "15m", "4h" or "1d", found "pronto""#,
                #"rules/notifications.json: routes[1].group_wait: expected a duration such as "30s", "15m", "4h" or "1d", found 30"#,
                "rules/notifications.json: routes[1].repeat: expected a duration above zero",
            ])
    }

    /// `slawatch check` must name a bad duration, not crash on it: "999999999999d" does not fit in
    /// 64-bit microseconds, and `DurationText.microseconds` traps multiplying it out. Run in a
    /// child process so that a trap does not take the rest of the suite down.
    @Test("an overflowing duration is reported, not a crash")
    func overflowingDuration() async {
        await #expect(processExitsWith: .success) {
            let text =
                #"{"calendars": {"24x7": {"type": "always"}}, "policies": [{"name": "g", "calendar": "24x7", "targets": {"ALTA": 8}, "escalate_after": ["999999999999d"]}]}"#
            do throws(RulesError) {
                _ = try RulesLoader.load(files: [(path: "rules/sla.json", contents: Data(text.utf8))], environment: [:])
                exit(1)
            } catch {
                exit(error.issues.map(\.path) == ["policies[0].escalate_after[0]"] ? 0 : 2)
            }
        }
    }

    @Test("durations and policy lists load")
    func durationsLoad() throws {
        let policies: RulesFile = (
            "rules/sla.json",
            #"{"policies": [{"name": "g", "calendar": "24x7", "targets": {"ALTA": 8, "MEDIA": 0.5}, "warn_at": [90, 50, 75], "escalate_after": ["1d", "1h30m"]}]}"#
        )
        let routes: RulesFile = (
            "rules/notifications.json",
            #"{"routes": [{"events": ["sla.warning", "sla.breached"], "channels": ["consola"], "group_wait": "45s", "repeat": "4h"}]}"#
        )
        let rules = try load([calendarsFile, consoleFile, policies, routes])
        let policy = try #require(rules.policies.first)
        #expect(policy.targets == ["ALTA": 8, "MEDIA": 0.5])
        #expect(policy.clock.warnAt == [50, 75, 90])
        #expect(policy.clock.escalateAfter == [5_400_000_000, 86_400_000_000])
        let route = try #require(rules.routes.first)
        #expect(route.groupWaitMicros == 45_000_000)
        #expect(route.repeatMicros == Int64(4) * 3_600_000_000)
        #expect(route.events == [.warning, .breached])
    }

    @Test("policy value mistakes are named")
    func policyMistakes() {
        let policies: RulesFile = (
            "rules/sla.json",
            #"""
            {"policies": [{"name": "g", "calendar": "24x7", "targets": {"ALTA": 8},
              "pause_statuses": ["EN_ESPERA"], "stop_statuses": ["EN_ESPERA", "CERRADO"], "warn_at": [0, 50, 101]},
              {"calendar": "24x7", "targets": {"ALTA": 8}}]}
            """#
        )
        #expect(
            messages([calendarsFile, policies]) == [
                #"rules/sla.json: policies[0].stop_statuses: status "EN_ESPERA" is both a pause and a stop status"#,
                "rules/sla.json: policies[0].warn_at[0]: expected a percentage of the target above 0 and at most 100, found 0",
                "rules/sla.json: policies[0].warn_at[2]: expected a percentage of the target above 0 and at most 100, found 101",
                #"rules/sla.json: policies[1]: missing "name""#,
            ])
    }

    // MARK: - Environment variables

    @Test("a missing ${VAR} names the variable and the JSON path")
    func missingVariable() {
        let file: RulesFile = (
            "rules/channels.json",
            #"""
            {
              "channels": {"integraciones": {"type": "webhook", "url": "https://hooks.example.com/sla", "secret": "${SLAWATCH_WEBHOOK_SECRET}"}},
              "smtp": {"url": "smtp://smtp.example.com:587", "from": "sla@example.com", "username": "sla", "password": "${SMTP_PASSWORD}"}
            }
            """#
        )
        // Substitution walks each document as a dictionary: compare without order.
        let found = messages([file], environment: ["HOME": "/root", "SMTP_USER": "sla"])
        #expect(
            Set(found) == [
                "rules/channels.json: channels.integraciones.secret: environment variable SLAWATCH_WEBHOOK_SECRET is not set; export it (secrets live only in the environment)",
                "rules/channels.json: smtp.password: environment variable SMTP_PASSWORD is not set; export it (secrets live only in the environment)",
            ])
        #expect(found.count == 2)
    }

    @Test("a missing ${VAR} inside an array names the element")
    func missingVariableInArray() {
        let file: RulesFile = (
            "rules/channels.json",
            #"{"channels": {"jefes": {"type": "email", "to": ["ops@example.com", "${JEFE_CORREO}"]}}}"#
        )
        let found = messages([file])
        #expect(
            found.contains(
                "rules/channels.json: channels.jefes.to[1]: environment variable JEFE_CORREO is not set; export it (secrets live only in the environment)"
            ))
    }

    @Test("a present ${VAR} is substituted, also inside a longer string")
    func presentVariable() throws {
        let file: RulesFile = (
            "rules/channels.json",
            #"""
            {
              "channels": {
                "equipo": {"type": "slack", "url": "${SLACK_WEBHOOK_URL}"},
                "integraciones": {"type": "webhook", "url": "https://${HOOK_HOST}/sla/${HOOK_PATH}", "secret": "${SECRET}"}
              },
              "smtp": {"url": "smtp://smtp.example.com:587", "from": "slawatch <sla@example.com>", "username": "${SMTP_USER}", "password": "${SMTP_PASSWORD}"}
            }
            """#
        )
        let environment = [
            "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/xyz", "HOOK_HOST": "hooks.example.com",
            "HOOK_PATH": "v1", "SECRET": "whsec_c2VjcmV0", "SMTP_USER": "sla", "SMTP_PASSWORD": "p${not}expanded",
        ]
        let rules = try load([file], environment: environment)
        #expect(rules.channels["equipo"]?.url == "https://hooks.slack.com/services/T0/B0/xyz")
        #expect(rules.channels["equipo"]?.ratePerSecond == 1)
        #expect(rules.channels["integraciones"]?.url == "https://hooks.example.com/sla/v1")
        #expect(rules.channels["integraciones"]?.secret == "whsec_c2VjcmV0")
        #expect(rules.smtp?.username == "sla")
        #expect(rules.smtp?.password == "p${not}expanded")
        #expect(rules.smtp?.tls == .required)
    }

    @Test("an unterminated ${ is reported")
    func unterminatedVariable() {
        let file: RulesFile = (
            "rules/channels.json",
            #"{"channels": {"integraciones": {"type": "webhook", "url": "https://hooks.example.com/sla", "secret": "${SECRET"}}}"#
        )
        #expect(
            messages([file], environment: ["SECRET": "x"]) == [
                #"rules/channels.json: channels.integraciones.secret: unterminated ${ in "${SECRET""#
            ])
    }

    // MARK: - Names defined twice

    @Test("a calendar defined in two files names both")
    func calendarDefinedTwice() throws {
        let other: RulesFile = ("rules/more.json", #"{"calendars": {"24x7": {"type": "always"}}}"#)
        let found = issues([calendarsFile, other])
        #expect(
            found.map(\.description) == [
                #"rules/more.json: calendars.24x7: "24x7" is defined twice (also in rules/calendars.json)"#
            ])
    }

    @Test("a channel defined in two files names both")
    func channelDefinedTwice() {
        let other: RulesFile = (
            "rules/team.json", #"{"channels": {"consola": {"type": "log"}, "otra": {"type": "log"}}}"#
        )
        #expect(
            messages([consoleFile, other]) == [
                #"rules/team.json: channels.consola: "consola" is defined twice (also in rules/channels.json)"#
            ])
    }

    @Test("policies, reports and smtp defined twice")
    func otherNamesDefinedTwice() {
        let a: RulesFile = (
            "rules/a.json",
            #"""
            {"policies": [{"name": "g", "calendar": "24x7", "targets": {"ALTA": 8}}],
             "smtp": {"url": "smtp://127.0.0.1:2525", "from": "a@example.com", "tls": "none"},
             "reports": [{"name": "diario", "schedule": "0 8 * * *", "channels": ["consola"]}]}
            """#
        )
        let b: RulesFile = (
            "rules/b.json",
            #"""
            {"policies": [{"name": "g", "calendar": "24x7", "targets": {"MEDIA": 8}}],
             "smtp": {"url": "smtp://127.0.0.1:2526", "from": "b@example.com", "tls": "none"},
             "reports": [{"name": "diario", "schedule": "0 9 * * *", "channels": ["consola"]}]}
            """#
        )
        #expect(
            messages([calendarsFile, consoleFile, a, b]) == [
                "rules/b.json: smtp: smtp is defined twice (also in rules/a.json)",
                #"rules/b.json: policies[0].name: policy "g" is defined twice (also in rules/a.json)"#,
                #"rules/b.json: reports[0].name: report "diario" is defined twice (also in rules/a.json)"#,
            ])
    }

    /// A key repeated inside one JSON object (which a JSON decoder would silently collapse) is
    /// an error too, located by its path, in JSON5 files with comments, quotes and arrays.
    @Test("a name repeated inside one object is reported")
    func repeatedKeyInOneObject() throws {
        let file: RulesFile = (
            "rules/calendars.json", #"{"calendars": {"a": {"type": "always"}, "a": {"type": "always"}}}"#
        )
        #expect(
            messages([file]) == [
                #"rules/calendars.json: calendars.a: "a" is defined twice in this object; only one definition is allowed"#
            ])
        let nested: RulesFile = (
            "rules/sla.json",
            """
            // calendars: { "x": 1, "x": 2 } in a comment does not count
            {
              calendars: { '24x7': { type: "always" } },
              policies: [
                { name: "p", calendar: "24x7", targets: { ALTA: 4, "ALTA": 8 }, },
              ],
              /* and a "string" with a brace } inside */
              policies: [],
            }
            """
        )
        let found = messages([nested])
        #expect(
            found.contains(
                #"rules/sla.json: policies[0].targets.ALTA: "ALTA" is defined twice in this object; only one definition is allowed"#
            ), "\(found)")
        #expect(
            found.contains(
                #"rules/sla.json: policies: "policies" is defined twice in this object; only one definition is allowed"#
            ), "\(found)")
        #expect(found.count == 2, "\(found)")
    }

    // MARK: - Syntax

    @Test("JSON5: comments, trailing commas, unquoted keys")
    func json5() throws {
        let file: RulesFile = (
            "rules/sla.json",
            """
            // A comment line.
            {
              /* a block comment */
              calendars: {
                "24x7": { type: "always", },  // trailing comma inside
              },
              policies: [
                {
                  name: "general",
                  calendar: "24x7",
                  targets: { ALTA: 8, MEDIA: 24.5, },
                  warn_at: [50, 75,],
                },
              ],
            }
            """
        )
        let rules = try load([file])
        #expect(rules.policies.map(\.name) == ["general"])
        #expect(rules.policies[0].targets == ["ALTA": 8, "MEDIA": 24.5])
        #expect(rules.policies[0].clock.warnAt == [50, 75])
    }

    @Test("invalid JSON is reported with its file, and the other files are still checked")
    func invalidJSON() throws {
        let bad: RulesFile = ("rules/bad.json", #"{"calendars": {"24x7": {"type": "always"}"#)
        let policies: RulesFile = (
            "rules/sla.json", #"{"policies": [{"name": "g", "calendar": "24x7", "targets": {"ALTA": "ocho"}}]}"#
        )
        let found = issues([bad, policies])
        #expect(found.count == 3)
        let first = try #require(found.first)
        #expect(first.file == "rules/bad.json")
        #expect(first.path == "")
        #expect(first.message.hasPrefix("not valid JSON5"))
        #expect(first.description.hasPrefix("rules/bad.json: not valid JSON5"))
        #expect(
            found.dropFirst().map(\.description) == [
                #"rules/sla.json: policies[0].calendar: no calendar named "24x7" (defined: none)"#,
                #"rules/sla.json: policies[0].targets.ALTA: expected a number of hours, found "ocho""#,
            ])
    }

    @Test("a syntax error names its line and column, and what was expected there")
    func syntaxErrorLocation() {
        let file: RulesFile = (
            "rules/sla.json", "{\n  calendars: {\n    \"24x7\": {type: \"always\"}}\n  policies: [],\n}"
        )
        #expect(
            messages([file]) == [
                #"rules/sla.json: not valid JSON5 at line 4, column 3: expected ',' or '}' after the value of "calendars", found 'p'"#
            ])
    }

    @Test("a file that is not an object, and no files at all")
    func notAnObject() {
        #expect(
            messages([("rules/list.json", "[1, 2]")]) == [
                "rules/list.json: expected an object with keys source, calendars, policies, channels, smtp, routes, reports, api, perspectives"
            ])
        #expect(messages([]) == ["rules: no .json files found; see the example set in the repository's rules/"])
    }

    @Test("an unknown top-level key")
    func unknownTopLevelKey() {
        let file: RulesFile = ("rules/sla.json", #"{"calendars": {"24x7": {"type": "always"}}, "polices": []}"#)
        #expect(
            messages([file]) == [
                "rules/sla.json: polices: unknown key; expected one of source, calendars, policies, channels, smtp, routes, reports, api, perspectives"
            ])
    }

    @Test("an unknown key inside a policy")
    func unknownPolicyKey() {
        let policies: RulesFile = (
            "rules/sla.json",
            #"{"policies": [{"name": "g", "calendar": "24x7", "targets": {"ALTA": 8}, "warn_at": [50], "escalate": ["1h"]}]}"#
        )
        #expect(
            messages([calendarsFile, policies]) == [
                "rules/sla.json: policies[0].escalate: unknown key; expected one of name, when, calendar, targets, pause_statuses, stop_statuses, warn_at, escalate_after"
            ])
    }

    // MARK: - Channels and SMTP

    @Test("an e-mail channel used by a route or a report with no smtp section")
    func emailWithoutSMTP() {
        let file: RulesFile = (
            "rules/notifications.json",
            #"""
            {
              "channels": {"jefes": {"type": "email", "to": ["{{area_manager_email}}"]}},
              "routes": [{"events": ["sla.breached"], "channels": ["jefes"]}],
              "reports": [{"name": "diario", "schedule": "0 8 * * 1-5", "channels": ["jefes"]}]
            }
            """#
        )
        #expect(
            messages([file]) == [
                #"rules/notifications.json: routes[0].channels[0]: channel "jefes" sends e-mail but no "smtp" section is defined"#,
                #"rules/notifications.json: reports[0].channels[0]: channel "jefes" sends e-mail but no "smtp" section is defined"#,
            ])
    }

    @Test("an e-mail channel with an smtp section loads")
    func emailWithSMTP() throws {
        let file: RulesFile = (
            "rules/notifications.json",
            #"""
            {
              "channels": {"jefes": {"type": "email", "to": ["{{area_manager_email}}", "{{requester_email}}", "mesa@example.com"]}},
              "smtp": {"url": "smtps://smtp.example.com:465", "from": "sla@example.com", "tls": "opportunistic"},
              "routes": [{"events": ["sla.breached"], "channels": ["jefes"]}]
            }
            """#
        )
        let rules = try load([file])
        #expect(rules.channels["jefes"]?.to == ["{{area_manager_email}}", "{{requester_email}}", "mesa@example.com"])
        #expect(rules.smtp?.tls == .opportunistic)
    }

    @Test("channel mistakes are named")
    func channelMistakes() {
        let file: RulesFile = (
            "rules/channels.json",
            #"""
            {"channels": {
              "a": {"type": "sms"},
              "b": {"type": "slack", "url": "ftp://example.com/x"},
              "c": {"type": "email", "to": ["not an address"]},
              "d": {"type": "slack", "url": "https://example.com/x", "secret": "s"}
            }}
            """#
        )
        #expect(
            messages([file]) == [
                #"rules/channels.json: channels.a.type: expected one of email, slack, teams, googlechat, discord, webhook, log, found "sms""#,
                #"rules/channels.json: channels.b.url: expected an http(s) URL, found "ftp://example.com/x""#,
                #"rules/channels.json: channels.c.to[0]: expected an e-mail address, {{area_manager_email}} or {{requester_email}}, found "not an address""#,
                #"rules/channels.json: channels.d.secret: only "webhook" channels are signed"#,
            ])
    }

    @Test(
        "smtp tls none on a non-loopback host is rejected",
        arguments: ["smtp://smtp.example.com:25", "smtp://localhost.example.com:25", "smtp://10.0.0.5:25"])
    func tlsNoneRejected(url: String) {
        let file: RulesFile = (
            "rules/smtp.json", #"{"smtp": {"url": "\#(url)", "from": "sla@example.com", "tls": "none"}}"#
        )
        #expect(
            messages([file]) == [
                #"rules/smtp.json: smtp.tls: "none" is allowed only for a loopback server (127.0.0.1, ::1, localhost)"#
            ])
    }

    @Test(
        "smtp tls none on a loopback host is accepted",
        arguments: ["smtp://127.0.0.1:2525", "smtp://localhost:2525", "smtp://[::1]:2525", "smtp://127.0.0.1"])
    func tlsNoneAccepted(url: String) throws {
        let file: RulesFile = (
            "rules/smtp.json", #"{"smtp": {"url": "\#(url)", "from": "sla@example.com", "tls": "none"}}"#
        )
        let rules = try load([file])
        #expect(rules.smtp?.tls == SMTPSettings.TLS.none)
        #expect(rules.smtp?.url == url)
    }

    /// the README's Rules: `tls: none` is for loopback only. A DNS name that merely starts with "127."
    /// is not a loopback address, yet the loader takes any host beginning with "127." as one.
    @Test("smtp tls none on a host name that only starts with 127. is rejected")
    func tlsNoneOnLookalikeHost() {
        let file: RulesFile = (
            "rules/smtp.json",
            #"{"smtp": {"url": "smtp://127.mail.example.com:25", "from": "sla@example.com", "tls": "none"}}"#
        )
        #expect(
            messages([file]) == [
                #"rules/smtp.json: smtp.tls: "none" is allowed only for a loopback server (127.0.0.1, ::1, localhost)"#
            ])
    }

    @Test("smtp mistakes are named")
    func smtpMistakes() {
        let file: RulesFile = ("rules/smtp.json", #"{"smtp": {"url": "http://smtp.example.com", "tls": "starttls"}}"#)
        #expect(
            messages([file]) == [
                #"rules/smtp.json: smtp: missing "from""#,
                #"rules/smtp.json: smtp.url: expected smtp://host:587 or smtps://host:465, found "http://smtp.example.com""#,
                #"rules/smtp.json: smtp.tls: expected "required", "opportunistic" or "none", found "starttls""#,
            ])
    }

    // MARK: - Reports and routes

    @Test("an invalid cron names the report")
    func invalidCron() {
        let file: RulesFile = (
            "rules/reports.json",
            #"""
            {"reports": [
              {"name": "diario", "schedule": "0 8 * *", "channels": ["consola"]},
              {"name": "semanal", "schedule": "0 8 * * 5-1", "channels": ["consola"]}
            ]}
            """#
        )
        #expect(
            messages([consoleFile, file]) == [
                #"rules/reports.json: reports[0].schedule: report "diario": expected 5 cron fields (minute hour day-of-month month day-of-week), found 4 in "0 8 * *""#,
                #"rules/reports.json: reports[1].schedule: report "semanal": day of week field "5-1": range 5-1 is inverted"#,
            ])
    }

    @Test("an unknown event kind in a route")
    func unknownEventKind() {
        let file: RulesFile = (
            "rules/routes.json", #"{"routes": [{"events": ["sla.breached", "sla.late"], "channels": ["consola"]}]}"#
        )
        #expect(
            messages([consoleFile, file]) == [
                #"rules/routes.json: routes[0].events[1]: expected one of sla.warning, sla.breached, sla.escalated, sla.met_after_breach, found "sla.late""#
            ])
    }

    // MARK: - Several errors together

    @Test("every error is reported, not only the first")
    func severalErrors() {
        let sla: RulesFile = (
            "rules/sla.json",
            #"""
            {
              "calendars": {"oficina": {"timezone": "Nowhere/Town", "week": {"mon": ["08:00-12:00"]}}},
              "policies": [
                {"name": "a", "calendar": "oficina", "targets": {"ALTA": "cuatro"}},
                {"name": "b", "when": {"column": "area", "op": "CONTAINS", "operand": "x"}, "calendar": "24x7", "targets": {"ALTA": 4}, "escalate_after": ["soon"]}
              ]
            }
            """#
        )
        let notifications: RulesFile = (
            "rules/notifications.json",
            #"{"channels": {"equipo": {"type": "webhook", "url": "https://hooks.example.com/x", "secret": "${NO_SUCH_VARIABLE}"}}, "routes": [{"events": ["sla.breached"], "channels": ["nadie"]}]}"#
        )
        let found = messages([sla, notifications])
        let expected = [
            #"rules/sla.json: calendars.oficina.timezone: unknown IANA time zone "Nowhere/Town" (e.g. "America/Bogota")"#,
            #"rules/sla.json: policies[0].calendar: no calendar named "oficina" (defined: none)"#,
            #"rules/sla.json: policies[0].targets.ALTA: expected a number of hours, found "cuatro""#,
            "rules/sla.json: policies[1].when.op: The operator 'CONTAINS' is not supported. Supported operators: EQ, NE, GT, GE, LT, LE, LIKE, IN",
            #"rules/sla.json: policies[1].calendar: no calendar named "24x7" (defined: none)"#,
            #"rules/sla.json: policies[1].escalate_after[0]: expected a duration such as "30s", "15m", "4h" or "1d", found "soon""#,
            "rules/notifications.json: channels.equipo.secret: environment variable NO_SUCH_VARIABLE is not set; export it (secrets live only in the environment)",
            #"rules/notifications.json: routes[0].channels[0]: no channel named "nadie" (defined: equipo)"#,
        ]
        #expect(Set(found) == Set(expected))
        #expect(found.count == expected.count)
        do throws(RulesError) {
            _ = try load([sla, notifications])
        } catch {
            #expect(error.description.split(separator: "\n").count == expected.count)
        }
    }

    // MARK: - Source views

    @Test(
        "a source view name with a quote, space or other character is rejected",
        arguments: [
            #"slawatch_source.tickets\"; DROP TABLE x; --"#, "my tickets", "public.my view", "a.b.c", "1tickets",
            "tickets-view", "",
        ])
    func badSourceName(name: String) throws {
        let file: RulesFile = ("rules/source.json", #"{"source": {"tickets": "\#(name)"}}"#)
        let found = issues([file])
        let issue = try #require(found.first)
        #expect(found.count == 1)
        #expect(issue.path == "source.tickets")
        #expect(
            issue.message.hasPrefix(
                #"expected a view name such as "slawatch_source.tickets" (letters, digits, _), found ""#))
    }

    @Test("source view names, qualified or not")
    func goodSourceNames() throws {
        let file: RulesFile = (
            "rules/source.json", #"{"source": {"tickets": "mesa.v_tickets", "status_changes": "historial_2"}}"#
        )
        let rules = try load([file])
        #expect(rules.source.tickets == QualifiedName(schema: "mesa", name: "v_tickets"))
        #expect(rules.source.tickets.quoted == #""mesa"."v_tickets""#)
        #expect(rules.source.statusChanges == QualifiedName(schema: nil, name: "historial_2"))
        #expect(try load([calendarsFile]).source == .default)
    }

    @Test("an unknown key in source")
    func unknownSourceKey() {
        let file: RulesFile = ("rules/source.json", #"{"source": {"ticket": "x"}}"#)
        #expect(
            messages([file]) == [
                "rules/source.json: source.ticket: unknown key; expected one of tickets, status_changes"
            ])
    }
}
