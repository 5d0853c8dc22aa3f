import Foundation
import SlawatchCore
import Testing

// the README's SLA semantics on cases worked out by hand. Every expected value is a literal, with the reasoning
// next to it. Zones: America/Bogota is UTC-5 all year; Europe/Madrid is UTC+1 (CET) in winter and
// UTC+2 (CEST) in summer, changing on 2026-03-29 at 01:00Z (02:00 CET -> 03:00 CEST) and on
// 2026-10-25 at 01:00Z (03:00 CEST -> 02:00 CET).

private func t(_ text: String) -> Instant {
    guard let instant = Instant(iso8601: text) else { fatalError("bad literal \(text)") }
    return instant
}

private func ranges(_ texts: [String]) -> [WorkingRange] { texts.map { WorkingRange($0)! } }

private func calendar(_ zone: String, _ week: [[String]], holidays: [String] = []) -> WorkCalendar {
    .businessHours(
        BusinessHours(
            timeZoneIdentifier: zone, week: week.map(ranges), holidays: Set(holidays.map { CivilDate($0)! })))
}

private let office = ["08:00-18:00"]
/// Mon–Fri 08:00–18:00 in Bogota.
private let bogotaOffice = calendar("America/Bogota", [office, office, office, office, office, [], []])
private let policy = ClockPolicy(
    pauseStatuses: ["EN_ESPERA"], stopStatuses: ["RESUELTO", "CERRADO"], warnAt: [50, 75],
    escalateAfter: [3_600_000_000])
private let hour: Int64 = 3_600_000_000

private func evaluate(
    _ calendar: WorkCalendar, created: String, updated: String? = nil, current: String = "ABIERTO",
    changes: [(String, String)] = [], target: Double, now: String, policy: ClockPolicy = policy
) -> ClockReading {
    let history = StatusHistory(
        createdAt: t(created), updatedAt: t(updated ?? created), currentStatus: current,
        changes: changes.map { StatusChange(status: $0.0, at: t($0.1)) })
    return SLAClock.evaluate(
        history: history, targetHours: target, policy: policy, timeline: WorkingTimeline(calendar: calendar),
        now: t(now))
}

private func threshold(_ r: ClockReading, _ kind: Threshold.Kind, _ level: Double) -> Threshold? {
    r.thresholds.first { $0.kind == kind && $0.level == level }
}

@Suite struct ClockHandCheckedTests {
    // Created Friday 2026-03-20 17:00 Bogota (22:00Z), 4 h, Mon–Fri 08:00–18:00: Friday 17–18 is
    // 1 h, Saturday and Sunday count nothing, Monday 08–11 brings 3 h: due Monday 11:00 (16:00Z).
    @Test func fridayAfternoonTicketIsDueMondayMorning() {
        let r = evaluate(bogotaOffice, created: "2026-03-20T22:00:00Z", target: 4, now: "2026-03-20T22:00:00Z")
        #expect(r.elapsedMicros == 0)
        #expect(r.slaHours == 4)
        #expect(r.targetMicros == 4 * hour)
        #expect(r.hoursRemaining == 4)
        #expect(!r.isOverdue)
        #expect(r.state == .running)
        #expect(r.status == .on_track)
        #expect(r.dueAt == t("2026-03-23T16:00:00Z"))  // Monday 11:00 local
        // 50 % = 2 h: Friday 1 h + Monday 08–09 -> Monday 09:00 local (14:00Z).
        #expect(threshold(r, .warning, 50)?.at == t("2026-03-23T14:00:00Z"))
        #expect(threshold(r, .warning, 50)?.elapsedMicros == 2 * hour)
        // 75 % = 3 h -> Monday 10:00 local (15:00Z).
        #expect(threshold(r, .warning, 75)?.at == t("2026-03-23T15:00:00Z"))
        #expect(threshold(r, .breach, 100)?.at == t("2026-03-23T16:00:00Z"))
        // Escalation 1 h past the deadline = 5 h -> Monday 12:00 local (17:00Z).
        #expect(threshold(r, .escalation, 3600)?.at == t("2026-03-23T17:00:00Z"))
        #expect(r.thresholds.allSatisfy { !$0.crossed })
        #expect(r.stoppedSince == nil)
    }

    // Saturday noon: only Friday 17–18 counted.
    @Test func weekendCountsNothing() {
        let r = evaluate(bogotaOffice, created: "2026-03-20T22:00:00Z", target: 4, now: "2026-03-21T17:00:00Z")
        #expect(r.elapsedMicros == hour)
        #expect(r.hoursRemaining == 3)
        #expect(r.status == .on_track)
        #expect(r.dueAt == t("2026-03-23T16:00:00Z"))  // unchanged: Monday 11:00 local
    }

    // Monday 10:00 local (15:00Z): elapsed 1 h + 2 h = 3 h = exactly 75 % of 4 h: at_risk (>=).
    @Test func exactlyTheHighestWarningLevelIsAtRisk() {
        let r = evaluate(bogotaOffice, created: "2026-03-20T22:00:00Z", target: 4, now: "2026-03-23T15:00:00Z")
        #expect(r.elapsedMicros == 3 * hour)
        #expect(r.hoursRemaining == 1)
        #expect(r.status == .at_risk)
        #expect(threshold(r, .warning, 50)?.crossed == true)
        #expect(threshold(r, .warning, 75)?.crossed == true)
        #expect(threshold(r, .warning, 75)?.at == t("2026-03-23T15:00:00Z"))  // reached just now
        #expect(threshold(r, .breach, 100)?.crossed == false)
        #expect(r.dueAt == t("2026-03-23T16:00:00Z"))
    }

    // Monday 12:30 local (17:30Z): 1 h + 4.5 h = 5.5 h of 4 h: breached 1.5 h ago by the clock;
    // due (past) Monday 11:00 local; escalation (+1 h = 5 h) crossed at 12:00 local.
    @Test func pastTheDeadlineIsBreachedWithPastInstants() {
        let r = evaluate(bogotaOffice, created: "2026-03-20T22:00:00Z", target: 4, now: "2026-03-23T17:30:00Z")
        #expect(r.elapsedMicros == 5 * hour + hour / 2)
        #expect(r.hoursRemaining == -1.5)
        #expect(r.isOverdue)
        #expect(r.status == .breached)
        #expect(r.dueAt == t("2026-03-23T16:00:00Z"))
        #expect(threshold(r, .breach, 100)?.crossed == true)
        #expect(threshold(r, .escalation, 3600)?.crossed == true)
        #expect(threshold(r, .escalation, 3600)?.at == t("2026-03-23T17:00:00Z"))
    }

    // Created Monday 2026-03-30 09:00 Bogota (14:00Z), 8 h. Without a pause: 09–17 -> due Monday
    // 17:00 local (22:00Z). With EN_ESPERA 10:00–12:00 local: 1 h + 6 h (12–18) = 7 h on Monday,
    // the 8th hour Tuesday 08–09: due Tuesday 09:00 local (14:00Z), two working hours later.
    @Test func aTwoHourPauseMovesTheDueTimeByTwoWorkingHours() {
        let plain = evaluate(bogotaOffice, created: "2026-03-30T14:00:00Z", target: 8, now: "2026-03-30T14:00:00Z")
        #expect(plain.dueAt == t("2026-03-30T22:00:00Z"))

        let changes = [
            ("ABIERTO", "2026-03-30T14:00:00Z"), ("EN_ESPERA", "2026-03-30T15:00:00Z"),
            ("EN_PROCESO", "2026-03-30T17:00:00Z"),
        ]
        // Monday 15:00 local (20:00Z): 09–10 and 12–15 counted = 4 h.
        let r = evaluate(
            bogotaOffice, created: "2026-03-30T14:00:00Z", updated: "2026-03-30T17:00:00Z", current: "EN_PROCESO",
            changes: changes, target: 8, now: "2026-03-30T20:00:00Z")
        #expect(r.elapsedMicros == 4 * hour)
        #expect(r.hoursRemaining == 4)
        #expect(r.state == .running)
        #expect(r.status == .on_track)  // 4 h < 75 % of 8 h = 6 h
        #expect(r.dueAt == t("2026-03-31T14:00:00Z"))
        // 50 % = 4 h was reached just now, 15:00 local.
        #expect(threshold(r, .warning, 50)?.at == t("2026-03-30T20:00:00Z"))
        #expect(threshold(r, .warning, 50)?.crossed == true)
    }

    // The same ticket during its pause, Monday 11:00 local (16:00Z): 1 h counted, paused; dueAt as
    // if the clock ran from now on: 11–18 brings the 7 missing hours -> Monday 18:00 local (23:00Z).
    @Test func aPausedTicketIsPausedAndItsDueTimeAssumesItResumesNow() {
        let changes = [("ABIERTO", "2026-03-30T14:00:00Z"), ("EN_ESPERA", "2026-03-30T15:00:00Z")]
        let r = evaluate(
            bogotaOffice, created: "2026-03-30T14:00:00Z", updated: "2026-03-30T15:00:00Z", current: "EN_ESPERA",
            changes: changes, target: 8, now: "2026-03-30T16:00:00Z")
        #expect(r.elapsedMicros == hour)
        #expect(r.state == .paused)
        #expect(r.status == .paused)
        #expect(r.dueAt == t("2026-03-30T23:00:00Z"))
        #expect(r.stoppedSince == nil)
    }

    // Bogota holiday Monday 2026-03-23: the Friday 17:00 ticket of 4 h gets Friday 1 h, nothing on
    // the weekend nor on Monday, then Tuesday 08–11: due Tuesday 11:00 local (16:00Z).
    @Test func aHolidayIsSkipped() {
        let withHoliday = calendar(
            "America/Bogota", [office, office, office, office, office, [], []], holidays: ["2026-03-23"])
        let r = evaluate(withHoliday, created: "2026-03-20T22:00:00Z", target: 4, now: "2026-03-23T17:00:00Z")
        #expect(r.elapsedMicros == hour)  // Monday noon: the holiday counted nothing
        #expect(r.hoursRemaining == 3)
        #expect(r.dueAt == t("2026-03-24T16:00:00Z"))
    }

    // Madrid, Sunday 2026-03-29, all hours of every day working: local midnight to midnight is
    // 2026-03-28T23:00Z -> 2026-03-29T22:00Z, 23 real hours. A 24 h target is due 1 h later.
    @Test func springForwardDayHasTwentyThreeHours() {
        let allDay = ["00:00-24:00"]
        let madridAllHours = calendar("Europe/Madrid", Array(repeating: allDay, count: 7))
        let p = ClockPolicy(pauseStatuses: ["EN_ESPERA"], stopStatuses: ["CERRADO"], warnAt: [90], escalateAfter: [])
        let r = evaluate(
            madridAllHours, created: "2026-03-28T23:00:00Z", target: 24, now: "2026-03-29T22:00:00Z", policy: p)
        #expect(r.elapsedMicros == 23 * hour)
        #expect(r.hoursRemaining == 1)
        #expect(r.status == .at_risk)  // 23 h >= 90 % of 24 h = 21.6 h
        #expect(r.dueAt == t("2026-03-29T23:00:00Z"))  // Monday 01:00 CEST
        // 24x7 in UTC agrees: the same 23 real hours.
        let always = evaluate(
            .always, created: "2026-03-28T23:00:00Z", target: 24, now: "2026-03-29T22:00:00Z", policy: p)
        #expect(always.elapsedMicros == 23 * hour)
    }

    // Madrid, a Sunday-only range 01:00–04:00. On 2026-03-29 the wall clock shows 01:00–02:00 CET
    // (00:00Z–01:00Z) and 03:00–04:00 CEST (01:00Z–02:00Z): 2 real hours. A 3 h ticket created the
    // Saturday before gets its third hour the next Sunday, 2026-04-05 01:00–02:00 CEST
    // (2026-04-04T23:00Z–2026-04-05T00:00Z): due 2026-04-05T00:00Z. 50 % = 1.5 h: 01:30Z.
    @Test func aRangeAcrossTheSpringForwardGapCountsTwoHours() {
        let sundayNight = calendar("Europe/Madrid", [[], [], [], [], [], [], ["01:00-04:00"]])
        let r = evaluate(sundayNight, created: "2026-03-28T11:00:00Z", target: 3, now: "2026-03-29T10:00:00Z")
        #expect(r.elapsedMicros == 2 * hour)
        #expect(r.hoursRemaining == 1)
        #expect(r.dueAt == t("2026-04-05T00:00:00Z"))
        #expect(threshold(r, .warning, 50)?.at == t("2026-03-29T01:30:00Z"))
        #expect(r.status == .on_track)  // 2 h < 75 % of 3 h = 2.25 h
    }

    // Madrid, Sunday 2026-10-25, range 01:00–04:00: 01:00–03:00 CEST (2026-10-24T23:00Z–01:00Z),
    // then 02:00–04:00 CET (01:00Z–03:00Z) - 02:00–03:00 is lived twice - 4 real hours.
    // Target 3 h: due 02:00Z (03:00 CET, on the second pass); 50 % = 1.5 h at 00:30Z (02:30 CEST,
    // the first pass); escalation +1 h = 4 h reached at 03:00Z.
    @Test func aRangeAcrossTheFallBackCountsFourHours() {
        let sundayNight = calendar("Europe/Madrid", [[], [], [], [], [], [], ["01:00-04:00"]])
        let r = evaluate(sundayNight, created: "2026-10-24T10:00:00Z", target: 3, now: "2026-10-25T11:00:00Z")
        #expect(r.elapsedMicros == 4 * hour)
        #expect(r.hoursRemaining == -1)
        #expect(r.isOverdue)
        #expect(r.status == .breached)
        #expect(r.dueAt == t("2026-10-25T02:00:00Z"))
        #expect(threshold(r, .warning, 50)?.at == t("2026-10-25T00:30:00Z"))
        #expect(threshold(r, .escalation, 3600)?.crossed == true)
        #expect(threshold(r, .escalation, 3600)?.at == t("2026-10-25T03:00:00Z"))
        // The whole local day, 00:00–24:00, lasts 25 real hours: 2026-10-24T22:00Z -> 2026-10-25T23:00Z.
        let allHours = calendar("Europe/Madrid", Array(repeating: ["00:00-24:00"], count: 7))
        let day = evaluate(allHours, created: "2026-10-24T22:00:00Z", target: 30, now: "2026-10-25T23:00:00Z")
        #expect(day.elapsedMicros == 25 * hour)
    }

    // 24x7, 1.5 h from 10:00Z: due 11:30Z. At 11:00Z: 1 h counted, 0.5 h left. 50 % = 0.75 h at
    // 10:45Z (crossed); 75 % = 1.125 h at 11:07:30Z (not yet): on_track (1 h < 1.125 h).
    @Test func fractionalTargetOnAlways() {
        let r = evaluate(.always, created: "2026-03-10T10:00:00Z", target: 1.5, now: "2026-03-10T11:00:00Z")
        #expect(r.targetMicros == 5_400_000_000)
        #expect(r.elapsedMicros == hour)
        #expect(r.hoursRemaining == 0.5)
        #expect(r.dueAt == t("2026-03-10T11:30:00Z"))
        #expect(threshold(r, .warning, 50)?.elapsedMicros == 2_700_000_000)
        #expect(threshold(r, .warning, 50)?.at == t("2026-03-10T10:45:00Z"))
        #expect(threshold(r, .warning, 50)?.crossed == true)
        #expect(threshold(r, .warning, 75)?.elapsedMicros == 4_050_000_000)
        #expect(threshold(r, .warning, 75)?.at == t("2026-03-10T11:07:30Z"))
        #expect(threshold(r, .warning, 75)?.crossed == false)
        #expect(r.status == .on_track)
        // 1/60 h = 1 minute exactly; 0.1 h = 6 minutes exactly.
        #expect(
            evaluate(.always, created: "2026-03-10T10:00:00Z", target: 1.0 / 60, now: "2026-03-10T10:00:00Z").dueAt
                == t("2026-03-10T10:01:00Z"))
        #expect(
            evaluate(.always, created: "2026-03-10T10:00:00Z", target: 0.1, now: "2026-03-10T10:00:00Z").dueAt
                == t("2026-03-10T10:06:00Z"))
    }

    // 24x7, created 10:00Z, RESUELTO at 12:00Z, now 15:00Z, 4 h: 2 h counted, stopped: met.
    // dueAt as if the clock ran from now: 15:00Z + 2 h = 17:00Z.
    @Test func aStoppedTicketWithinItsTargetIsMet() {
        let r = evaluate(
            .always, created: "2026-03-10T10:00:00Z", updated: "2026-03-10T12:00:00Z", current: "RESUELTO",
            changes: [("ABIERTO", "2026-03-10T10:00:00Z"), ("RESUELTO", "2026-03-10T12:00:00Z")], target: 4,
            now: "2026-03-10T15:00:00Z")
        #expect(r.elapsedMicros == 2 * hour)
        #expect(r.hoursRemaining == 2)
        #expect(r.state == .stopped)
        #expect(r.status == .met)
        #expect(r.stoppedSince == t("2026-03-10T12:00:00Z"))
        #expect(r.dueAt == t("2026-03-10T17:00:00Z"))
        // Stopped after 2 h on a 1 h target: breached, not met; due (past) 11:00Z.
        let late = evaluate(
            .always, created: "2026-03-10T10:00:00Z", updated: "2026-03-10T12:00:00Z", current: "RESUELTO",
            changes: [("ABIERTO", "2026-03-10T10:00:00Z"), ("RESUELTO", "2026-03-10T12:00:00Z")], target: 1,
            now: "2026-03-10T15:00:00Z")
        #expect(late.status == .breached)
        #expect(late.state == .stopped)
        #expect(late.dueAt == t("2026-03-10T11:00:00Z"))
        // Stopped with exactly the target used: met (horas_restantes = 0 is not overdue).
        let exact = evaluate(
            .always, created: "2026-03-10T10:00:00Z", updated: "2026-03-10T12:00:00Z", current: "CERRADO",
            changes: [("CERRADO", "2026-03-10T12:00:00Z")], target: 2, now: "2026-03-10T15:00:00Z")
        #expect(exact.hoursRemaining == 0)
        #expect(!exact.isOverdue)
        #expect(exact.status == .met)
        #expect(exact.dueAt == t("2026-03-10T12:00:00Z"))
        #expect(threshold(exact, .breach, 100)?.crossed == false)
    }

    // Reopened at 16:00Z: the clock resumes from the 2 h it had: at 17:00Z 3 h counted; due 18:00Z.
    @Test func aReopenedTicketResumesWhereItStopped() {
        let r = evaluate(
            .always, created: "2026-03-10T10:00:00Z", updated: "2026-03-10T16:00:00Z", current: "ABIERTO",
            changes: [
                ("ABIERTO", "2026-03-10T10:00:00Z"), ("RESUELTO", "2026-03-10T12:00:00Z"),
                ("ABIERTO", "2026-03-10T16:00:00Z"),
            ],
            target: 4, now: "2026-03-10T17:00:00Z")
        #expect(r.elapsedMicros == 3 * hour)
        #expect(r.state == .running)
        #expect(r.status == .at_risk)  // 3 h >= 75 % of 4 h
        #expect(r.dueAt == t("2026-03-10T18:00:00Z"))
        #expect(r.stoppedSince == nil)
        // 50 % = 2 h was reached at 12:00Z, at the end of the first stretch, not when reopened.
        #expect(threshold(r, .warning, 50)?.at == t("2026-03-10T12:00:00Z"))
    }

    // The same history with another target (the priority changed): elapsed is kept. At 2 h the
    // deadline was reached at 12:00Z (the earliest instant elapsed was 2 h): breached. At 8 h:
    // 5 h left from now, due 22:00Z.
    @Test func aPriorityChangeKeepsElapsedAndRetargets() {
        let changes = [
            ("ABIERTO", "2026-03-10T10:00:00Z"), ("RESUELTO", "2026-03-10T12:00:00Z"),
            ("ABIERTO", "2026-03-10T16:00:00Z"),
        ]
        let short = evaluate(
            .always, created: "2026-03-10T10:00:00Z", updated: "2026-03-10T16:00:00Z", changes: changes, target: 2,
            now: "2026-03-10T17:00:00Z")
        let long = evaluate(
            .always, created: "2026-03-10T10:00:00Z", updated: "2026-03-10T16:00:00Z", changes: changes, target: 8,
            now: "2026-03-10T17:00:00Z")
        #expect(short.elapsedMicros == 3 * hour)
        #expect(long.elapsedMicros == 3 * hour)
        #expect(short.slaHours == 2)
        #expect(long.slaHours == 8)
        #expect(short.hoursRemaining == -1)
        #expect(short.status == .breached)
        #expect(short.dueAt == t("2026-03-10T12:00:00Z"))
        #expect(long.hoursRemaining == 5)
        #expect(long.status == .on_track)
        #expect(long.dueAt == t("2026-03-10T22:00:00Z"))
    }

    // A calendar without any working time: nothing counts, no level is ever reached, no crash.
    @Test func aCalendarWithoutWorkingTimeHasNoDueTime() {
        let never = calendar("America/Bogota", Array(repeating: [], count: 7))
        let r = evaluate(never, created: "2026-03-20T22:00:00Z", target: 4, now: "2026-03-25T22:00:00Z")
        #expect(r.elapsedMicros == 0)
        #expect(r.hoursRemaining == 4)
        #expect(r.status == .on_track)
        #expect(r.dueAt == nil)
        #expect(r.thresholds.count == 4)  // 50 %, 75 %, breach, +1 h
        #expect(r.thresholds.allSatisfy { $0.at == nil && !$0.crossed })
        let timeline = WorkingTimeline(calendar: never)
        #expect(timeline.workingTime(from: t("2026-01-01T00:00:00Z"), to: t("2027-01-01T00:00:00Z")) == 0)
        #expect(timeline.instant(after: t("2026-01-01T00:00:00Z"), adding: 1) == nil)
    }

    // How the history is read.
    @Test func historyRulesOrderingDuplicatesAndTheCurrentStatus() {
        let base = "2026-03-10T10:00:00Z"
        // Out of order, one change before createdAt: EN_ESPERA@09, ABIERTO@11, EN_PROCESO@12 ->
        // paused 10–11, running 11–13: 2 h at 13:00Z.
        let a = evaluate(
            .always, created: base, updated: "2026-03-10T12:00:00Z", current: "EN_PROCESO",
            changes: [
                ("EN_PROCESO", "2026-03-10T12:00:00Z"), ("EN_ESPERA", "2026-03-10T09:00:00Z"),
                ("ABIERTO", "2026-03-10T11:00:00Z"),
            ],
            target: 4, now: "2026-03-10T13:00:00Z")
        #expect(a.elapsedMicros == 2 * hour)
        // Two changes at one instant are ordered by status name: ABIERTO then EN_ESPERA, so
        // EN_ESPERA holds from 11:00Z: running 10–11 only.
        let b = evaluate(
            .always, created: base, updated: "2026-03-10T11:00:00Z", current: "EN_ESPERA",
            changes: [("EN_ESPERA", "2026-03-10T11:00:00Z"), ("ABIERTO", "2026-03-10T11:00:00Z")], target: 4,
            now: "2026-03-10T13:00:00Z")
        #expect(b.elapsedMicros == hour)
        #expect(b.status == .paused)
        // The current status (ABIERTO) disagrees with the last change (EN_ESPERA@11): it holds from
        // max(11:00, updatedAt 12:00): running 10–11, paused 11–12, running 12–13 = 2 h.
        let c = evaluate(
            .always, created: base, updated: "2026-03-10T12:00:00Z", current: "ABIERTO",
            changes: [("EN_ESPERA", "2026-03-10T11:00:00Z")], target: 4, now: "2026-03-10T13:00:00Z")
        #expect(c.elapsedMicros == 2 * hour)
        #expect(c.state == .running)
        // No changes: the current status (EN_ESPERA) holds from updatedAt (12:00Z), running before.
        let d = evaluate(
            .always, created: base, updated: "2026-03-10T12:00:00Z", current: "EN_ESPERA", target: 4,
            now: "2026-03-10T13:00:00Z")
        #expect(d.elapsedMicros == 2 * hour)
        #expect(d.status == .paused)
        #expect(d.dueAt == t("2026-03-10T15:00:00Z"))  // 2 h left, from now
        // Created after now: nothing counted yet; due 1 h after createdAt.
        let e = evaluate(.always, created: base, target: 1, now: "2026-03-10T08:00:00Z")
        #expect(e.elapsedMicros == 0)
        #expect(e.dueAt == t("2026-03-10T11:00:00Z"))
        #expect(e.status == .on_track)
    }

    // stoppedSince is the instant the clock stopped. Two CERRADO rows in a row (the source
    // repeating a status) do not restart it: the ticket has been CERRADO since the first row.
    @Test func stoppedSinceIgnoresARepeatedStopRow() {
        let r = evaluate(
            .always, created: "2026-03-10T10:00:00Z", updated: "2026-03-10T14:00:00Z", current: "CERRADO",
            changes: [("CERRADO", "2026-03-10T12:00:00Z"), ("CERRADO", "2026-03-10T14:00:00Z")], target: 4,
            now: "2026-03-10T15:00:00Z")
        #expect(r.state == .stopped)
        #expect(r.elapsedMicros == 2 * hour)
        #expect(r.stoppedSince == t("2026-03-10T12:00:00Z"))
    }

    // Resolved then closed: the clock has been stopped since RESUELTO (12:00Z); moving from one stop
    // status to another does not restart the stop. (This is the reading the reference takes; see
    // ReferenceClock.swift.)
    @Test func stoppedSinceSpansConsecutiveStopStatuses() {
        let r = evaluate(
            .always, created: "2026-03-10T10:00:00Z", updated: "2026-03-10T14:00:00Z", current: "CERRADO",
            changes: [("RESUELTO", "2026-03-10T12:00:00Z"), ("CERRADO", "2026-03-10T14:00:00Z")], target: 4,
            now: "2026-03-10T15:00:00Z")
        #expect(r.state == .stopped)
        #expect(r.status == .met)
        #expect(r.stoppedSince == t("2026-03-10T12:00:00Z"))
    }
}
