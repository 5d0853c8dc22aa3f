import Foundation
import SlawatchCore
import Testing

// `EventDetector.mayHaveUnrecorded`: an incremental cycle sends to the event store only the
// tickets that show a crossing their stored clock had not. It must never leave out a ticket with a
// new event id, and should leave out the others.

@Suite struct EarlierReadingTests {
    static let rules = #"""
        {
          calendars: {
            "24x7": { type: "always" },
            oficina: { timezone: "America/Bogota", week: { mon: ["08:00-18:00"], tue: ["08:00-18:00"], wed: ["08:00-18:00"], thu: ["08:00-18:00"], fri: ["08:00-13:00", "14:00-18:00"] } },
          },
          policies: [
            { name: "criticos", when: { column: "area", op: "EQ", operand: "Redes" }, calendar: "24x7",
              targets: { CRITICA: 2, ALTA: 4 }, pause_statuses: ["EN_ESPERA"], stop_statuses: ["RESUELTO", "CERRADO"],
              warn_at: [50, 75, 90], escalate_after: ["1h", "4h"] },
            { name: "oficina", calendar: "oficina", targets: { CRITICA: 2, ALTA: 4 },
              pause_statuses: ["EN_ESPERA"], stop_statuses: ["RESUELTO"], warn_at: [80] },
          ],
        }
        """#

    /// The property, over random tickets seen twice: the second evaluation may add status changes
    /// after the first, change priority or area; the function is true exactly when the second
    /// evaluation shows an event id the first did not.
    @Test func trueExactlyWhenALaterReadingShowsAnEventIdTheEarlierDidNot() throws {
        let rules = try RulesLoader.load(
            files: [(path: "rules/sla.json", contents: Data(Self.rules.utf8))], environment: [:])
        let evaluator = SLAEvaluator(rules: rules)
        var random = ReferenceRandom(seed: 0x5EED_2026)
        let start = try #require(Instant(iso8601: "2026-03-20T00:00:00Z")).microseconds
        // Instants on a 6-minute grid, so that readings land exactly on levels (a breach is
        // crossed only past the target, the other levels on reaching theirs).
        let grid: Int64 = 6 * 60_000_000
        let statuses = ["ABIERTO", "EN_PROCESO", "EN_ESPERA", "RESUELTO", "CERRADO"]
        var newIDs = 0
        var nothingNew = 0
        for n in 0..<20_000 {
            let created = start + random.int(0...480) * grid
            let first = created + random.int(-10...400) * grid
            let second = first + random.int(0...300) * grid
            var changes: [StatusChange] = []
            var at = created
            for _ in 0..<random.int(0...4) {
                at += random.int(0...60) * grid
                changes.append(StatusChange(status: statuses[random.int(0...4)], at: Instant(microseconds: at)))
            }
            let earlyChanges = changes.filter { $0.at.microseconds <= first }
            var laterChanges = earlyChanges
            var t = first
            for _ in 0..<random.int(0...3) {
                t += random.int(0...50) * grid
                laterChanges.append(
                    StatusChange(status: statuses[random.int(0...4)], at: Instant(microseconds: min(t, second))))
            }
            let priority = ["CRITICA", "ALTA"][random.int(0...1)]
            let area = ["Redes", "Soporte"][random.int(0...1)]
            func ticket(_ changes: [StatusChange], priority: String, area: String, updated: Int64) -> SourceTicket {
                SourceTicket(
                    ticketID: "t\(n)", code: "TKT-\(n)", title: "", category: nil, requesterEmail: nil,
                    status: changes.last?.status ?? "ABIERTO", priority: priority, area: area, areaManagerEmail: nil,
                    createdAt: Instant(microseconds: created), updatedAt: Instant(microseconds: updated))
            }
            guard
                case .clock(let before) = evaluator.evaluate(
                    ticket(
                        earlyChanges, priority: priority, area: area,
                        updated: max(created, earlyChanges.last?.at.microseconds ?? created)),
                    changes: earlyChanges, now: Instant(microseconds: first))
            else {
                Issue.record("no clock")
                continue
            }
            let laterPriority = random.int(0...9) == 0 ? (priority == "CRITICA" ? "ALTA" : "CRITICA") : priority
            let laterArea = random.int(0...19) == 0 ? (area == "Redes" ? "Soporte" : "Redes") : area
            guard
                case .clock(let after) = evaluator.evaluate(
                    ticket(
                        laterChanges, priority: laterPriority, area: laterArea,
                        updated: max(created, laterChanges.last?.at.microseconds ?? created)),
                    changes: laterChanges, now: Instant(microseconds: second))
            else {
                Issue.record("no clock")
                continue
            }
            let earlierIDs = Set(EventDetector.crossings(of: before).map(\.id))
            let expected = !Set(EventDetector.crossings(of: after).map(\.id)).isSubset(of: earlierIDs)
            let earlier = EventDetector.EarlierReading(
                policy: before.policy.name, targetMicros: before.reading.targetMicros,
                elapsedMicros: before.reading.elapsedMicros,
                stopped: before.reading.state == .stopped)
            let got = EventDetector.mayHaveUnrecorded(after, earlier: earlier)
            #expect(got == expected, "ticket \(n): earlier \(before.reading), later \(after.reading)")
            if expected { newIDs += 1 } else { nothingNew += 1 }
            if got != expected { break }
        }
        // Both answers occur often enough for the property to mean something.
        #expect(newIDs > 2_000 && nothingNew > 2_000, "\(newIDs) with new ids, \(nothingNew) without")
    }

    @Test func withoutAnEarlierReadingAnyCrossingCounts() throws {
        let rules = try RulesLoader.load(
            files: [(path: "rules/sla.json", contents: Data(Self.rules.utf8))], environment: [:])
        let evaluator = SLAEvaluator(rules: rules)
        let created = try #require(Instant(iso8601: "2026-03-24T10:00:00Z"))
        let ticket = SourceTicket(
            ticketID: "x", code: "TKT-1", title: "", category: nil, requesterEmail: nil, status: "ABIERTO",
            priority: "CRITICA",
            area: "Redes", areaManagerEmail: nil, createdAt: created, updatedAt: created)
        guard case .clock(let fresh) = evaluator.evaluate(ticket, changes: [], now: created + 30 * 60_000_000),
            case .clock(let late) = evaluator.evaluate(ticket, changes: [], now: created + 90 * 60_000_000)
        else {
            Issue.record("no clock")
            return
        }
        #expect(!EventDetector.mayHaveUnrecorded(fresh, earlier: nil))
        #expect(EventDetector.mayHaveUnrecorded(late, earlier: nil))
    }
}
