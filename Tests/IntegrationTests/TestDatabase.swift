import Foundation
import PostgresClient
import SlawatchApp
import SlawatchDemo
import Testing

/// A fresh, empty database on the PostgreSQL that scripts/test started, one per test, dropped
/// when the test is done with it.
final class TestDatabase {
    let url: String
    let name: String
    private let adminURL: String

    /// `icuLocale`: the database's default collation is that ICU locale's (e.g. `es`) instead of
    /// the server's byte order, so that text compared by collation differs from text compared by
    /// code point.
    init(icuLocale: String? = nil) throws {
        guard let base = ProcessInfo.processInfo.environment["SLAWATCH_TEST_DATABASE_URL"] else {
            throw TestSetupError(
                "SLAWATCH_TEST_DATABASE_URL is not set: run the tests with scripts/test, which starts PostgreSQL")
        }
        adminURL = base
        name = "slawatch_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        let admin = try PostgresConnection(url: base)
        if let icuLocale {
            guard icuLocale.allSatisfy({ $0.isLetter || $0 == "-" || $0 == "_" }) else {
                throw TestSetupError("bad ICU locale \(icuLocale)")
            }
            try admin.execute(
                "CREATE DATABASE \(name) TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '\(icuLocale)' LOCALE 'C.UTF-8'"
            )
        } else {
            try admin.execute("CREATE DATABASE \(name)")
        }
        guard let slash = base.lastIndex(of: "/") else { throw TestSetupError("unexpected URL \(base)") }
        url = base[..<slash] + "/" + name
    }

    deinit {
        if let admin = try? PostgresConnection(url: adminURL) {
            try? admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        }
    }

    func connect() throws -> PostgresConnection { try PostgresConnection(url: url) }

    /// The reference help-desk schema with its two source views.
    func loadReferenceSchema() throws {
        try connect().execute(ReferenceHelpDesk.schemaSQL)
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The result of running the CLI in-process.
struct CLIResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Runs `slawatch` in-process with its output captured, with the demo's commands registered as the executable
/// registers them.
func slawatch(_ arguments: [String], environment: [String: String] = [:]) async -> CLIResult {
    let out = OutputBuffer()
    let err = OutputBuffer()
    let status = await Slawatch.main(
        arguments: arguments, environment: environment, commands: [DemoCommand.command, PostgresCommand.command],
        output: out.append, errors: err.append)
    return CLIResult(status: status, stdout: out.text, stderr: err.text)
}

final class OutputBuffer: @unchecked Sendable {
    // Guarded by `lock`: the CLI may write from whatever thread runs it.
    private let lock = NSLock()
    private var buffer = ""
    func append(_ s: String) {
        lock.lock()
        buffer += s
        lock.unlock()
    }
    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return buffer
    }
}

/// A rules directory written to a temporary place, removed with the object.
final class TemporaryRules {
    let path: String
    init(_ files: [String: String]) throws {
        path = NSTemporaryDirectory() + "slawatch-rules-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (name, text) in files {
            try text.write(toFile: path + "/" + name, atomically: true, encoding: .utf8)
        }
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// The rules' own directory in this checkout.
let repositoryRules: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.appendingPathComponent("rules").path
}()

/// One dashboard row as the README's dashboard defines it. Decoded with `JSONDecoder`, which reads doubles
/// exactly (Linux's `JSONSerialization` rounds 17-digit numbers).
struct DashboardRow: Decodable, Equatable {
    let ticket_uuid: String
    let label: String
    let categoria: String?
    let correo: String?
    let estado_code: String
    let prioridad_nom: String
    let area_asignada: String?
    let actualizado_en: String
    let sla_horas: Double
    let horas_restantes: Double
    let vencido: Bool

    static func decode(_ text: String) throws -> [DashboardRow] {
        try JSONDecoder().decode([DashboardRow].self, from: Data(text.utf8))
    }
}
