import Foundation
import SlawatchApp
import Testing

/// `slawatch --help`, `slawatch COMMAND --help`, `--version`, and the suggestions of usage errors: the
/// command line explains itself (README, "Help and version"). No database is needed.
@Suite struct CommandLineHelpTests {
    static let commands = [
        "migrate", "check", "run", "dashboard", "ticket", "events", "deliveries", "report", "serve", "token", "demo",
        "postgres",
    ]

    /// The options a command accepts, as its usage error for an unknown option lists them.
    static func accepted(_ command: String) async -> [String] {
        let result = await slawatch([command, "--zzz-not-an-option"])
        guard let range = result.stderr.range(of: "it accepts ") else { return [] }
        let list = result.stderr[range.upperBound...].prefix { $0 != "(" }
        return list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    }

    @Test func helpListsEveryCommandOnOneLine() async {
        for arguments in [["--help"], ["-h"], ["help"]] {
            let result = await slawatch(arguments)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.isEmpty)
            let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            for command in Self.commands {
                let line = lines.first { $0.hasPrefix("  \(command) ") }
                #expect(line != nil, "\(command) is not listed")
                #expect((line?.count ?? 0) <= 100, "\(line ?? "")")
                // One line each: the next line is another command, a blank line, or a heading.
                if let line, let index = lines.firstIndex(of: line), index + 1 < lines.count {
                    let next = lines[index + 1]
                    #expect(next.isEmpty || !next.hasPrefix("    "), "\(command)'s summary takes more than one line")
                }
            }
            #expect(result.stdout.contains("--database URL"))
            #expect(result.stdout.contains("slawatch COMMAND --help"))
        }
    }

    @Test func everyCommandHasHelpWithItsOptionsDefaultsAndAnExample() async {
        for command in Self.commands {
            let result = await slawatch([command, "--help"])
            #expect(result.status == 0, "\(command): \(result.stderr)")
            #expect(result.stdout.hasPrefix("usage: slawatch \(command)"), "\(result.stdout)")
            #expect(result.stdout.contains("\nexample"), "\(command) has no example")
            #expect(result.stdout.contains("\n  slawatch \(command)"), "\(command)'s example does not run it")
            // Every option the command accepts is in its help, and nothing else.
            let options = result.stdout.split(separator: "\n").compactMap { line -> String? in
                guard line.hasPrefix("  --") else { return nil }
                return String(line.dropFirst(2).prefix { $0 != " " })
            }
            #expect(options.sorted() == (await Self.accepted(command)).sorted(), "\(command)")
            // The same from anywhere on the line, and as `help COMMAND`.
            #expect((await slawatch([command, "--now", "x", "-h"])).stdout == result.stdout)
            #expect((await slawatch(["help", command])).stdout == result.stdout)
        }
        let run = await slawatch(["run", "--help"])
        #expect(run.stdout.contains("--interval DURATION"))
        #expect(run.stdout.contains("(default: 30s)"))
        #expect(run.stdout.contains("--once "))
        let dashboard = await slawatch(["dashboard", "--help"])
        #expect(dashboard.stdout.contains("(default: ADMIN)"))
        #expect(dashboard.stdout.contains("--top N"))
        #expect((await slawatch(["demo", "--help"])).stdout.contains("(default: 200)"))
    }

    @Test func versionNamesSlawatchAndTheLibrariesItRunsWith() async throws {
        let result = await slawatch(["--version"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 4, "\(result.stdout)")
        #expect(lines.first == "slawatch \(SlawatchVersion.current)")
        let libpq = try #require(lines.first { $0.hasPrefix("libpq ") })
        #expect(libpq.dropFirst(6).split(separator: ".").allSatisfy { Int($0) != nil }, "\(libpq)")
        let curl = try #require(lines.first { $0.hasPrefix("libcurl ") })
        #expect(curl.dropFirst(8).first?.isNumber == true, "\(curl)")
        #expect(lines.contains { $0.hasPrefix("libcrypto OpenSSL ") }, "\(result.stdout)")
    }

    @Test func unknownNamesSuggestTheClosest() async {
        func usage(_ arguments: [String], _ texts: String...) async {
            let result = await slawatch(arguments)
            #expect(result.status == 2, "\(arguments): \(result.stderr)")
            #expect(result.stdout.isEmpty)
            for text in texts { #expect(result.stderr.contains(text), "\(arguments): \(result.stderr)") }
            #expect(result.stderr.hasPrefix("slawatch: ") && result.stderr.split(separator: "\n").count == 1)
        }
        await usage(
            ["dashboard", "--fomat", "json"], "unknown option --fomat for 'slawatch dashboard'",
            "did you mean --format?")
        await usage(["run", "--intervall=5s"], "unknown option --intervall", "did you mean --interval?")
        await usage(["run", "--dry"], "did you mean --dry-run?")
        await usage(["report", "diario", "--databse", "x"], "did you mean --database?")
        await usage(["dashboard", "--bogus"], "unknown option --bogus", "it accepts --area, --database")
        await usage(["dashbord"], "unknown command 'dashbord'", "did you mean 'dashboard'?")
        await usage(["dmeo"], "did you mean 'demo'?")
        await usage(["--verison"], "unknown option --verison", "did you mean --version?")
        await usage(["help", "frobnicate"], "unknown command 'frobnicate'")
        await usage([], "usage: slawatch <migrate|check|run|dashboard|", "slawatch --help says what each does")
    }
}
