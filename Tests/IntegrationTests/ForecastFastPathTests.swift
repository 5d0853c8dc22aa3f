import Foundation
import SlawatchCore
import Testing

// `slawatch forecast` from the worker's stored clocks against `--full-read` (README, "What-if and
// forecast"): after worker cycles, with tickets changed since (a pause, a priority, a stop, new
// tickets), the output is the same for several instants and horizons; where the stored clocks
// cannot be trusted, the command reads everything.

@Suite struct ForecastFastPathTests {
    static let rulesText = WorkerRules.text(
        channels: #"{ consola: { type: "log" } }"#, routes: WorkerRules.allEvents(to: ["consola"]))

    /// `forecast --format json` at `now` (hours after t0) within `within`, by the stored clocks
    /// (or its fallback) and by the full read.
    static func both(
        _ rules: TemporaryRules, _ desk: WorkerHelpDesk, hours: Double, within: String
    ) async throws -> (fast: String, full: String) {
        let base = [
            "forecast", "--format", "json", "--within", within, "--rules", rules.path, "--database", desk.url,
            "--now", WorkerClock.at(hours: hours).iso8601,
        ]
        let fast = await slawatch(base)
        try #require(fast.status == 0, "\(fast.stderr)")
        let full = await slawatch(base + ["--full-read"])
        try #require(full.status == 0, "\(full.stderr)")
        return (fast.stdout, full.stdout)
    }

    static func codes(_ json: String) throws -> [String] {
        try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
            .compactMap { $0["code"] as? String }
    }

    @Test func theStoredClocksGiveTheFullReadsOutput() async throws {
        let desk = try WorkerHelpDesk()
        let rules = try TemporaryRules(["sla.json": Self.rulesText])
        // Before any worker: no slawatch schema at all, the full read.
        let never = try await Self.both(rules, desk, hours: 3, within: "8h")
        #expect(never.fast == never.full)

        let a = try desk.addTicket(priority: "CRITICA")  // due t0+4h
        let b = try desk.addTicket(priority: "ALTA")  // due t0+8h
        _ = try desk.addTicket(priority: "MEDIA")  // due t0+24h
        let d = try desk.addTicket(priority: "CRITICA")  // paused after the cycles
        let e = try desk.addTicket(priority: "ALTA")  // made CRITICA after the cycles: due t0+4h
        let g = try desk.addTicket(priority: "MEDIA", created: WorkerClock.at(hours: -20))  // due t0+4h, resolved
        _ = try desk.addTicket(priority: "CRITICA", created: WorkerClock.at(hours: 1))  // due t0+5h
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 1.5))
        try await requireRunOnce(rules, desk, at: WorkerClock.at(hours: 2))

        try desk.setStatus(of: d.code, to: "EN_ESPERA", at: WorkerClock.at(hours: 2.5))
        try desk.setPriority(of: e.code, to: "CRITICA", at: WorkerClock.at(hours: 2.5))
        try desk.setStatus(of: g.code, to: "RESUELTO", at: WorkerClock.at(hours: 2.5))
        let h = try desk.addTicket(priority: "CRITICA", created: WorkerClock.at(hours: 2.5))  // due t0+6.5h

        for (hours, within) in [(3.0, "1h"), (3.0, "8h"), (2.5, "3h"), (3.5, "90m"), (5.0, "30m"), (3.0, "2d")] {
            let (fast, full) = try await Self.both(rules, desk, hours: hours, within: within)
            #expect(fast == full, "at t0+\(hours)h within \(within)")
        }
        // Due exactly at the horizon (t0+4h) is listed; the paused and the resolved ones are not.
        let atHorizon = try await Self.both(rules, desk, hours: 3, within: "1h")
        #expect(try Self.codes(atHorizon.fast) == [a.code, e.code])
        let wide = try await Self.both(rules, desk, hours: 3, within: "8h")
        #expect(try Self.codes(wide.fast).contains(h.code))
        #expect(try Self.codes(wide.fast).contains(b.code))
        #expect(try !Self.codes(wide.fast).contains(d.code))
        #expect(try !Self.codes(wide.fast).contains(g.code))

        // The fast path reads only what the stored clocks point at: without them it misses a
        // ticket (so the comparisons above went through it) ...
        let saved = "CREATE TABLE public.saved_clocks AS SELECT * FROM slawatch.clocks"
        try desk.connection.execute(saved + "; DELETE FROM slawatch.clocks")
        let blind = try await Self.both(rules, desk, hours: 3, within: "1h")
        #expect(try Self.codes(blind.fast) == [e.code])
        #expect(blind.full == atHorizon.full)

        // ... while rules other than the worker's, or an instant before its last cycle, read
        // everything.
        let other = try TemporaryRules([
            "sla.json": Self.rulesText.replacingOccurrences(of: "CRITICA: 4", with: "CRITICA: 5")
        ])
        let changedRules = try await Self.both(other, desk, hours: 3, within: "2h")
        #expect(changedRules.fast == changedRules.full)
        #expect(try Self.codes(changedRules.fast).contains(a.code))
        let before = try await Self.both(rules, desk, hours: 1.75, within: "4h")
        #expect(before.fast == before.full)
        #expect(try Self.codes(before.fast).contains(a.code))
        try desk.connection.execute("INSERT INTO slawatch.clocks SELECT * FROM public.saved_clocks")
        let restored = try await Self.both(rules, desk, hours: 3, within: "1h")
        #expect(restored.fast == restored.full)
    }

    @Test func officeHoursCalendarsGiveTheFullReadsOutputToo() async throws {
        let db = try TestDatabase()
        try KnownHelpDesk.load(into: db)
        let rules = try TemporaryRules(["sla.json": KnownHelpDesk.rules])
        let cycle = await slawatch([
            "run", "--once", "--rules", rules.path, "--database", db.url, "--now", "2026-03-24T14:00:00Z",
        ])
        try #require(cycle.status == 0, "\(cycle.stderr)")
        for within in ["1h", "5h", "8h", "1d", "7d"] {
            let base = [
                "forecast", "--format", "json", "--within", within, "--rules", rules.path, "--database", db.url,
                "--now", KnownHelpDesk.now,
            ]
            let fast = await slawatch(base)
            let full = await slawatch(base + ["--full-read"])
            #expect(fast.status == 0 && full.status == 0, "\(fast.stderr) \(full.stderr)")
            #expect(fast.stdout == full.stdout, "within \(within)")
        }
    }

    @Test func afterMigrateAloneTheFullReadIsUsed() async throws {
        let desk = try WorkerHelpDesk()
        let rules = try TemporaryRules(["sla.json": Self.rulesText])
        let a = try desk.addTicket(priority: "CRITICA")
        let migrate = await slawatch(["migrate", "--rules", rules.path, "--database", desk.url])
        try #require(migrate.status == 0, "\(migrate.stderr)")
        let result = try await Self.both(rules, desk, hours: 3, within: "1h")
        #expect(result.fast == result.full)
        #expect(try Self.codes(result.fast) == [a.code])
    }
}
