import CLibPQ
import Foundation

/// One connection to PostgreSQL, owned by exactly one task or thread at a time.
///
/// It is not `Sendable`: the compiler keeps it confined to its owner, which is how libpq's rule
/// (one thread per connection at a time) is enforced. Every query is sent with `PQexecParams`:
/// values travel as parameters, never inside SQL text. Results are asked for in binary form and
/// decoded by type; the connection is closed (`PQfinish`) when the object goes away, also when the
/// connection attempt failed.
public final class PostgresConnection {
    let conn: OpaquePointer
    /// The statements `queryPrepared` prepared on this connection, by parameter types and SQL text: they
    /// live as long as the session, so a new connection (after a reconnect) starts without any.
    private var preparedNames: [String: String] = [:]
    private var preparedCount = 0
    /// At most this many statements stay prepared; past it they are all deallocated and prepared again
    /// as they are used (a caller whose SQL text varies does not grow the session without bound).
    public static let preparedStatementLimit = 256

    /// Connects with a libpq URI (`postgresql://user@host:5432/db`) or a conninfo string
    /// (`host=... dbname=...`), taken as given. A `connect_timeout` of 10 s applies unless the URL
    /// sets its own; `options` are further libpq connection keywords and their values (e.g.
    /// `keepalives_idle`), which the URL may override too.
    public init(url: String, applicationName: String = "slawatch", options: [(key: String, value: String)] = [])
        throws(PostgresError)
    {
        // Defaults first: libpq lets later keywords (the expanded URL) override earlier ones.
        let keys = ["connect_timeout", "application_name", "client_encoding"] + options.map(\.key) + ["dbname"]
        let values = ["10", applicationName, "UTF8"] + options.map(\.value) + [url]
        let connection: OpaquePointer? = withCStringArray(keys) { k in
            withCStringArray(values) { v in PQconnectdbParams(k, v, 1) }
        }
        guard let connection else {
            throw PostgresError(.connectionFailed, "cannot connect to PostgreSQL: out of memory")
        }
        if PQstatus(connection) != CONNECTION_OK {
            let reason = Self.firstLine(String(cString: PQerrorMessage(connection)))
            PQfinish(connection)
            throw PostgresError(
                .connectionFailed,
                "cannot connect to PostgreSQL (\(Self.redacted(url))): \(reason); check --database or DATABASE_URL and that the server is running",
                serverText: reason)
        }
        conn = connection
        // NOTICEs such as "schema already exists, skipping" would otherwise go to stderr.
        PQsetNoticeProcessor(conn, { _, _ in }, nil)
        try execute("SET TIME ZONE 'UTC'")
    }

    deinit { PQfinish(conn) }

    /// Runs a statement with `$n` parameters and returns its whole result.
    @discardableResult
    public func query(_ sql: String, _ parameters: [PostgresParameter] = []) throws(PostgresError) -> PostgresResult {
        let result = try withParameters(parameters) { count, types, values, lengths, formats in
            PQexecParams(conn, sql, count, types, values, lengths, formats, 1)
        }
        return try PostgresResult.checked(result, connection: conn, sql: sql)
    }

    /// Runs a statement like ``query(_:_:)``, prepared on this connection the first time its text is run
    /// with parameters of these types (`PQprepare`) and only executed afterwards (`PQexecPrepared`): the
    /// server parses and plans it once per connection rather than at every call. For statements whose
    /// text repeats (the values travel as parameters).
    @discardableResult
    public func queryPrepared(_ sql: String, _ parameters: [PostgresParameter] = []) throws(PostgresError)
        -> PostgresResult
    {
        let buffer = try ParameterBuffer(parameters)
        let key = buffer.types.map { String($0) }.joined(separator: ",") + ";" + sql
        do {
            return try executePrepared(sql, key: key, buffer)
        } catch {
            // The session lost the statement (a `DEALLOCATE ALL` or `DISCARD ALL` by someone else):
            // outside a transaction, which that failure did not abort, it is prepared again once.
            guard error.sqlState == "26000", PQtransactionStatus(conn) == PQTRANS_IDLE else { throw error }
            return try executePrepared(sql, key: key, buffer)
        }
    }

    private func executePrepared(_ sql: String, key: String, _ buffer: ParameterBuffer) throws(PostgresError)
        -> PostgresResult
    {
        let name: String
        if let known = preparedNames[key] {
            name = known
        } else {
            if preparedNames.count >= Self.preparedStatementLimit {
                try execute("DEALLOCATE ALL")
                preparedNames.removeAll()
            }
            preparedCount += 1
            name = "slawatch_p\(preparedCount)"
            let prepared = buffer.types.withUnsafeBufferPointer { types in
                PQprepare(conn, name, sql, Int32(buffer.count), types.baseAddress)
            }
            _ = try PostgresResult.checked(prepared, connection: conn, sql: sql)
            preparedNames[key] = name
        }
        let result = withParameters(buffer) { count, _, values, lengths, formats in
            PQexecPrepared(conn, name, count, values, lengths, formats, 1)
        }
        do {
            return try PostgresResult.checked(result, connection: conn, sql: sql)
        } catch {
            // A statement whose plan no longer fits (a view redefined: "cached plan must not change result
            // type") or that the session lost is prepared again at the next call.
            if error.sqlState == "0A000" || error.sqlState == "26000" { preparedNames[key] = nil }
            throw error
        }
    }

    /// Runs a statement here and another on `other` at the same time: both are sent before either
    /// result is awaited, so the server works on the two while this thread waits. Nothing stays
    /// pending when it returns or throws.
    public func query(
        _ sql: String, _ parameters: [PostgresParameter], alongside other: PostgresConnection, _ otherSQL: String,
        _ otherParameters: [PostgresParameter]
    ) throws(PostgresError) -> (PostgresResult, PostgresResult) {
        precondition(other !== self, "a connection runs one statement at a time")
        try send(sql, parameters)
        let otherSent = Result<Void, PostgresError> { () throws(PostgresError) in
            try other.send(otherSQL, otherParameters)
        }
        let mine = collect(sql)
        let theirs: Result<PostgresResult, PostgresError>
        switch otherSent {
        case .success: theirs = other.collect(otherSQL)
        case .failure(let error): theirs = .failure(error)
        }
        return (try mine.get(), try theirs.get())
    }

    private func send(_ sql: String, _ parameters: [PostgresParameter]) throws(PostgresError) {
        let sent = try withParameters(parameters) { count, types, values, lengths, formats in
            PQsendQueryParams(conn, sql, count, types, values, lengths, formats, 1)
        }
        guard sent == 1 else {
            throw Self.lastError(conn)
        }
    }

    /// The result of the statement `send` sent, with every further result drained.
    private func collect(_ sql: String) -> Result<PostgresResult, PostgresError> {
        var outcome: Result<PostgresResult, PostgresError>?
        while let raw = PQgetResult(conn) {
            if outcome != nil {
                PQclear(raw)
                continue
            }
            do { outcome = .success(try PostgresResult.checked(raw, connection: conn, sql: sql)) } catch {
                outcome = .failure(error)
            }
        }
        return outcome ?? .failure(Self.lastError(conn))
    }

    /// Runs parameterless SQL text, possibly several statements (migrations, session settings).
    public func execute(_ sql: String) throws(PostgresError) {
        _ = try PostgresResult.checked(PQexec(conn, sql), connection: conn, sql: sql)
    }

    /// Streams the rows of a query one at a time (libpq single-row mode), so that a result of
    /// millions of rows never sits in memory whole. `body` must not keep the row.
    public func forEachRow(
        _ sql: String, _ parameters: [PostgresParameter] = [], _ body: (PostgresRow) throws -> Void
    ) throws {
        try send(sql, parameters)
        guard PQsetSingleRowMode(conn) == 1 else {
            // The statement is on its way all the same: cancel it and read what comes back, or the
            // connection stays busy.
            cancelStatement()
            _ = collect(sql)
            throw PostgresError(.queryFailed, "libpq could not switch to single-row mode to stream the rows of: \(sql)")
        }
        var failure: Error?
        while let raw = PQgetResult(conn) {
            // Every result must be drained and cleared, also after a failure, or the
            // connection is left busy.
            if failure != nil {
                PQclear(raw)
                continue
            }
            let status = PQresultStatus(raw)
            if status == PGRES_SINGLE_TUPLE {
                let result = PostgresResult(owning: raw)
                do { try body(PostgresRow(result: result, index: 0)) } catch { failure = error }
            } else if status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK {
                PQclear(raw)
            } else {
                do { _ = try PostgresResult.checked(raw, connection: conn, sql: sql) } catch { failure = error }
            }
        }
        if let failure { throw failure }
    }

    /// Asks the server to cancel the statement running on this connection; its results (an error,
    /// when the cancel arrived in time) must still be read.
    func cancelStatement() {
        guard let cancel = PQgetCancel(conn) else { return }
        var buffer = [CChar](repeating: 0, count: 256)
        _ = PQcancel(cancel, &buffer, Int32(buffer.count))
        PQfreeCancel(cancel)
    }

    /// Runs a `COPY ... FROM STDIN` statement and sends `data` (in the statement's text format) as
    /// its input, in chunks; returns the number of rows copied.
    @discardableResult
    public func copyIn(_ sql: String, data: [UInt8]) throws(PostgresError) -> Int {
        let started = PostgresResult.checkedCopy(PQexec(conn, sql), connection: conn)
        guard started else {
            throw Self.lastError(conn)
        }
        var offset = 0
        let chunk = 1 << 20
        var failure: String?
        data.withUnsafeBufferPointer { buffer in
            while offset < buffer.count {
                let count = min(chunk, buffer.count - offset)
                // The length is in bytes: the buffer is UTF-8 already.
                let sent = buffer.baseAddress!.advanced(by: offset).withMemoryRebound(to: CChar.self, capacity: count) {
                    PQputCopyData(conn, $0, Int32(count))
                }
                if sent != 1 {
                    failure = Self.firstLine(String(cString: PQerrorMessage(conn)))
                    return
                }
                offset += count
            }
        }
        if PQputCopyEnd(conn, failure) != 1 {
            throw Self.lastError(conn)
        }
        var rows = 0
        var error: PostgresError?
        while let raw = PQgetResult(conn) {
            do {
                let result = try PostgresResult.checked(raw, connection: conn, sql: sql)
                rows += result.affectedRows
            } catch let e {
                error = error ?? e
            }
        }
        if let error { throw error }
        if let failure { throw PostgresError(.queryFailed, failure) }
        return rows
    }

    /// Runs `body` inside a transaction: committed when it returns, rolled back when it throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Whether the connection is still usable (the server may have gone away).
    public var isHealthy: Bool { PQstatus(conn) == CONNECTION_OK }

    /// The connection's last error, as libpq tells it when a call fails without a result: a
    /// `connectionFailed` when the connection is no longer usable (a server restarted or gone answers
    /// "no connection to the server"), so that callers retry it like a failure to connect.
    static func lastError(_ connection: OpaquePointer) -> PostgresError {
        let message = firstLine(String(cString: PQerrorMessage(connection)))
        return PostgresError(PQstatus(connection) == CONNECTION_OK ? .queryFailed : .connectionFailed, message)
    }

    static func firstLine(_ text: String) -> String {
        let trimmed = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        return trimmed.filter { !$0.isEmpty }.joined(separator: "; ")
    }

    /// The URL without its passwords, for messages: the one after `user:` and the values of
    /// `password` and `sslpassword` parameters. A conninfo string that mentions a password is
    /// named only as such.
    public static func redacted(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else {
            return url.lowercased().contains("password") ? "conninfo" : url
        }
        // As libpq reads it: user information runs to the first "@" before any "/", whatever it holds.
        let rest = url[scheme.upperBound...]
        var userInfo = ""
        var host = rest
        if let at = rest.firstIndex(where: { $0 == "@" || $0 == "/" }), rest[at] == "@" {
            let credentials = rest[..<at]
            userInfo =
                (credentials.firstIndex(of: ":").map { credentials[..<$0] + ":***" } ?? String(credentials)) + "@"
            host = rest[rest.index(after: at)...]
        }
        let prefix = String(url[..<scheme.upperBound]) + userInfo
        guard let question = host.firstIndex(of: "?") else { return prefix + host }
        let query = host[host.index(after: question)...]
        let parameters = query.split(separator: "&", omittingEmptySubsequences: false).map { parameter in
            let key = parameter.prefix { $0 != "=" }
            // libpq decodes %-escapes in keys too.
            let name = String(key).removingPercentEncoding ?? String(key)
            return name.lowercased().hasSuffix("password") && key.endIndex < parameter.endIndex
                ? key + "=***" : parameter
        }
        return prefix + host[...question] + parameters.joined(separator: "&")
    }

    /// Calls `body` with the parameters as libpq takes them: count, type OIDs, values, lengths and
    /// formats (see `ParameterBuffer`), valid during the call only.
    private func withParameters<R>(
        _ parameters: [PostgresParameter],
        _ body: (
            Int32, UnsafePointer<Oid>?, UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?,
            UnsafePointer<Int32>?
        ) -> R
    ) throws(PostgresError) -> R {
        withParameters(try ParameterBuffer(parameters), body)
    }

    private func withParameters<R>(
        _ buffer: ParameterBuffer,
        _ body: (
            Int32, UnsafePointer<Oid>?, UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?,
            UnsafePointer<Int32>?
        ) -> R
    ) -> R {
        buffer.types.withUnsafeBufferPointer { types in
            buffer.lengths.withUnsafeBufferPointer { lengths in
                buffer.formats.withUnsafeBufferPointer { formats in
                    buffer.withValues { values in
                        body(Int32(buffer.count), types.baseAddress, values, lengths.baseAddress, formats.baseAddress)
                    }
                }
            }
        }
    }
}

@available(*, unavailable)
extension PostgresConnection: Sendable {}

private func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) } + [nil]
    defer { pointers.forEach { free($0) } }
    return pointers.withUnsafeMutableBufferPointer { buffer in
        buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) { body($0) }
    }
}
