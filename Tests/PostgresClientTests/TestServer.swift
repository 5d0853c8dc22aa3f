import Foundation
import PostgresClient

/// The PostgreSQL that scripts/test starts (its URL in SLAWATCH_TEST_DATABASE_URL). These tests
/// create nothing but temporary tables, which go with their connection.
enum TestServer {
    static func url() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["SLAWATCH_TEST_DATABASE_URL"] else {
            throw MissingServer()
        }
        return url
    }

    static func connect() throws -> PostgresConnection { try PostgresConnection(url: url()) }

    struct MissingServer: Error, CustomStringConvertible {
        var description: String {
            "SLAWATCH_TEST_DATABASE_URL is not set: run the tests with scripts/test, which starts PostgreSQL"
        }
    }
}
