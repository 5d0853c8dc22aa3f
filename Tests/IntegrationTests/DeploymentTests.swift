import Foundation
import Testing

/// The systemd units of `deploy/` (README 'Deployment'): what each must say, and `systemd-analyze
/// verify` where systemd is installed.
@Suite struct DeploymentTests {
    static let deploy: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("deploy")
    }()
    static let units = ["slawatch.service", "slawatch-serve.service"]
    static let installedBinary = "/usr/local/bin/slawatch"
    static let systemdAnalyze: String? = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    static func lines(of unit: String) throws -> [String] {
        try String(contentsOf: deploy.appendingPathComponent(unit), encoding: .utf8)
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }

    @Test(arguments: DeploymentTests.units)
    func aUnitRestartsReadsItsSecretsFromAFileReloadsAndIsHardened(_ unit: String) throws {
        let lines = try Self.lines(of: unit)
        for wanted in [
            "Restart=always", "EnvironmentFile=/etc/slawatch/slawatch.env", "ExecReload=/bin/kill -HUP $MAINPID",
            "DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes", "ProtectHome=yes", "PrivateTmp=yes",
            "CapabilityBoundingSet=", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
            "SystemCallFilter=@system-service",
        ] {
            #expect(lines.contains(wanted), "\(unit) lacks \(wanted)")
        }
        // Secrets come from the environment file only, never from the unit (which anyone may read).
        #expect(!lines.contains { $0.hasPrefix("Environment=") }, "\(unit)")
        let start = try #require(lines.first { $0.hasPrefix("ExecStart=") }, "\(unit) has no ExecStart")
        #expect(start.hasPrefix("ExecStart=\(Self.installedBinary) "))
        #expect(start.contains("--log-format json"))
        #expect(!start.contains("--database"), "the database comes from DATABASE_URL in the environment file")
        if unit == "slawatch.service" {
            #expect(start.contains(" run --rules /etc/slawatch/rules "), "\(start)")
        } else {
            #expect(start.contains(" serve --listen 127.0.0.1:8080 "), "\(start)")
        }
    }

    /// `systemd-analyze verify` checks every directive and that ExecStart's program exists and is
    /// executable. The units name the installed path, so the copies verified here name the binary
    /// this build made instead. `slawatch serve` is not in this version yet (it comes with the HTTP
    /// API); verify never runs the command, so the serve unit is verified whole all the same.
    @Test(
        .enabled(
            if: DeploymentTests.systemdAnalyze != nil,
            "systemd-analyze is not installed (no systemd on this machine), so the units' directives are not verified"))
    func systemdAnalyzeVerifiesBothUnits() throws {
        let analyze = try #require(Self.systemdAnalyze)
        let executable = try WorkerProcessTests.requireExecutable()
        let directory = NSTemporaryDirectory() + "slawatch-units-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var paths: [String] = []
        for unit in Self.units {
            let text = try String(contentsOf: Self.deploy.appendingPathComponent(unit), encoding: .utf8)
            #expect(text.contains(Self.installedBinary))
            let path = directory + "/" + unit
            try text.replacingOccurrences(of: Self.installedBinary, with: executable)
                .write(toFile: path, atomically: true, encoding: .utf8)
            paths.append(path)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: analyze)
        process.arguments = ["verify", "--man=no"] + paths
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(output)")
        // verify exits 0 even for an unknown or unparsable directive; it only says so.
        #expect(output.isEmpty, "\(output)")
    }
}
