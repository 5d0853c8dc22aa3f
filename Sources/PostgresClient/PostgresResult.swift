import CLibPQ
import Foundation

/// The rows of one statement, decoded on access from PostgreSQL's binary format.
///
/// Owns its `PGresult` and clears it when released. Each accessor checks the column's type and
/// says, naming the column, when it is not what the caller expected.
public final class PostgresResult {
    private let raw: OpaquePointer
    public let rowCount: Int
    public let columnCount: Int

    init(owning raw: OpaquePointer) {
        self.raw = raw
        rowCount = Int(PQntuples(raw))
        columnCount = Int(PQnfields(raw))
    }

    deinit { PQclear(raw) }

    static func checked(_ raw: OpaquePointer?, connection: OpaquePointer, sql: String) throws(PostgresError)
        -> PostgresResult
    {
        guard let raw else {
            throw PostgresConnection.lastError(connection)
        }
        let status = PQresultStatus(raw)
        if status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_SINGLE_TUPLE {
            return PostgresResult(owning: raw)
        }
        let message = PostgresConnection.firstLine(String(cString: PQresultErrorMessage(raw)))
        let state = PQresultErrorField(raw, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
        PQclear(raw)
        let connectionLost = PQstatus(connection) != CONNECTION_OK
        throw PostgresError(connectionLost ? .connectionFailed : .queryFailed, message, sqlState: state)
    }

    /// Whether `raw` is the start of a COPY IN; clears it either way.
    static func checkedCopy(_ raw: OpaquePointer?, connection: OpaquePointer) -> Bool {
        guard let raw else { return false }
        defer { PQclear(raw) }
        return PQresultStatus(raw) == PGRES_COPY_IN
    }

    public var columnNames: [String] { (0..<columnCount).map { String(cString: PQfname(raw, Int32($0))) } }

    /// The type OID of a column (e.g. 25 text, 1184 timestamptz).
    public func columnType(_ column: Int) -> UInt32 { PQftype(raw, Int32(column)) }

    public func columnIndex(_ name: String) throws(PostgresError) -> Int {
        let index = Int(PQfnumber(raw, "\"\(name.replacingOccurrences(of: "\"", with: "\"\""))\""))
        guard index >= 0 else { throw PostgresError(.noSuchColumn, "the result has no column \"\(name)\"") }
        return index
    }

    public subscript(row: Int) -> PostgresRow { PostgresRow(result: self, index: row) }

    public var rows: [PostgresRow] { (0..<rowCount).map { PostgresRow(result: self, index: $0) } }

    func isNull(_ row: Int, _ column: Int) -> Bool { PQgetisnull(raw, Int32(row), Int32(column)) == 1 }

    func bytes(_ row: Int, _ column: Int) -> UnsafeRawBufferPointer {
        let length = Int(PQgetlength(raw, Int32(row), Int32(column)))
        let pointer = UnsafeRawPointer(PQgetvalue(raw, Int32(row), Int32(column))!)
        return UnsafeRawBufferPointer(start: pointer, count: length)
    }

    func columnName(_ column: Int) -> String { String(cString: PQfname(raw, Int32(column))) }

    /// The number of rows a command touched (`UPDATE`, `INSERT`, `DELETE`).
    public var affectedRows: Int { Int(String(cString: PQcmdTuples(raw))) ?? 0 }
}

@available(*, unavailable)
extension PostgresResult: Sendable {}
