import Foundation
import SlawatchCore
import Testing

// The SLA engine against the brute-force reference (ReferenceClock.swift), on generated tickets.
//
// Every run is deterministic: the base seed below, or SLAWATCH_REF_SEED from the environment
// (decimal or 0x-hex), decides everything; SLAWATCH_REF_TICKETS raises the ticket count. A failure
// prints the seed, the group and ticket index, and the whole case (calendar, zone, history, now,
// policy, target, expected vs got) so that it can be turned into a hand-written test.

private let defaultSeed: UInt64 = 0x5EED_2026_0329_0001
private let defaultTicketCount = 10_000

private func environmentSeed() -> UInt64 {
    guard let text = ProcessInfo.processInfo.environment["SLAWATCH_REF_SEED"] else { return defaultSeed }
    if text.hasPrefix("0x"), let v = UInt64(text.dropFirst(2), radix: 16) { return v }
    return UInt64(text) ?? defaultSeed
}

private func environmentTicketCount() -> Int {
    guard let text = ProcessInfo.processInfo.environment["SLAWATCH_REF_TICKETS"], let n = Int(text), n > 0 else {
        return defaultTicketCount
    }
    return max(n, defaultTicketCount)
}

/// The seed of group `index` of a run.
private func groupSeed(_ base: UInt64, _ index: Int) -> UInt64 {
    var r = ReferenceRandom(seed: base ^ (UInt64(index) &* 0xD1B5_4A32_D192_ED03))
    return r.next()
}

// MARK: - What is generated

private let zoneIdentifiers = [
    "Europe/Madrid", "America/New_York", "America/Santiago", "Australia/Lord_Howe", "America/Bogota",
    "Asia/Kolkata", "Pacific/Chatham",
]
private let statuses = ["ABIERTO", "EN_PROCESO", "EN_ESPERA", "RESUELTO", "CERRADO"]
private let minute: Int64 = 60_000_000
private let hour: Int64 = 3_600_000_000
/// 2025-01-01T00:00Z and 2027-01-01T00:00Z, in minutes.
private let firstMinute: Int64 = 1_735_689_600 / 60
private let lastMinute: Int64 = 1_798_761_600 / 60

/// The daylight-saving changes of a zone in 2025 and 2026, in minutes (rounded down).
private func transitions(_ id: String) -> [Int64] {
    let zone = TimeZone(identifier: id)!
    var result: [Int64] = []
    var date = Date(timeIntervalSince1970: Double(firstMinute * 60 - 86_400 * 40))
    while let next = zone.nextDaylightSavingTimeTransition(after: date),
        next.timeIntervalSince1970 < Double(lastMinute * 60)
    {
        result.append(Int64(next.timeIntervalSince1970) / 60)
        date = next
    }
    return result
}

/// One generated case: the same inputs in the reference's plain terms and in the engine's.
private struct GeneratedTicket {
    /// Its changes are kept in the (shuffled) order handed to the engine.
    var ticket: ReferenceTicket
    var nowMinute: Int64
    var targetHours: Double
    var targetMicros: Int64
    /// Targets that are arbitrary fractions of an hour: compared within 1 µs.
    var inexactTarget: Bool
    /// When set, the target is re-chosen once the elapsed time is known, so that elapsed lands
    /// exactly on a level: 0 = on the target, 1 = on target + an escalation step, 2 = on the highest
    /// warning level.
    var boundary: Int?

    /// Re-targets the ticket so that `elapsed` (µs) is exactly on the chosen level, when possible.
    mutating func landOnBoundary(elapsed: Int64, policy: ReferencePolicy) {
        guard let kind = boundary, elapsed > 0 else { return }
        var target: Int64? = nil
        switch kind {
        case 0:
            target = elapsed
        case 1:
            if let step = policy.escalateMicros.filter({ $0 < elapsed }).max() { target = elapsed - step }
        default:
            // ceil(T * tenths / 1000) == elapsed for T = elapsed * 1000 / tenths when that divides.
            if let tenths = policy.warnTenths.max(), (elapsed * 1000) % Int64(tenths) == 0 {
                target = elapsed * 1000 / Int64(tenths)
            }
        }
        // Within the generator's usual sizes, so that every level stays within the reference's bound.
        guard let t = target, t > 0, t <= 40 * hour else { return }
        targetMicros = t
        targetHours = Double(t) / 3_600_000_000
        inexactTarget = false
    }
}

private struct GeneratedGroup {
    var calendar: ReferenceCalendar
    var policy: ReferencePolicy
    var tickets: [GeneratedTicket]
}

private struct Generator {
    var r: ReferenceRandom
    let transitionsByZone: [String: [Int64]]

    init(seed: UInt64, transitionsByZone: [String: [Int64]]) {
        r = ReferenceRandom(seed: seed)
        self.transitionsByZone = transitionsByZone
    }

    /// Local minutes where things happen around daylight-saving changes of the zones above.
    static let specialMinutes = [0, 30, 60, 90, 120, 150, 165, 180, 210, 225, 240, 1380, 1410, 1440]

    mutating func boundary() -> Int {
        let u = r.unit()
        if u < 0.45 { return r.pick(Self.specialMinutes) }
        if u < 0.85 { return r.int(0...48) * 30 }
        return r.int(0...1440)
    }

    /// 1–3 ranges, sorted, not overlapping (touching allowed), possibly ending at 24:00.
    mutating func randomDay() -> [ReferenceRange] {
        let n = r.int(1...3)
        var points: [Int] = []
        for _ in 0..<(2 * n) { points.append(boundary()) }
        points.sort()
        var ranges: [ReferenceRange] = []
        var i = 0
        while i + 1 < points.count {
            if points[i] < points[i + 1] { ranges.append(ReferenceRange(start: points[i], end: points[i + 1])) }
            i += 2
        }
        return ranges
    }

    static func parse(_ text: String) -> [ReferenceRange] {
        text.split(separator: ",").map { part in
            let hm = part.split(separator: "-").map { s -> Int in
                let x = s.split(separator: ":")
                return Int(x[0])! * 60 + Int(x[1])!
            }
            return ReferenceRange(start: hm[0], end: hm[1])
        }
    }

    mutating func templateWeek() -> [[ReferenceRange]] {
        switch r.int(0...5) {
        case 0:  // an office with a lunch break
            return (0..<7).map { $0 < 5 ? Self.parse("08:00-12:00,13:00-18:00") : [] }
        case 1:  // 24x7 in local hours
            return Array(repeating: Self.parse("00:00-24:00"), count: 7)
        case 2:  // around midnight
            return Array(repeating: Self.parse("00:00-03:00,22:00-24:00"), count: 7)
        case 3:  // the hours daylight-saving changes live in
            return (0..<7).map { $0 < 5 ? Self.parse("01:00-04:00,08:00-18:00") : Self.parse("01:00-03:00") }
        case 4:  // touching ranges
            return (0..<7).map { $0 < 6 ? Self.parse("00:00-02:00,02:00-02:30,02:30-12:00") : [] }
        default:
            return (0..<7).map { $0 < 5 ? Self.parse("09:00-17:00") : Self.parse("23:00-24:00") }
        }
    }

    /// `zone == nil`: 24x7.
    mutating func calendar(zone: String?, anchorMinute: Int64) -> ReferenceCalendar {
        guard let zone else { return .always }
        var week: [[ReferenceRange]]
        if r.chance(0.4) {
            week = templateWeek()
            for d in 0..<7 where r.chance(0.2) { week[d] = r.chance(0.3) ? [] : randomDay() }
        } else {
            week = (0..<7).map { _ in [] }
            for d in 0..<7 where !r.chance(0.2) { week[d] = randomDay() }
        }
        // Enough working time that every level is reached within a few weeks.
        let weekly = week.reduce(0) { $0 + $1.reduce(0) { $0 + $1.end - $1.start } }
        if weekly < 240 { week[r.int(0...6)] = Self.parse("06:00-18:00") }
        var holidays: [(year: Int, month: Int, day: Int)] = []
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        for _ in 0..<r.int(0...4) {
            let m = anchorMinute + r.int(-5 * 1440...Int64(12 * 1440))
            let c = utc.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: Double(m * 60)))
            holidays.append((c.year!, c.month!, c.day!))
        }
        return ReferenceCalendar(zoneIdentifier: zone, week: week, holidays: holidays)
    }

    mutating func anchor(zone: String?) -> Int64 {
        if let zone, let list = transitionsByZone[zone], !list.isEmpty, r.chance(0.85) {
            return r.pick(list) + r.int(-2 * 1440...Int64(1440))
        }
        return r.int(firstMinute...lastMinute)
    }

    mutating func policy() -> ReferencePolicy {
        let u = r.unit()
        let pause: Set<String>
        let stop: Set<String>
        if u < 0.85 {
            pause = ["EN_ESPERA"]
            stop = ["RESUELTO", "CERRADO"]
        } else if u < 0.95 {
            pause = ["EN_ESPERA", "EN_PROCESO"]
            stop = ["CERRADO"]
        } else {
            pause = []
            stop = []
        }
        var warn: [Int] = []
        for tenths in [250, 500, 750, 800, 900, 1000, 125, 375, 330, 333, 666, 10] where r.chance(0.25) {
            warn.append(tenths)
        }
        var steps: [Int64] = []
        let candidates: [Int64] = [
            30_000_000, 5 * minute, 15 * minute, hour, 90 * minute, 2 * hour, 4 * hour, 433_500_000,
        ]
        for s in candidates where r.chance(0.2) { steps.append(s) }
        if r.chance(0.03) { steps.append(0) }
        r.shuffle(&warn)
        r.shuffle(&steps)
        return ReferencePolicy(pauseStatuses: pause, stopStatuses: stop, warnTenths: warn, escalateMicros: steps)
    }

    mutating func ticket(anchor: Int64, maxTargetHours: Double) -> GeneratedTicket {
        let created = anchor + r.int(-1440...Int64(720))
        let span: Int64
        let u = r.unit()
        if u < 0.10 {
            span = -r.int(1...Int64(2 * 1440))  // created after now
        } else if u < 0.15 {
            span = 0
        } else {
            let v = r.unit()
            span = max(1, Int64(v * v * Double(5 * 1440)))
        }
        let now = created + span
        let lo = min(created, now) - 1440
        let hi = max(created, now) + 360
        var changes: [(status: String, minute: Int64)] = []
        let count = r.pick([0, 0, 1, 1, 2, 2, 3, 3, 4, 5])
        for _ in 0..<count {
            let v = r.unit()
            let m: Int64
            if v < 0.12 {
                m = created
            } else if v < 0.22 {
                m = now
            } else if v < 0.35, let previous = changes.last {
                m = previous.minute  // a duplicate instant
            } else if v < 0.45 {
                m = r.int(lo...hi)  // anywhere, before createdAt or after now included
            } else {
                m = r.int(min(created, now)...max(created, now))
            }
            changes.append((r.pick(statuses), m))
        }
        let sorted = changes.sorted { a, b in a.minute != b.minute ? a.minute < b.minute : a.status < b.status }
        let current = (r.chance(0.7) ? sorted.last?.status : nil) ?? r.pick(statuses)
        let updated: Int64
        let w = r.unit()
        if w < 0.4 {
            updated = sorted.last?.minute ?? created
        } else if w < 0.6 {
            updated = now
        } else if w < 0.8 {
            updated = created
        } else {
            updated = r.int(lo...hi)
        }
        r.shuffle(&changes)  // the engine must not depend on the order rows arrive in

        let hours: Double
        let micros: Int64
        let inexact: Bool
        let k = r.unit()
        if k < 0.45 {
            let n = r.int(1...max(1, Int(maxTargetHours * 60)))
            hours = Double(n) / 60
            micros = Int64(n) * minute
            inexact = false
        } else if k < 0.7 {
            let n = r.int(1...max(1, Int(maxTargetHours * 4)))
            hours = Double(n) * 0.25
            micros = Int64(n) * 900_000_000
            inexact = false
        } else if k < 0.85 {
            // n/1024 h is exactly n * 3,515,625 µs: levels and instants inside a second, compared exactly.
            let n = r.int(1...max(1, Int(maxTargetHours * 1024)))
            hours = Double(n) / 1024
            micros = Int64(n) * 3_515_625
            inexact = false
        } else {
            let n = r.int(1...max(1, Int(maxTargetHours * 997)))
            hours = Double(n) / 997
            micros = Int64((hours * 3600 * 1_000_000).rounded())
            inexact = true
        }
        return GeneratedTicket(
            ticket: ReferenceTicket(
                createdMinute: created, updatedMinute: updated, currentStatus: current, changes: changes),
            nowMinute: now, targetHours: hours, targetMicros: micros, inexactTarget: inexact,
            boundary: r.chance(0.12) ? r.int(0...2) : nil)
    }

    mutating func group(size: Int) -> GeneratedGroup {
        let zone = r.chance(0.15) ? nil : r.pick(zoneIdentifiers)
        let anchor = self.anchor(zone: zone)
        let calendar = self.calendar(zone: zone, anchorMinute: anchor)
        let weeklyHours: Double
        if calendar.zoneIdentifier == nil {
            weeklyHours = 168
        } else {
            weeklyHours = Double(calendar.week.reduce(0) { $0 + $1.reduce(0) { $0 + $1.end - $1.start } }) / 60
        }
        let maxTarget = min(30, max(0.5, weeklyHours * 0.8))
        let policy = self.policy()
        var tickets: [GeneratedTicket] = []
        for _ in 0..<size {
            // Mostly around the group's anchor; now and then far away, so that the engine's
            // timeline (shared by the group, as in a real cycle) has to widen both ways.
            let a = r.chance(0.85) ? anchor : self.anchor(zone: calendar.zoneIdentifier)
            tickets.append(ticket(anchor: a, maxTargetHours: maxTarget))
        }
        return GeneratedGroup(calendar: calendar, policy: policy, tickets: tickets)
    }
}

// MARK: - Building the engine's inputs

private func engineCalendar(_ c: ReferenceCalendar) -> WorkCalendar {
    guard let zone = c.zoneIdentifier else { return .always }
    let week = c.week.map { day in day.map { WorkingRange(startMinute: $0.start, endMinute: $0.end)! } }
    let holidays = Set(c.holidays.map { CivilDate(year: $0.year, month: $0.month, day: $0.day)! })
    return .businessHours(BusinessHours(timeZoneIdentifier: zone, week: week, holidays: holidays))
}

private func engineHistory(_ t: ReferenceTicket) -> StatusHistory {
    StatusHistory(
        createdAt: Instant(seconds: t.createdMinute * 60), updatedAt: Instant(seconds: t.updatedMinute * 60),
        currentStatus: t.currentStatus,
        changes: t.changes.map { StatusChange(status: $0.status, at: Instant(seconds: $0.minute * 60)) })
}

private func enginePolicy(_ p: ReferencePolicy) -> ClockPolicy {
    ClockPolicy(
        pauseStatuses: p.pauseStatuses, stopStatuses: p.stopStatuses, warnAt: p.warnTenths.map { Double($0) / 10 },
        escalateAfter: p.escalateMicros)
}

// MARK: - Comparing

/// Every difference between the engine's reading and the reference's; empty when they agree.
private func differences(
    _ got: ClockReading, _ want: ReferenceReading, targetHours: Double, tolerance: Int64, describe: (Int64?) -> String
) -> [String] {
    var d: [String] = []
    func close(_ a: Int64?, _ b: Int64?) -> Bool {
        switch (a, b) {
        case (nil, nil): return true
        case (let x?, let y?): return abs(x - y) <= tolerance
        default: return false
        }
    }
    if got.slaHours != targetHours { d.append("slaHours: expected \(targetHours), got \(got.slaHours)") }
    if !close(got.targetMicros, want.targetMicros) {
        d.append("targetMicros: expected \(want.targetMicros), got \(got.targetMicros)")
    }
    if got.elapsedMicros != want.elapsedMicros {
        d.append(
            "elapsedMicros: expected \(want.elapsedMicros) (\(Double(want.elapsedMicros) / 3.6e9) h), got \(got.elapsedMicros) (\(Double(got.elapsedMicros) / 3.6e9) h)"
        )
    }
    if abs(got.hoursRemaining - want.hoursRemaining) > (tolerance == 0 ? 0 : 1e-9) {
        d.append("hoursRemaining: expected \(want.hoursRemaining), got \(got.hoursRemaining)")
    }
    if got.isOverdue != want.isOverdue { d.append("isOverdue: expected \(want.isOverdue), got \(got.isOverdue)") }
    if got.state.rawValue != want.state { d.append("state: expected \(want.state), got \(got.state.rawValue)") }
    if got.status.rawValue != want.status { d.append("status: expected \(want.status), got \(got.status.rawValue)") }
    if !close(got.dueAt?.microseconds, want.dueAt) {
        d.append("dueAt: expected \(describe(want.dueAt)), got \(describe(got.dueAt?.microseconds))")
    }
    if got.stoppedSince?.microseconds != want.stoppedSince {
        d.append(
            "stoppedSince: expected \(describe(want.stoppedSince)), got \(describe(got.stoppedSince?.microseconds))")
    }
    if got.thresholds.count != want.thresholds.count {
        d.append("thresholds: expected \(want.thresholds.count), got \(got.thresholds.count)")
    } else {
        for (g, w) in zip(got.thresholds, want.thresholds) {
            let name = "threshold \(w.kind) \(w.level)"
            if g.kind.rawValue != w.kind || g.level != w.level {
                d.append("\(name): got kind \(g.kind.rawValue) level \(g.level)")
                continue
            }
            if !close(g.elapsedMicros, w.levelMicros) {
                d.append("\(name) elapsedMicros: expected \(w.levelMicros), got \(g.elapsedMicros)")
            }
            if g.crossed != w.crossed { d.append("\(name) crossed: expected \(w.crossed), got \(g.crossed)") }
            if !close(g.at?.microseconds, w.at) {
                d.append("\(name) at: expected \(describe(w.at)), got \(describe(g.at?.microseconds))")
            }
        }
    }
    return d
}

private func caseDescription(
    reference: ReferenceClock, seed: UInt64, groupIndex: Int, ticketIndex: Int, group: GeneratedGroup,
    t: GeneratedTicket
) -> String {
    let zone = group.calendar.zoneIdentifier
    func at(_ m: Int64) -> String { reference.describe(micros: m * 60_000_000, zoneIdentifier: zone) }
    let p = group.policy
    var lines: [String] = []
    lines.append(
        "seed 0x\(String(seed, radix: 16)) (SLAWATCH_REF_SEED), group \(groupIndex), ticket \(ticketIndex) of the group"
    )
    lines.append("calendar: \(group.calendar)")
    lines.append(
        "policy: pause \(p.pauseStatuses.sorted()), stop \(p.stopStatuses.sorted()), warn_at \(p.warnTenths.map { Double($0) / 10 }), escalate_after (s) \(p.escalateMicros.map { Double($0) / 1e6 })"
    )
    lines.append("target: \(t.targetHours) h (\(t.targetMicros) µs)")
    lines.append("createdAt: \(at(t.ticket.createdMinute))")
    lines.append("updatedAt: \(at(t.ticket.updatedMinute)), currentStatus \(t.ticket.currentStatus)")
    lines.append(
        "changes (in the order given): "
            + (t.ticket.changes.isEmpty
                ? "none" : t.ticket.changes.map { "\($0.status) @ \(at($0.minute))" }.joined(separator: "; ")))
    lines.append("now: \(at(t.nowMinute))")
    return lines.joined(separator: "\n")
}

// MARK: - Tests

@Suite struct ClockRandomizedTests {
    @Test func randomizedTicketsAgreeWithTheBruteForceReference() {
        let seed = environmentSeed()
        let ticketCount = environmentTicketCount()
        let transitionsByZone = Dictionary(uniqueKeysWithValues: zoneIdentifiers.map { ($0, transitions($0)) })
        let reference = ReferenceClock()
        let started = ContinuousClock.now
        var checked = 0
        var failures = 0
        var groupIndex = 0
        var seenStatuses: [String: Int] = [:]
        var seenStates: [String: Int] = [:]
        var crossedThresholds = 0
        var pastDue = 0
        var futureDue = 0
        var nilDue = 0
        var fieldTally: [String: Int] = [:]
        var acrossDaylightSaving = 0
        var engineTime = Duration.zero
        var referenceTime = Duration.zero

        // A group has 1 to 12 tickets, 6.5 on average, so `ticketCount` tickets take about
        // ticketCount / 6.5 groups. The loop stops at about twice that: a generator that yields far
        // fewer tickets than it should ends the loop short of `ticketCount`, which fails below.
        let maxGroups = ticketCount / 3
        while checked < ticketCount && groupIndex < maxGroups {
            var generator = Generator(seed: groupSeed(seed, groupIndex), transitionsByZone: transitionsByZone)
            let group = generator.group(size: generator.r.int(1...12))
            let calendar = engineCalendar(group.calendar)
            let policy = enginePolicy(group.policy)
            // One timeline per calendar, shared by the group's tickets as in a real evaluation cycle.
            let timeline = WorkingTimeline(calendar: calendar)
            let prepared = reference.prepare(group.calendar)
            for (ticketIndex, generated) in group.tickets.enumerated() {
                var t = generated
                if t.boundary != nil {
                    let first = reference.evaluate(
                        prepared: prepared, ticket: t.ticket, policy: group.policy, targetMicros: t.targetMicros,
                        nowMinute: t.nowMinute)
                    t.landOnBoundary(elapsed: first.elapsedMicros, policy: group.policy)
                }
                let now = Instant(seconds: t.nowMinute * 60)
                let t0 = ContinuousClock.now
                let got = SLAClock.evaluate(
                    history: engineHistory(t.ticket), targetHours: t.targetHours, policy: policy, timeline: timeline,
                    now: now)
                let t1 = ContinuousClock.now
                let want = reference.evaluate(
                    prepared: prepared, ticket: t.ticket, policy: group.policy, targetMicros: t.targetMicros,
                    nowMinute: t.nowMinute)
                engineTime += t1 - t0
                referenceTime += ContinuousClock.now - t1
                let diff = differences(
                    got, want, targetHours: t.targetHours, tolerance: t.inexactTarget ? 1 : 0,
                    describe: { reference.describe(micros: $0, zoneIdentifier: group.calendar.zoneIdentifier) })
                if !diff.isEmpty {
                    failures += 1
                    // Show the first cases, and the first few of every kind of difference.
                    var firstOfItsKind = false
                    for line in diff {
                        let field = String(line.prefix { $0 != ":" })
                        fieldTally[field, default: 0] += 1
                        if fieldTally[field]! <= 3 { firstOfItsKind = true }
                    }
                    if failures <= 10 || firstOfItsKind {
                        // Does the answer depend on what the shared timeline saw before?
                        let fresh = SLAClock.evaluate(
                            history: engineHistory(t.ticket), targetHours: t.targetHours, policy: policy,
                            timeline: WorkingTimeline(calendar: calendar), now: now)
                        let note =
                            fresh == got
                            ? "(same with a fresh timeline)"
                            : "(a fresh timeline answers differently: the shared timeline's state matters)"
                        let text = caseDescription(
                            reference: reference, seed: seed, groupIndex: groupIndex, ticketIndex: ticketIndex,
                            group: group, t: t)
                        let message =
                            "engine disagrees with the reference \(note)\n\(text)\n  " + diff.joined(separator: "\n  ")
                        Issue.record(Comment(rawValue: message))
                    }
                }
                checked += 1
                if let zone = group.calendar.zoneIdentifier, let list = transitionsByZone[zone],
                    list.contains(where: {
                        $0 >= min(t.ticket.createdMinute, t.nowMinute) && $0 < max(t.ticket.createdMinute, t.nowMinute)
                    })
                {
                    acrossDaylightSaving += 1
                }
                seenStatuses[want.status, default: 0] += 1
                seenStates[want.state, default: 0] += 1
                crossedThresholds += want.thresholds.filter(\.crossed).count
                if want.dueAt == nil {
                    nilDue += 1
                } else if want.elapsedMicros >= want.targetMicros {
                    pastDue += 1
                } else {
                    futureDue += 1
                }
            }
            groupIndex += 1
        }
        let duration = ContinuousClock.now - started
        print(
            "randomized SLA clock: \(checked) tickets in \(groupIndex) calendars, seed 0x\(String(seed, radix: 16)), \(failures) disagreements, \(duration) (engine \(engineTime), reference \(referenceTime), \(reference.minutesWalked) minutes walked); statuses \(seenStatuses.sorted { $0.key < $1.key }), states \(seenStates.sorted { $0.key < $1.key }), dueAt past \(pastDue) / future \(futureDue) / nil \(nilDue), thresholds crossed \(crossedThresholds), \(acrossDaylightSaving) tickets whose [createdAt, now] spans a daylight-saving change"
        )
        #expect(
            failures == 0,
            "\(failures) of \(checked) tickets disagree with the reference (seed 0x\(String(seed, radix: 16))); fields: \(fieldTally.sorted { $0.key < $1.key })"
        )
        // Every ticket asked for was compared, and the generator must really reach every outcome,
        // or agreement proves little.
        #expect(checked >= ticketCount, "only \(checked) of \(ticketCount) tickets compared in \(groupIndex) groups")
        for s in ["paused", "met", "breached", "at_risk", "on_track"] {
            #expect((seenStatuses[s] ?? 0) > 100, "too few \(s) tickets generated")
        }
        for s in ["running", "paused", "stopped"] {
            #expect((seenStates[s] ?? 0) > 100, "too few \(s) tickets generated")
        }
        #expect(pastDue > 500 && futureDue > 500)
        #expect(acrossDaylightSaving > 1000, "too few tickets live through a daylight-saving change")
    }

    /// The calendar arithmetic on its own: working time between two instants and the instant a
    /// working amount is used up, against minute-by-minute counting.
    @Test func randomizedWorkingTimeAgreesWithTheBruteForceReference() {
        let seed = environmentSeed() ^ 0x7133
        let transitionsByZone = Dictionary(uniqueKeysWithValues: zoneIdentifiers.map { ($0, transitions($0)) })
        let reference = ReferenceClock()
        var failures = 0
        var checked = 0
        for groupIndex in 0..<150 {
            var g = Generator(seed: groupSeed(seed, groupIndex), transitionsByZone: transitionsByZone)
            let zone = g.r.chance(0.1) ? nil : g.r.pick(zoneIdentifiers)
            let anchor = g.anchor(zone: zone)
            let cal = g.calendar(zone: zone, anchorMinute: anchor)
            let timeline = WorkingTimeline(calendar: engineCalendar(cal))
            for q in 0..<10 {
                let a =
                    (g.r.chance(0.8) ? anchor : g.anchor(zone: cal.zoneIdentifier))
                    + g.r.int(-3 * 1440...Int64(3 * 1440))
                let b = a + g.r.int(-60...Int64(4 * 1440))
                let wantTime = reference.workingMicros(cal, fromMinute: a, toMinute: b)
                let gotTime = timeline.workingTime(from: Instant(seconds: a * 60), to: Instant(seconds: b * 60))
                let amount = g.r.chance(0.5) ? g.r.int(0...Int64(20 * 60)) * minute : g.r.int(0...20 * hour)
                let wantAt = reference.instantAfter(cal, fromMinute: a, addingMicros: amount)
                let gotAt = timeline.instant(after: Instant(seconds: a * 60), adding: amount)?.microseconds
                checked += 1
                if wantTime != gotTime || wantAt != gotAt {
                    failures += 1
                    if failures <= 25 {
                        let z = cal.zoneIdentifier
                        Issue.record(
                            """
                            working time disagrees with the reference: seed 0x\(String(seed, radix: 16)), group \(groupIndex), query \(q)
                            calendar: \(cal)
                            workingTime(from: \(reference.describe(micros: a * minute, zoneIdentifier: z)), to: \(reference.describe(micros: b * minute, zoneIdentifier: z))): expected \(wantTime), got \(gotTime)
                            instant(after: \(reference.describe(micros: a * minute, zoneIdentifier: z)), adding: \(amount) µs): expected \(reference.describe(micros: wantAt, zoneIdentifier: z)), got \(reference.describe(micros: gotAt, zoneIdentifier: z))
                            """)
                    }
                }
            }
        }
        #expect(
            failures == 0, "\(failures) of \(checked) working-time queries disagree (seed 0x\(String(seed, radix: 16)))"
        )
    }

    /// Calendars whose holidays cover long stretches (30 to 390 days in a row): the next working
    /// time lies more than a year ahead, beyond the engine's first year of coverage, so the
    /// timeline must widen while it searches.
    @Test func longHolidayStretchesAgreeWithTheBruteForceReference() {
        let seed = environmentSeed() ^ 0x4011_DA75
        let transitionsByZone = Dictionary(uniqueKeysWithValues: zoneIdentifiers.map { ($0, transitions($0)) })
        let reference = ReferenceClock(futureBoundDays: 500)  // stretches end within 390 days
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        var failures: [String] = []
        for groupIndex in 0..<8 {
            var g = Generator(seed: groupSeed(seed, groupIndex), transitionsByZone: transitionsByZone)
            let zone = g.r.pick(zoneIdentifiers)
            let anchor = g.anchor(zone: zone)
            var cal = g.calendar(zone: zone, anchorMinute: anchor)
            let length = g.r.int(30...390)
            let first = anchor / 1440 + g.r.int(-2...Int64(2))
            cal.holidays = (first..<(first + Int64(length))).map { day in
                let c = utc.dateComponents(
                    [.year, .month, .day], from: Date(timeIntervalSince1970: Double(day * 86_400)))
                return (c.year!, c.month!, c.day!)
            }
            let timeline = WorkingTimeline(calendar: engineCalendar(cal))
            let amount = g.r.int(1...Int64(10 * 60)) * minute + (g.r.chance(0.5) ? 0 : g.r.int(1...59_999_999))
            let wantAt = reference.instantAfter(cal, fromMinute: anchor, addingMicros: amount)
            let gotAt = timeline.instant(after: Instant(seconds: anchor * 60), adding: amount)?.microseconds
            // A ticket created then, looked at two days later: nothing counted, due after the stretch.
            let ticket = ReferenceTicket(
                createdMinute: anchor, updatedMinute: anchor, currentStatus: "ABIERTO", changes: [])
            let want = reference.evaluate(
                calendar: cal, ticket: ticket,
                policy: ReferencePolicy(pauseStatuses: [], stopStatuses: [], warnTenths: [500], escalateMicros: [hour]),
                targetMicros: 4 * hour, nowMinute: anchor + 2 * 1440)
            let got = SLAClock.evaluate(
                history: engineHistory(ticket), targetHours: 4,
                policy: ClockPolicy(pauseStatuses: [], stopStatuses: [], warnAt: [50], escalateAfter: [hour]),
                timeline: timeline,
                now: Instant(seconds: (anchor + 2 * 1440) * 60))
            let diff = differences(got, want, targetHours: 4, tolerance: 0) {
                reference.describe(micros: $0, zoneIdentifier: zone)
            }
            if wantAt != gotAt || !diff.isEmpty {
                failures.append(
                    """
                    seed 0x\(String(seed, radix: 16)), group \(groupIndex): \(length) holidays from day \(first), calendar \(cal.zoneIdentifier!) \(cal.week)
                    instant(after: \(reference.describe(micros: anchor * minute, zoneIdentifier: zone)), adding: \(amount)): expected \(reference.describe(micros: wantAt, zoneIdentifier: zone)), got \(reference.describe(micros: gotAt, zoneIdentifier: zone))
                    \(diff.joined(separator: "\n"))
                    """)
            }
            #expect(wantAt != nil && want.dueAt != nil, "the reference must reach the level within its bound")
        }
        #expect(failures.isEmpty, Comment(rawValue: failures.joined(separator: "\n")))
    }
}
