import Foundation
import LoopbackSinks
import PostgresClient
import SlawatchApp
import SlawatchCore
import Testing

/// The built `slawatch` executable as a separate process: the long-running worker, SIGTERM, the
/// metrics file and the exit codes (the README's worker section and Commands). One child at a time:
/// with several workers and the whole suite beside them, the second-signal test saw its child as
/// exited (status 0) while it still ran.
@Suite(.serialized) struct WorkerProcessTests {
    /// `slawatch` beside the test bundle (`.build/<triple>/debug/`), when it was built.
    static let executable: String? = {
        var directories: [URL] = []
        if let first = CommandLine.arguments.first {
            directories.append(URL(fileURLWithPath: first).deletingLastPathComponent())
        }
        let bundle = URL(fileURLWithPath: Bundle.main.bundlePath)
        directories += [bundle, bundle.deletingLastPathComponent()]
        for test in Bundle.allBundles where test.bundlePath.hasSuffix(".xctest") {
            directories.append(URL(fileURLWithPath: test.bundlePath).deletingLastPathComponent())
        }
        for directory in directories {
            // The .xctest bundle itself may be a directory (macOS) or the executable (Linux).
            for candidate in [directory, directory.deletingLastPathComponent()] {
                let path = candidate.appendingPathComponent("slawatch").path
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                    FileManager.default.isExecutableFile(atPath: path)
                {
                    return path
                }
            }
        }
        return nil
    }()

    static func requireExecutable() throws -> String {
        try #require(
            executable,
            "the slawatch executable was not found next to the test bundle (\(CommandLine.arguments.first ?? "?")); build it with swift build --build-tests"
        )
    }

    /// A child process whose output goes to files (no pipe can fill up and block it).
    final class Child {
        let process = Process()
        let stdoutPath: String, stderrPath: String

        init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
            let base = NSTemporaryDirectory() + "slawatch-child-" + UUID().uuidString
            stdoutPath = base + ".out"
            stderrPath = base + ".err"
            guard FileManager.default.createFile(atPath: stdoutPath, contents: nil),
                FileManager.default.createFile(atPath: stderrPath, contents: nil)
            else { throw TestSetupError("cannot create \(base).out/.err") }
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            var env = ProcessInfo.processInfo.environment
            env["DATABASE_URL"] = nil
            env.merge(environment) { $1 }
            process.environment = env
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
            try process.run()
        }

        var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
        var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }

        /// The JSON log lines on stderr (`--log-format json`) that parse, in order.
        var logObjects: [[String: Any]] {
            stderr.split(separator: "\n").compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
            }
        }

        /// Waits for the exit at most `timeout`; returns the status, or nil if it is still running.
        func waitForExit(timeout: Duration) async -> Int32? {
            let exited = await eventually(timeout: timeout) { !process.isRunning }
            return exited ? process.terminationStatus : nil
        }

        deinit {
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
            try? FileManager.default.removeItem(atPath: stdoutPath)
            try? FileManager.default.removeItem(atPath: stderrPath)
        }
    }

    @Test func theWorkerDeliversWritesMetricsAndStopsCleanlyOnSIGTERM() async throws {
        let executable = try Self.requireExecutable()
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        try desk.addTicket(title: "Caída del portal")
        try desk.addTicket(title: "Caída del correo")
        let rules = try TemporaryRules([
            "sla.json": WorkerRules.text(
                channels: #"{ hook: { type: "webhook", url: "\#(sink.url)/hook" } }"#,
                routes: WorkerRules.allEvents(to: ["hook"]))
        ])
        let metrics = NSTemporaryDirectory() + "slawatch-metrics-" + UUID().uuidString + ".prom"
        defer { try? FileManager.default.removeItem(atPath: metrics) }
        let child = try Child(
            executable,
            [
                "run", "--interval", "1s", "--rules", rules.path, "--database", desk.url, "--metrics-file", metrics,
                "--now", WorkerClock.at(hours: 5).iso8601, "--log-format", "json",
            ])
        let delivered = await eventually(timeout: .seconds(30)) { sink.requests.count >= 2 || !child.process.isRunning }
        #expect(delivered && child.process.isRunning, "stderr: \(child.stderr)")
        #expect(sink.requests.count == 2)

        func metricsText() -> String { (try? String(contentsOfFile: metrics, encoding: .utf8)) ?? "" }
        let written = await eventually(timeout: .seconds(20)) { metricsText().contains(#"outcome="sent""#) }
        #expect(written, "metrics file: \(metricsText())")
        let text = metricsText()
        let lines = text.split(separator: "\n").map(String.init)
        #expect(
            lines.contains {
                $0.hasPrefix("slawatch_events_total ") && ($0.split(separator: " ").last.flatMap { Int($0) } ?? 0) == 8
            }, "\(text)")
        #expect(lines.contains(#"slawatch_deliveries_total{channel="hook",outcome="sent"} 2"#), "\(text)")
        #expect(lines.contains("# TYPE slawatch_events_total counter"))
        #expect(lines.contains("# TYPE slawatch_deliveries_total counter"))
        for line in lines where !line.hasPrefix("#") {
            // name{labels} value
            #expect(
                line.range(
                    of: #"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+0-9.eEa-zA-Z]+$"#, options: .regularExpression)
                    != nil, "\(line)")
        }

        kill(child.process.processIdentifier, SIGTERM)
        let status = await child.waitForExit(timeout: .seconds(15))
        #expect(status == 0, "exit \(String(describing: status)); stderr: \(child.stderr)")
        #expect(child.process.terminationReason == .exit)
        // Still exactly one request per notification after several cycles.
        #expect(sink.requests.count == 2)
        #expect(try await desk.deliveries().allSatisfy { $0.status == "sent" && $0.attempts == 1 })
    }

    @Test func sigtermLetsAnInFlightDeliveryFinish() async throws {
        let executable = try Self.requireExecutable()
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        sink.respond { _ in HTTPSink.Response(status: 200, delay: .seconds(2)) }
        try desk.addTicket(title: "Caída lenta")
        let rules = try TemporaryRules([
            "sla.json": WorkerRules.text(
                channels: #"{ hook: { type: "webhook", url: "\#(sink.url)/hook" } }"#,
                routes: WorkerRules.allEvents(to: ["hook"]))
        ])
        let child = try Child(
            executable,
            [
                "run", "--interval", "1s", "--rules", rules.path, "--database", desk.url, "--now",
                WorkerClock.at(hours: 5).iso8601,
            ])
        // The request has arrived; its answer is 2 s away.
        let arrived = await eventually(timeout: .seconds(30)) { !sink.requests.isEmpty || !child.process.isRunning }
        try #require(arrived && child.process.isRunning, "stderr: \(child.stderr)")
        kill(child.process.processIdentifier, SIGTERM)
        let status = await child.waitForExit(timeout: .seconds(15))
        #expect(status == 0, "exit \(String(describing: status)); stderr: \(child.stderr)")
        let rows = try await desk.deliveries()
        #expect(rows.count == 1)
        #expect(rows.first?.status == "sent", "the in-flight delivery was not finished: \(rows)")
        #expect(sink.requests.count == 1)
    }

    /// The first signal waits for the send in flight (its answer is 20 s away); a second one
    /// stops the worker at once, exit code 1, with the delivery left for its lease to free.
    @Test func aSecondSignalStopsTheWorkerAtOnce() async throws {
        let executable = try Self.requireExecutable()
        let desk = try WorkerHelpDesk()
        let sink = try HTTPSink()
        sink.respond { _ in HTTPSink.Response(status: 200, delay: .seconds(20)) }
        try desk.addTicket(title: "Caída muy lenta")
        let rules = try TemporaryRules([
            "sla.json": WorkerRules.text(
                channels: #"{ hook: { type: "webhook", url: "\#(sink.url)/hook", timeout: "30s" } }"#,
                routes: WorkerRules.allEvents(to: ["hook"]))
        ])
        let child = try Child(
            executable,
            [
                "run", "--interval", "1s", "--rules", rules.path, "--database", desk.url, "--now",
                WorkerClock.at(hours: 5).iso8601,
            ])
        let arrived = await eventually(timeout: .seconds(30)) { !sink.requests.isEmpty || !child.process.isRunning }
        try #require(arrived && child.process.isRunning, "stderr: \(child.stderr)")
        kill(child.process.processIdentifier, SIGTERM)
        // Still running: the first signal waits for the answer.
        try await Task.sleep(for: .milliseconds(500))
        #expect(child.process.isRunning, "stderr: \(child.stderr)")
        let started = ContinuousClock.now
        kill(child.process.processIdentifier, SIGTERM)
        let status = await child.waitForExit(timeout: .seconds(10))
        #expect(status == 1, "exit \(String(describing: status)); stderr: \(child.stderr)")
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(child.stderr.contains("second signal"), "stderr: \(child.stderr)")
    }

    @Test func runOnceAgainstAnUnreachableDatabaseExitsThree() async throws {
        let executable = try Self.requireExecutable()
        let rules = try TemporaryRules([
            "sla.json": WorkerRules.text(
                channels: #"{ consola: { type: "log" } }"#, routes: WorkerRules.allEvents(to: ["consola"]))
        ])
        let child = try Child(
            executable,
            [
                "run", "--once", "--wait", "2s", "--rules", rules.path, "--database",
                "postgresql://slawatch@127.0.0.1:1/nada", "--now", WorkerClock.at(hours: 5).iso8601,
            ])
        let status = await child.waitForExit(timeout: .seconds(30))
        #expect(status == 3, "stderr: \(child.stderr)")
        // It waited up to --wait, logging each retry, and ends with one clear line.
        let lines = child.stderr.split(separator: "\n")
        #expect(lines.last?.hasPrefix("slawatch: ") == true, "\(lines)")
        #expect(lines.dropLast().contains { $0.contains("unavailable; retrying") }, "\(lines)")

        // The same in process, and through DATABASE_URL.
        let inProcess = await slawatch(
            ["run", "--once", "--wait", "0s", "--rules", rules.path, "--now", WorkerClock.at(hours: 5).iso8601],
            environment: ["DATABASE_URL": "postgresql://slawatch@127.0.0.1:1/nada"])
        #expect(inProcess.status == 3, "\(inProcess.stderr)")
        #expect(inProcess.stdout.isEmpty)
    }

    /// SIGHUP: valid rules apply from the next cycle, compiled as `migrate` compiles them (the stored
    /// clock follows the new target); invalid rules are logged one problem per line, level error,
    /// with file and path, and the worker goes on with the rules it had.
    @Test func sighupReloadsValidRulesAndKeepsThePreviousOnesWhenInvalid() async throws {
        let executable = try Self.requireExecutable()
        let desk = try WorkerHelpDesk()
        try desk.addTicket(title: "Caída del portal")
        let valid = WorkerRules.text(
            channels: #"{ consola: { type: "log" } }"#, routes: WorkerRules.allEvents(to: ["consola"]))
        let rules = try TemporaryRules(["sla.json": valid])
        let file = rules.path + "/sla.json"
        let child = try Child(
            executable,
            [
                "run", "--interval", "1s", "--rules", rules.path, "--database", desk.url,
                "--now", WorkerClock.at(hours: 1).iso8601, "--log-format", "json",
            ])
        func targetHours() -> Double? {
            let rows = try? desk.connection.query("SELECT target_us FROM slawatch.clocks").rows
            return rows?.first.flatMap { try? Double($0.int(0)) / Double(WorkerClock.hour) }
        }
        func logged(_ message: String) -> [[String: Any]] {
            child.logObjects.filter { $0["msg"] as? String == message }
        }

        let first = await eventually(timeout: .seconds(30)) { targetHours() == 4 || !child.process.isRunning }
        try #require(first && child.process.isRunning, "stderr: \(child.stderr)")

        // A valid change: CRITICA gets 6 h.
        try valid.replacingOccurrences(of: "CRITICA: 4", with: "CRITICA: 6").write(
            toFile: file, atomically: true, encoding: .utf8)
        kill(child.process.processIdentifier, SIGHUP)
        let reloaded = await eventually(timeout: .seconds(30)) { targetHours() == 6 || !child.process.isRunning }
        #expect(reloaded && child.process.isRunning, "stderr: \(child.stderr)")
        #expect(logged("rules reloaded").count == 1, "stderr: \(child.stderr)")

        // An invalid change: logged with check's words, and 6 h stays in force.
        try valid.replacingOccurrences(of: "CRITICA: 4", with: #"CRITICA: "seis""#)
            .replacingOccurrences(of: "MEDIA: 24", with: "MEDIA: -1")
            .write(toFile: file, atomically: true, encoding: .utf8)
        kill(child.process.processIdentifier, SIGHUP)
        let refused = await eventually(timeout: .seconds(30)) {
            !logged("rules not reloaded: the previous rules stay in force").isEmpty || !child.process.isRunning
        }
        #expect(refused && child.process.isRunning, "stderr: \(child.stderr)")
        let problems = logged("invalid rules")
        #expect(problems.count == 2, "stderr: \(child.stderr)")
        #expect(problems.allSatisfy { $0["level"] as? String == "error" && $0["file"] as? String == file })
        #expect(
            Set(problems.compactMap { $0["path"] as? String }) == [
                "policies[0].targets.CRITICA", "policies[0].targets.MEDIA",
            ])
        #expect(
            problems.contains {
                ($0["error"] as? String)?.contains(#"expected a number of hours, found "seis""#) == true
            })

        // Two more cycles run with the previous rules.
        let cycles = logged("cycle").count
        let wentOn = await eventually(timeout: .seconds(30)) {
            logged("cycle").count >= cycles + 2 || !child.process.isRunning
        }
        #expect(wentOn && child.process.isRunning, "stderr: \(child.stderr)")
        #expect(targetHours() == 6)
        #expect(logged("rules reloaded").count == 1)

        kill(child.process.processIdentifier, SIGTERM)
        let status = await child.waitForExit(timeout: .seconds(15))
        #expect(status == 0, "exit \(String(describing: status)); stderr: \(child.stderr)")
    }

    /// A whole run with JSON logs, secrets in the rules through `${VAR}` and in the database URL,
    /// deliveries that fail and succeed, a reload and a refused reload: every line on stderr is a
    /// JSON object with `level` and `msg`, and no secret appears on stdout or stderr.
    @Test func jsonLogsOfAFullRunHoldNoSecret() async throws {
        let executable = try Self.requireExecutable()
        let desk = try WorkerHelpDesk()
        let hook = try HTTPSink()
        let chat = try HTTPSink()
        let mail = try SMTPSink()
        // The chat's first answer asks for a retry, so that a failure is logged; one mail recipient is refused.
        chat.enqueue(HTTPSink.Response(status: 503, headers: [("Retry-After", "1")], text: "busy"))
        mail.rejectRecipient("rechazo@example.com")
        try desk.addTicket(title: "Caída del portal")
        try desk.addTicket(title: "Caída del correo")

        let token = "tok" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
        let secrets: [String: String] = [
            "SMTP_PASSWORD": "smtp-pw-" + UUID().uuidString,
            "WEBHOOK_SECRET": "whsec_" + Data((0..<24).map { _ in UInt8.random(in: 0...255) }).base64EncodedString(),
            "HOOK_TOKEN": "hook" + UUID().uuidString.replacingOccurrences(of: "-", with: ""),
            "CHAT_URL": "\(chat.url)/services/T0/B0/\(token)",
            "SLAWATCH_JWT_SECRET": "jwt-" + UUID().uuidString,
        ]
        let databasePassword = "dbpw" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
        let databaseURL = desk.url.replacingOccurrences(of: "://slawatch@", with: "://slawatch:\(databasePassword)@")
        try #require(databaseURL != desk.url, "the test database's URL has no user slawatch: \(desk.url)")
        let text = WorkerRules.text(
            channels: #"""
                {
                  hook: { type: "webhook", url: "\#(hook.url)/hook/${HOOK_TOKEN}", secret: "${WEBHOOK_SECRET}" },
                  chat: { type: "slack", url: "${CHAT_URL}" },
                  mail: { type: "email", to: ["ok@example.com", "rechazo@example.com"] },
                }
                """#,
            routes: WorkerRules.allEvents(to: ["hook", "chat", "mail"]),
            smtp:
                #"{ url: "\#(mail.url)", from: "sla@example.com", username: "sla", password: "${SMTP_PASSWORD}", tls: "none" }"#
        )
        let rules = try TemporaryRules(["sla.json": text])
        let child = try Child(
            executable,
            [
                "run", "--interval", "1s", "--rules", rules.path, "--now", WorkerClock.at(hours: 5).iso8601,
                "--log-format", "json",
            ],
            environment: secrets.merging(["DATABASE_URL": databaseURL]) { $1 })

        let delivered = await eventually(timeout: .seconds(40)) {
            // The chat channel's two due at once go as one folded message: refused once, then sent.
            (hook.requests.count >= 2 && chat.requests.count >= 2 && mail.messages.count >= 2)
                || !child.process.isRunning
        }
        #expect(delivered && child.process.isRunning, "stderr: \(child.stderr)")
        #expect(hook.requests.allSatisfy { $0.header("webhook-signature")?.hasPrefix("v1,") == true })

        // A reload, then one refused with secrets in the refused values (the log shows their ${VAR}).
        kill(child.process.processIdentifier, SIGHUP)
        let reloaded = await eventually(timeout: .seconds(30)) {
            child.logObjects.contains { $0["msg"] as? String == "rules reloaded" } || !child.process.isRunning
        }
        #expect(reloaded, "stderr: \(child.stderr)")
        try text.replacingOccurrences(of: #"tls: "none""#, with: #"tls: "${SMTP_PASSWORD}""#)
            .replacingOccurrences(of: #"url: "${CHAT_URL}""#, with: #"url: "x${CHAT_URL}""#)
            .write(toFile: rules.path + "/sla.json", atomically: true, encoding: .utf8)
        kill(child.process.processIdentifier, SIGHUP)
        let refused = await eventually(timeout: .seconds(30)) {
            child.logObjects.contains { ($0["msg"] as? String)?.hasPrefix("rules not reloaded") == true }
                || !child.process.isRunning
        }
        #expect(refused, "stderr: \(child.stderr)")
        #expect(
            child.stderr.contains("${SMTP_PASSWORD}") && child.stderr.contains("${CHAT_URL}"), "stderr: \(child.stderr)"
        )

        kill(child.process.processIdentifier, SIGTERM)
        let status = await child.waitForExit(timeout: .seconds(15))
        #expect(status == 0, "exit \(String(describing: status)); stderr: \(child.stderr)")
        let rows = try await desk.deliveries()
        #expect(rows.contains { $0.status == "dead" && $0.recipient == "rechazo@example.com" }, "\(rows)")
        #expect(rows.contains { $0.channel == "chat" && $0.status == "sent" && $0.attempts == 2 }, "\(rows)")

        let stdout = child.stdout
        let stderr = child.stderr
        #expect(stdout.isEmpty, "stdout: \(stdout)")
        for (name, value) in secrets.merging(
            ["database password": databasePassword, "chat token": token], uniquingKeysWith: { $1 })
        {
            #expect(!stdout.contains(value) && !stderr.contains(value), "\(name) was logged: \(stderr)")
        }
        let lines = stderr.split(separator: "\n")
        #expect(lines.count >= 5)
        for line in lines {
            let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
            #expect(object?["level"] is String && object?["msg"] is String, "not a JSON log object: \(line)")
        }
    }
}
