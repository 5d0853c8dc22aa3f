import Foundation
import SlawatchCore
import Testing

// `WhatIfComparison` against the brute-force reference (ReferenceClock.swift): random tickets and
// two random rule sets from a fixed seed; every count of every group and every changed ticket must
// be what the reference says. The reference picks each ticket's policy and target itself, walks its
// clock minute by minute, and counts by the README's definitions (breached = elapsed > target as of
// now, stopped = in a stop status now, met = stopped within target, events = the crossed levels).

private let seed: UInt64 = 0x5EED_2026_1206_0014
private let statuses = ["ABIERTO", "EN_PROCESO", "EN_ESPERA", "RESUELTO", "CERRADO"]
private let priorities = ["ALTA", "MEDIA", "BAJA"]
private let areas: [String?] = ["FACTURACION", "TECNOLOGIA", nil]
private let zones = ["America/Bogota", "Europe/Madrid", "America/New_York"]
/// 2026-03-20T12:00Z, in minutes: Europe/Madrid and New York change their clocks within the tickets' lives.
private let nowMinute: Int64 = 1_774_008_000 / 60

/// A rule set in plain terms, written both as rules JSON (for the engine) and as reference inputs.
private struct RandomRules {
    struct Calendar {
        var name: String
        var reference: ReferenceCalendar
    }
    struct PolicySpec {
        var name: String
        var area: String??  // nil: no `when`; .some(x): area EQ x
        var calendar: Int
        /// Priority → target in half hours.
        var targets: [String: Int]
        var policy: ReferencePolicy
    }
    var calendars: [Calendar]
    var policies: [PolicySpec]

    /// The first policy that applies, with its target in microseconds, or nil for no clock.
    func choose(area: String?) -> PolicySpec? {
        policies.first { p in
            guard let wanted = p.area else { return true }
            return wanted == area
        }
    }

    var json: String {
        func calendarJSON(_ c: Calendar) -> String {
            guard let zone = c.reference.zoneIdentifier else { return "\"\(c.name)\": {type: \"always\"}" }
            let names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            let week = (0..<7).map {
                "\(names[$0]): [\(c.reference.week[$0].map { "\"\($0)\"" }.joined(separator: ", "))]"
            }
            let holidays = c.reference.holidays.map { String(format: "\"%04d-%02d-%02d\"", $0.year, $0.month, $0.day) }
            return
                "\"\(c.name)\": {timezone: \"\(zone)\", week: {\(week.joined(separator: ", "))}, holidays: [\(holidays.joined(separator: ", "))]}"
        }
        func policyJSON(_ p: PolicySpec) -> String {
            var fields = ["name: \"\(p.name)\"", "calendar: \"\(calendars[p.calendar].name)\""]
            if let area = p.area {
                fields.append(
                    area.map { "when: {column: \"area\", op: \"EQ\", operand: \"\($0)\"}" }
                        ?? "when: {column: \"area\", op: \"EQ\", operand: null}")
            }
            fields.append(
                "targets: {"
                    + p.targets.sorted { $0.key < $1.key }.map { "\($0.key): \(Double($0.value) / 2)" }.joined(
                        separator: ", ") + "}")
            fields.append(
                "pause_statuses: [" + p.policy.pauseStatuses.sorted().map { "\"\($0)\"" }.joined(separator: ", ") + "]")
            fields.append(
                "stop_statuses: [" + p.policy.stopStatuses.sorted().map { "\"\($0)\"" }.joined(separator: ", ") + "]")
            fields.append("warn_at: [" + p.policy.warnTenths.map { String($0 / 10) }.joined(separator: ", ") + "]")
            fields.append(
                "escalate_after: [" + p.policy.escalateMicros.map { "\"\($0 / 60_000_000)m\"" }.joined(separator: ", ")
                    + "]")
            return "{" + fields.joined(separator: ", ") + "}"
        }
        return
            "{calendars: {\(calendars.map(calendarJSON).joined(separator: ", "))}, policies: [\(policies.map(policyJSON).joined(separator: ", "))]}"
    }

    func ruleSet() throws -> RuleSet {
        try RulesLoader.load(files: [("random.json", Data(json.utf8))], environment: [:])
    }
}

private struct Generator {
    var random: ReferenceRandom

    mutating func pick<T>(_ items: [T]) -> T { items[random.int(0...(items.count - 1))] }

    mutating func calendar(_ name: String) -> RandomRules.Calendar {
        if random.int(0...3) == 0 { return .init(name: name, reference: .always) }
        let start = random.int(6...9) * 60 + pick([0, 30])
        let lunch = random.int(12...13) * 60
        let end = random.int(16...19) * 60
        let day = [ReferenceRange(start: start, end: lunch), ReferenceRange(start: lunch + 60, end: end)]
        var week = [[ReferenceRange]](repeating: day, count: 5) + [[], []]
        if random.int(0...2) == 0 { week[5] = [ReferenceRange(start: 9 * 60, end: 13 * 60)] }
        var holidays: [(year: Int, month: Int, day: Int)] = []
        for _ in 0..<random.int(0...3) { holidays.append((2026, 3, random.int(2...20))) }
        return .init(
            name: name, reference: ReferenceCalendar(zoneIdentifier: pick(zones), week: week, holidays: holidays))
    }

    mutating func policyClock() -> ReferencePolicy {
        var pause: Set<String> = random.int(0...3) == 0 ? [] : ["EN_ESPERA"]
        var stop: Set<String> = ["CERRADO"]
        if random.int(0...2) > 0 { stop.insert("RESUELTO") } else if random.int(0...1) == 0 { pause.insert("RESUELTO") }
        let warn = Array(Set((0..<random.int(0...3)).map { _ in random.int(1...9) * 100 })).sorted()
        let escalate = Array(Set((0..<random.int(0...2)).map { _ in Int64(random.int(1...48)) * 1_800_000_000 }))
            .sorted()
        return ReferencePolicy(pauseStatuses: pause, stopStatuses: stop, warnTenths: warn, escalateMicros: escalate)
    }

    mutating func targets() -> [String: Int] {
        var t: [String: Int] = [:]
        for p in priorities where random.int(0...5) > 0 { t[p] = random.int(1...60) }
        return t
    }

    mutating func rules() -> RandomRules {
        let calendars = (0..<3).map { calendar("cal\($0)") }
        var policies: [RandomRules.PolicySpec] = []
        for i in 0..<random.int(1...3) {
            let area: String?? = random.int(0...2) == 0 ? nil : .some(pick(areas))
            policies.append(
                .init(name: "p\(i)", area: area, calendar: random.int(0...2), targets: targets(), policy: policyClock())
            )
        }
        if random.int(0...1) == 0 {
            policies.append(
                .init(name: "resto", area: nil, calendar: random.int(0...2), targets: targets(), policy: policyClock()))
        }
        return RandomRules(calendars: calendars, policies: policies)
    }

    /// The current rules changed in a few ways, as a proposal would change them.
    mutating func proposal(from current: RandomRules) -> RandomRules {
        var p = current
        for _ in 0..<random.int(1...4) {
            switch random.int(0...6) {
            case 0:
                let c = random.int(0...2)
                p.calendars[c] = calendar(p.calendars[c].name)
            case 1:
                let i = random.int(0...(p.policies.count - 1))
                p.policies[i].targets = targets()
            case 2:
                let i = random.int(0...(p.policies.count - 1))
                p.policies[i].policy = policyClock()
            case 3: p.policies.reverse()
            case 4:
                let i = random.int(0...(p.policies.count - 1))
                p.policies[i].calendar = random.int(0...2)
            case 5:
                let i = random.int(0...(p.policies.count - 1))
                if let key = p.policies[i].targets.keys.sorted().first { p.policies[i].targets[key] = nil }
            default:
                let c = random.int(0...2)
                if p.calendars[c].reference.zoneIdentifier != nil {
                    p.calendars[c].reference.holidays.append((2026, 3, random.int(2...20)))
                }
            }
        }
        return p
    }

    mutating func ticket(_ i: Int) -> (ReferenceTicket, code: String, area: String?, priority: String) {
        let created =
            nowMinute - Int64(random.int(0...(18 * 1440))) + (random.int(0...9) == 0 ? Int64(random.int(1...600)) : 0)
        var changes: [(status: String, minute: Int64)] = []
        var t = created
        for _ in 0..<random.int(0...5) {
            t += Int64(random.int(1...(3 * 1440)))
            if t >= nowMinute + 60 { break }
            changes.append((pick(statuses), t))
        }
        let current = changes.last.map { random.int(0...7) == 0 ? pick(statuses) : $0.status } ?? pick(statuses)
        let updated = max(created, changes.last?.minute ?? created)
        let code = String(format: "TKT-%05d", i)
        return (
            ReferenceTicket(createdMinute: created, updatedMinute: updated, currentStatus: current, changes: changes),
            code, pick(areas), pick(priorities)
        )
    }
}

/// What the reference expects of one rule set over the tickets.
private func referenceOutcome(
    _ rules: RandomRules, _ t: ReferenceTicket, area: String?, priority: String, reference: ReferenceClock
) -> (policy: String, reading: ReferenceReading)? {
    guard let p = rules.choose(area: area), let halfHours = p.targets[priority] else { return nil }
    let reading = reference.evaluate(
        calendar: rules.calendars[p.calendar].reference, ticket: t, policy: p.policy,
        targetMicros: Int64(halfHours) * 1_800_000_000, nowMinute: nowMinute)
    return (p.name, reading)
}

private func add(_ r: ReferenceReading, to g: inout OutcomeGroup) {
    g.tickets += 1
    if r.isOverdue { g.breached += 1 }
    if r.state == "stopped" {
        g.stopped += 1
        if !r.isOverdue { g.met += 1 }
    }
    for t in r.thresholds where t.crossed {
        let kind: EventKind = t.kind == "warning" ? .warning : t.kind == "breach" ? .breached : .escalated
        g.events[kind, default: 0] += 1
    }
    if r.state == "stopped" && r.isOverdue { g.events[.metAfterBreach, default: 0] += 1 }
}

private func add(_ policy: String, _ r: ReferenceReading, area: String?, priority: String, to s: inout OutcomeSummary) {
    add(r, to: &s.total)
    add(r, to: &s.byPolicy[policy, default: OutcomeGroup()])
    add(r, to: &s.byArea[area ?? "", default: OutcomeGroup()])
    add(r, to: &s.byPriority[priority, default: OutcomeGroup()])
}

@Suite struct WhatIfRandomizedTests {
    @Test func randomRuleSetsAgreeWithTheBruteForceReference() throws {
        var generator = Generator(random: ReferenceRandom(seed: seed))
        let reference = ReferenceClock(futureBoundDays: 60)
        let now = Instant(seconds: nowMinute * 60)
        let since = now + (-15 * 86_400_000_000)
        let until = now + 3_600_000_000
        var changedTotal = 0
        var clocks = 0
        var breached = 0
        for round in 0..<6 {
            let current = generator.rules()
            let proposed = generator.proposal(from: current)
            let comparison = WhatIfComparison(
                current: try current.ruleSet(), proposed: try proposed.ruleSet(), since: since, until: until, now: now)
            var wantCurrent = OutcomeSummary()
            var wantProposed = OutcomeSummary()
            var wantChanged: [ChangedTicket] = []
            for i in 0..<40 {
                let (t, code, area, priority) = generator.ticket(round * 100 + i)
                let source = SourceTicket(
                    ticketID: code, code: code, title: "t", category: nil, requesterEmail: nil, status: t.currentStatus,
                    priority: priority, area: area, areaManagerEmail: nil,
                    createdAt: Instant(seconds: t.createdMinute * 60),
                    updatedAt: Instant(seconds: t.updatedMinute * 60))
                comparison.add(
                    source,
                    history: t.changes.map { StatusChange(status: $0.status, at: Instant(seconds: $0.minute * 60)) })
                let created = Instant(seconds: t.createdMinute * 60)
                guard created >= since, created < until else { continue }
                let a = referenceOutcome(current, t, area: area, priority: priority, reference: reference)
                let b = referenceOutcome(proposed, t, area: area, priority: priority, reference: reference)
                if let a { add(a.policy, a.reading, area: area, priority: priority, to: &wantCurrent) }
                if let b { add(b.policy, b.reading, area: area, priority: priority, to: &wantProposed) }
                let oa = a.map {
                    TicketOutcome(
                        policy: $0.policy, breached: $0.reading.isOverdue,
                        dueAt: $0.reading.dueAt.map(Instant.init(microseconds:)))
                }
                let ob = b.map {
                    TicketOutcome(
                        policy: $0.policy, breached: $0.reading.isOverdue,
                        dueAt: $0.reading.dueAt.map(Instant.init(microseconds:)))
                }
                let differs = (oa == nil) != (ob == nil) || (oa != nil && oa!.breached != ob!.breached)
                if differs {
                    wantChanged.append(
                        ChangedTicket(code: code, area: area, priority: priority, current: oa, proposed: ob))
                }
            }
            let report = comparison.report
            #expect(report.current == wantCurrent, "round \(round): current rules\n\(current.json)")
            #expect(report.proposed == wantProposed, "round \(round): proposed rules\n\(proposed.json)")
            #expect(report.changed == wantChanged, "round \(round):\n\(current.json)\n\(proposed.json)")
            changedTotal += wantChanged.count
            clocks += wantCurrent.total.tickets + wantProposed.total.tickets
            breached += wantCurrent.total.breached + wantProposed.total.breached
        }
        print("what-if against the reference: \(clocks) clocks, \(breached) breached, \(changedTotal) changed")
        #expect(clocks > 200 && breached > 20)
        // The proposals must have changed something, or the comparison of changes tested nothing.
        #expect(changedTotal > 0)
    }
}
