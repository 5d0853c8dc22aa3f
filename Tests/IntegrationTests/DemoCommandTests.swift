import Foundation
import PostgresClient
import SlawatchDemo
import Testing

/// `slawatch demo` and `slawatch postgres`, the commands of SlawatchDemo that the executable registers.
@Suite struct DemoCommandTests {
    @Test func demoLoadsTheHelpDeskRunsACycleAndPrintsTheDashboard() async throws {
        let db = try TestDatabase()
        let base = ["--database", db.url, "--rules", repositoryRules, "--now", "2026-03-24T15:00:00Z"]
        let first = await slawatch(["demo", "--size", "30"] + base)
        #expect(first.status == 0, "\(first.stderr)")
        // --database: no throwaway server.
        #expect(!first.stdout.contains("PostgreSQL (throwaway)"))
        #expect(first.stdout.contains("loaded the reference help desk with 30 sample tickets\n"))
        #expect(first.stdout.contains("one worker cycle: "))
        #expect(first.stdout.contains("TKT-2026-000"))
        let second = await slawatch(["demo", "--size", "30", "--format", "json"] + base)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("the reference help desk already holds 30 tickets; keeping them\n"))
        #expect(second.stdout.contains("\"ticket_uuid\""))
    }

    @Test func postgresStartsAClusterThatAnswersReusesItAndStopsIt() async throws {
        let parent = NSTemporaryDirectory() + "slawatch-pg-" + UUID().uuidString.prefix(8)
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let directory = parent + "/data"
        let started = await slawatch(["postgres", "start", "--dir", directory, "--setting", "work_mem=7MB"])
        defer { try? ThrowawayPostgres.stop(directory: directory) }
        #expect(started.status == 0, "\(started.stderr)")
        let url = started.stdout.trimmingCharacters(in: .newlines)
        #expect(url.hasPrefix("postgresql://slawatch@127.0.0.1:") && url.hasSuffix("/postgres"), "\(url)")
        #expect(started.stdout.filter { $0 == "\n" }.count == 1)
        do {
            let connection = try PostgresConnection(url: url)
            #expect(try connection.query("SHOW work_mem").rows[0].string(0) == "7MB")
            #expect(try connection.query("SHOW max_connections").rows[0].string(0) == "500")
            #expect(try connection.query("SHOW listen_addresses").rows[0].string(0) == "127.0.0.1")
        }
        let again = await slawatch(["postgres", "start", "--dir", directory])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout == started.stdout)

        let stopped = await slawatch(["postgres", "stop", "--dir", directory])
        #expect(stopped.status == 0, "\(stopped.stderr)")
        #expect(stopped.stdout.isEmpty)
        #expect(throws: PostgresError.self) { _ = try PostgresConnection(url: url) }
        let stoppedAgain = await slawatch(["postgres", "stop", "--dir", directory])
        #expect(stoppedAgain.status == 0, "\(stoppedAgain.stderr)")
    }

    @Test func postgresUsageErrorsExitTwo() async throws {
        let directory = NSTemporaryDirectory() + "slawatch-pg-never-" + UUID().uuidString.prefix(8)
        for arguments in [
            ["postgres"], ["postgres", "restart", "--dir", directory], ["postgres", "start"],
            ["postgres", "start", "--dir", directory, "--setting", "port=5432"],
            ["postgres", "start", "--dir", directory, "--setting", "shared_buffers"],
            ["postgres", "start", "--dir", directory, "--setting", "bad name=1"],
        ] {
            let result = await slawatch(arguments)
            #expect(result.status == 2, "\(arguments): \(result.stderr)")
            #expect(result.stderr.hasPrefix("slawatch: "))
        }
        #expect(!FileManager.default.fileExists(atPath: directory))
        let usage = await slawatch([])
        #expect(usage.stderr.contains("|report|serve|token|demo> [options]"))
        #expect(usage.stderr.contains("slawatch postgres start|stop --dir DIR"))
        #expect(usage.stderr.contains("for scripts and tests"))
    }
}
