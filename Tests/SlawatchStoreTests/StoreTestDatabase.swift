import Foundation
import PostgresClient
import SlawatchStore

/// A fresh, empty database on the PostgreSQL that scripts/test started, dropped when the test is
/// done with it.
final class StoreTestDatabase {
    let url: String
    let name: String
    private let adminURL: String

    init() throws {
        guard let base = ProcessInfo.processInfo.environment["SLAWATCH_TEST_DATABASE_URL"] else {
            throw StoreTestSetupError(
                "SLAWATCH_TEST_DATABASE_URL is not set: run the tests with scripts/test, which starts PostgreSQL")
        }
        adminURL = base
        name = "slawatch_store_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        try PostgresConnection(url: base).execute("CREATE DATABASE \(name)")
        guard let slash = base.lastIndex(of: "/") else { throw StoreTestSetupError("unexpected URL \(base)") }
        url = base[..<slash] + "/" + name
    }

    deinit {
        if let admin = try? PostgresConnection(url: adminURL) {
            try? admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        }
    }

    func connect() throws -> PostgresConnection { try PostgresConnection(url: url) }

    var settings: ConnectionSettings { ConnectionSettings(url: url) }
}

struct StoreTestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
