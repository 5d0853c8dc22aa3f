import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A private PostgreSQL cluster in a directory of its own, for `slawatch demo` and for tests.
///
/// `init` makes the cluster usable and returns: it initialises the data directory if it is not one yet
/// (`initdb -A trust -U slawatch`, UTF-8, locale C.UTF-8), starts the server with `pg_ctl -w start` on a free
/// TCP port of 127.0.0.1 only (Unix socket inside the data directory, durability switched off: this data is
/// disposable; `max_connections` 500, enough for parallel tests), and creates the database `slawatch` if
/// missing. A server already running on that directory is reused as it runs (its port is read from
/// `postmaster.pid`; settings apply only to a server this starts). When the process runs as root, the server
/// commands run as the `postgres` OS user through `runuser`, and the directory is given to that user, since
/// PostgreSQL refuses to run as root.
///
/// It does not stop the server on `deinit`: call `stop()`. No path is ever spliced into a shell command of ours;
/// the commands are spawned with argument vectors. It blocks the calling thread while they run (about a second
/// for a new cluster, a few milliseconds to reuse a running one).
public final class ThrowawayPostgres: Sendable {
    /// The role the cluster is initialised with (a superuser, trusted on 127.0.0.1).
    public static let user = "slawatch"
    /// The database created in it.
    public static let database = "slawatch"

    /// The absolute path of the data directory.
    public let dataDirectory: String
    /// The server's log file.
    public let logFile: String
    /// The TCP port on 127.0.0.1.
    public let port: Int
    /// A libpq URI of the database, e.g. `postgresql://slawatch@127.0.0.1:54321/slawatch`.
    public let url: String
    /// True when a server was already running on the directory and was reused rather than started.
    public let reusedRunningServer: Bool

    private let binDirectory: String
    private let runner: CommandRunner

    /// Makes the cluster in `directory` (e.g. `.slawatch/pg`, relative to the current directory) usable.
    /// `settings` are server settings added to (or overriding) the defaults when this starts the server, e.g.
    /// `("shared_buffers", "2GB")`; the address, port and socket directory are not among them.
    public init(directory: String, settings: [(name: String, value: String)] = []) throws {
        try Self.check(settings)
        let dataDirectory = Self.absolutePath(directory)
        // pg_ctl itself runs the server through /bin/sh with the data directory and log file in double quotes;
        // refuse the characters that would still be interpreted there.
        if dataDirectory.contains(where: { "\"\\$`\n\r".contains($0) }) {
            throw ThrowawayPostgresError(
                .unusableDirectory,
                "PostgreSQL data directory \(dataDirectory) contains a quote, backslash, $, ` or line break: "
                    + "choose a plainer path")
        }
        let binDirectory = try Self.findServerBinaries()
        let serverUser = geteuid() == 0 ? "postgres" : nil
        let runner = try CommandRunner(serverUser: serverUser)
        let logFile = dataDirectory + "/server.log"

        try Self.prepareDirectory(dataDirectory, runner: runner)

        let port: Int
        let reused: Bool
        if let running = Self.runningServer(dataDirectory) {
            port = running
            reused = true
            try Self.waitUntilAnswering(
                port: port, binDirectory: binDirectory, runner: runner, dataDirectory: dataDirectory)
        } else {
            reused = false
            try Self.initialiseIfNeeded(dataDirectory, binDirectory: binDirectory, runner: runner)
            port = try Self.start(
                dataDirectory, logFile: logFile, settings: settings, binDirectory: binDirectory, runner: runner)
        }
        try Self.createDatabaseIfMissing(port: port, binDirectory: binDirectory, runner: runner)

        self.dataDirectory = dataDirectory
        self.logFile = logFile
        self.port = port
        self.url = Self.url(port: port, database: Self.database)
        self.reusedRunningServer = reused
        self.binDirectory = binDirectory
        self.runner = runner
    }

    /// A libpq URI of another database of this cluster, e.g. `postgres`.
    public func url(database: String) -> String {
        Self.url(port: port, database: database)
    }

    static func url(port: Int, database: String) -> String {
        "postgresql://\(user)@127.0.0.1:\(port)/\(database)"
    }

    /// Stops the server (`pg_ctl -m fast stop`), also one that was reused; best effort, for paths that have
    /// nothing better to do with a failure. `stopChecked()` reports it.
    public func stop() {
        try? stopChecked()
    }

    /// Stops the server (`pg_ctl -m fast stop`), also one that was reused. Stopping a stopped server is not an
    /// error.
    public func stopChecked() throws {
        try Self.stop(dataDirectory, binDirectory: binDirectory, runner: runner)
    }

    /// Stops the server running on the data directory `directory`, if one does, without starting anything.
    public static func stop(directory: String) throws {
        let dataDirectory = absolutePath(directory)
        guard runningServer(dataDirectory) != nil else { return }
        try stop(
            dataDirectory, binDirectory: findServerBinaries(),
            runner: CommandRunner(serverUser: geteuid() == 0 ? "postgres" : nil))
    }

    static func stop(_ dataDirectory: String, binDirectory: String, runner: CommandRunner) throws {
        let pidFile = dataDirectory + "/postmaster.pid"
        guard FileManager.default.fileExists(atPath: pidFile) else { return }
        let result = try runner.run(
            binDirectory + "/pg_ctl", ["-D", dataDirectory, "-m", "fast", "-w", "-t", "60", "stop"], asServer: true)
        if result.status != 0 && runningServer(dataDirectory) != nil {
            throw ThrowawayPostgresError(
                .stopFailed,
                "could not stop PostgreSQL in \(dataDirectory): \(result.lastLine); "
                    + "stop it by hand with pg_ctl -D \(dataDirectory) stop")
        }
    }

    // MARK: - Steps

    /// Settings the caller may not change: the server must stay on 127.0.0.1, on the port chosen here.
    static let fixedSettings: Set<String> = ["listen_addresses", "port", "unix_socket_directories"]

    static func check(_ settings: [(name: String, value: String)]) throws {
        for (name, value) in settings {
            let plain =
                name.first.map { $0.isASCII && ($0.isLetter || $0 == "_") } == true
                && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ".") }
            guard plain else {
                throw ThrowawayPostgresError(
                    .invalidSetting,
                    "'\(name)' is not a PostgreSQL setting name (a letter or _, then letters, digits, _ and .)")
            }
            guard !fixedSettings.contains(name.lowercased()) else {
                throw ThrowawayPostgresError(
                    .invalidSetting,
                    "\(name) of a throwaway PostgreSQL is fixed (127.0.0.1, a free port): leave it out")
            }
            guard !value.contains(where: { $0.isNewline || $0 == "\0" }) else {
                throw ThrowawayPostgresError(.invalidSetting, "the value of \(name) contains a line break")
            }
        }
    }

    static func absolutePath(_ path: String) -> String {
        let base =
            path.hasPrefix("/")
            ? URL(fileURLWithPath: path)
            : URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(path)
        var result = base.standardizedFileURL.path
        while result.count > 1 && result.hasSuffix("/") { result.removeLast() }
        return result
    }

    /// `pg_config --bindir` when it holds `initdb`, else the highest `/usr/lib/postgresql/<version>/bin`.
    static func findServerBinaries() throws -> String {
        let fm = FileManager.default
        func hasServer(_ dir: String) -> Bool {
            fm.isExecutableFile(atPath: dir + "/initdb") && fm.isExecutableFile(atPath: dir + "/pg_ctl")
                && fm.isExecutableFile(atPath: dir + "/postgres")
        }
        if let pgConfig = CommandRunner.findInPath("pg_config"),
            let result = try? CommandRunner(serverUser: nil).run(pgConfig, ["--bindir"], asServer: false),
            result.status == 0
        {
            let dir = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
            if hasServer(dir) { return dir }
        }
        let root = "/usr/lib/postgresql"
        let versions = ((try? fm.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap { name -> ([Int], String)? in
                let parts = name.split(separator: ".").map { Int($0) }
                guard !parts.isEmpty, !parts.contains(nil) else { return nil }
                return (parts.compactMap { $0 }, root + "/" + name + "/bin")
            }
            .filter { hasServer($0.1) }
            .sorted { $0.0.lexicographicallyPrecedes($1.0) }
        if let best = versions.last { return best.1 }
        throw ThrowawayPostgresError(
            .binariesNotFound,
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found via pg_config or in "
                + "/usr/lib/postgresql/*/bin: run scripts/setup (or install postgresql)")
    }

    /// Creates the directory; as root, hands it to the server user and checks that user can reach it.
    static func prepareDirectory(_ dir: String, runner: CommandRunner) throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: dir, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw ThrowawayPostgresError(
                    .unusableDirectory, "\(dir) exists and is not a directory: remove it or choose another path")
            }
        } else {
            do {
                // Parents with the default mode (the server user must be able to traverse them), the data
                // directory itself private.
                let parent = (dir as NSString).deletingLastPathComponent
                try fm.createDirectory(atPath: parent, withIntermediateDirectories: true)
                try fm.createDirectory(
                    atPath: dir, withIntermediateDirectories: false,
                    attributes: [.posixPermissions: 0o700])
            } catch {
                throw ThrowawayPostgresError(
                    .unusableDirectory,
                    "cannot create the PostgreSQL data directory \(dir): \(error.localizedDescription)")
            }
        }
        guard let user = runner.serverUser, let account = runner.serverAccount else { return }
        var info = stat()
        if stat(dir, &info) == 0 && info.st_uid != account.uid {
            // Hand over the whole tree: a directory initialised earlier by another user must become the server's.
            try changeOwner(dir, to: account)
            if let walker = fm.enumerator(atPath: dir) {
                while let relative = walker.nextObject() as? String {
                    try changeOwner(dir + "/" + relative, to: account)
                }
            }
        }
        let probe = try runner.run("/usr/bin/test", ["-w", dir, "-a", "-x", dir], asServer: true)
        if probe.status != 0 {
            throw ThrowawayPostgresError(
                .unusableDirectory,
                "the \(user) OS user cannot reach \(dir): make its parent directories searchable "
                    + "(chmod o+x) or run from a directory outside private home directories")
        }
    }

    static func changeOwner(_ path: String, to account: (uid: uid_t, gid: gid_t)) throws {
        if lchown(path, account.uid, account.gid) != 0 {
            let reason = String(cString: strerror(errno))
            throw ThrowawayPostgresError(
                .unusableDirectory, "cannot give \(path) to the postgres OS user: \(reason)")
        }
    }

    /// The port of a live server on `dir`, from its `postmaster.pid`; nil when none runs there.
    static func runningServer(_ dir: String) -> Int? {
        guard let text = try? String(contentsOfFile: dir + "/postmaster.pid", encoding: .utf8) else { return nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard lines.count >= 4, let pid = pid_t(lines[0]), pid > 0, let port = Int(lines[3]) else { return nil }
        guard kill(pid, 0) == 0 || errno == EPERM else { return nil }
        #if os(Linux)
            // A stale file whose pid now belongs to another program.
            if let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8),
                !comm.contains("postgres") && !comm.contains("postmaster")
            {
                return nil
            }
        #endif
        return port
    }

    static func waitUntilAnswering(port: Int, binDirectory: String, runner: CommandRunner, dataDirectory: String)
        throws
    {
        let deadline = Date().addingTimeInterval(60)
        var last = CommandRunner.Result(status: 2, output: "")
        repeat {
            last = try runner.run(
                binDirectory + "/pg_isready",
                ["-h", "127.0.0.1", "-p", String(port), "-U", user, "-d", "postgres", "-t", "5"], asServer: false)
            if last.status == 0 { return }
            Thread.sleep(forTimeInterval: 0.25)
        } while Date() < deadline
        throw ThrowawayPostgresError(
            .notAnswering,
            "a PostgreSQL server runs on \(dataDirectory) but does not answer on 127.0.0.1:\(port) "
                + "(\(last.lastLine)): stop it with pg_ctl -D \(dataDirectory) stop, or remove the directory")
    }

    static func initialiseIfNeeded(_ dir: String, binDirectory: String, runner: CommandRunner) throws {
        let fm = FileManager.default
        if !fm.fileExists(atPath: dir + "/PG_VERSION") {
            if let entries = try? fm.contentsOfDirectory(atPath: dir), !entries.isEmpty {
                throw ThrowawayPostgresError(
                    .unusableDirectory,
                    "\(dir) is not empty and not a PostgreSQL data directory: remove it or choose another path")
            }
            let result = try runner.run(
                binDirectory + "/initdb",
                ["-D", dir, "-A", "trust", "-U", user, "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"],
                asServer: true)
            if result.status != 0 {
                throw ThrowawayPostgresError(
                    .initdbFailed, "initdb failed in \(dir): \(result.lastLine); remove the directory and retry")
            }
        }
        // The settings live in an included file, rewritten at every start, so that nothing is passed to
        // pg_ctl's shell command line.
        let conf = dir + "/postgresql.conf"
        let include = "include_if_exists = 'slawatch.conf'"
        let current = (try? String(contentsOfFile: conf, encoding: .utf8)) ?? ""
        if !current.contains(include) {
            do {
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: conf))
                defer { try? handle.close() }
                try handle.seekToEnd()
                let addition = "\n# Added by slawatch: settings of this throwaway cluster.\n\(include)\n"
                try handle.write(contentsOf: Data(addition.utf8))
            } catch {
                throw ThrowawayPostgresError(
                    .initdbFailed, "cannot update \(conf): \(error.localizedDescription); remove \(dir) and retry")
            }
        }
    }

    /// Starts the server on a free port and returns the port; retries on a port taken in the meantime.
    static func start(
        _ dir: String, logFile: String, settings: [(name: String, value: String)], binDirectory: String,
        runner: CommandRunner
    ) throws -> Int {
        var lastProblem = ""
        for _ in 0..<3 {
            let port = try freePort()
            try writeSettings(dir, port: port, extra: settings, runner: runner)
            var logInfo = stat()
            let logStart = stat(logFile, &logInfo) == 0 ? Int(logInfo.st_size) : 0
            let result = try runner.run(
                binDirectory + "/pg_ctl", ["-D", dir, "-l", logFile, "-w", "-t", "60", "start"], asServer: true)
            if result.status == 0, runningServer(dir) != nil {
                return port
            }
            let logged = serverLog(logFile, from: logStart)
            lastProblem = logged.problem ?? result.lastLine
            // Another program took the port between freePort() and the server's bind: try another one.
            guard logged.text.contains("already in use") || logged.text.contains("could not bind") else { break }
        }
        throw ThrowawayPostgresError(
            .startFailed, "PostgreSQL did not start in \(dir): \(lastProblem); see \(logFile)")
    }

    static func writeSettings(
        _ dir: String, port: Int, extra: [(name: String, value: String)], runner: CommandRunner
    ) throws {
        var settings = """
            # Written by slawatch at every start of this throwaway cluster; changes here are lost.
            listen_addresses = '127.0.0.1'
            port = \(port)
            # Relative to the data directory: the socket lives inside it, however long its path.
            unix_socket_directories = '.'
            # The data is disposable: trade durability for speed.
            fsync = off
            synchronous_commit = off
            full_page_writes = off
            max_connections = 500

            """
        if !extra.isEmpty {
            // Later lines win: these override the defaults above. Quoted as postgresql.conf strings.
            settings += "# Given to this start.\n"
            for (name, value) in extra {
                let quoted = value.replacingOccurrences(of: "\\", with: "\\\\")
                    .replacingOccurrences(of: "'", with: "''")
                settings += "\(name) = '\(quoted)'\n"
            }
        }
        let path = dir + "/slawatch.conf"
        do {
            try Data(settings.utf8).write(to: URL(fileURLWithPath: path))
            chmod(path, 0o600)
            if let account = runner.serverAccount { try changeOwner(path, to: account) }
        } catch let error as ThrowawayPostgresError {
            throw error
        } catch {
            throw ThrowawayPostgresError(.startFailed, "cannot write \(path): \(error.localizedDescription)")
        }
    }

    /// What the server logged since byte `offset`, and its most telling line without the time stamp prefix.
    static func serverLog(_ logFile: String, from offset: Int) -> (text: String, problem: String?) {
        guard let data = FileManager.default.contents(atPath: logFile), data.count > offset else { return ("", nil) }
        let text = String(decoding: data.suffix(from: offset), as: UTF8.self)
        let lines = text.split(whereSeparator: \.isNewline).map(String.init)
        for level in ["PANIC:", "FATAL:", "ERROR:"] {
            if let line = lines.last(where: { $0.contains(level) }), let range = line.range(of: level) {
                return (text, String(line[range.lowerBound...]).replacingOccurrences(of: ":  ", with: ": "))
            }
        }
        return (text, nil)
    }

    /// A TCP port of 127.0.0.1 that was free a moment ago: bound to port 0, read, closed.
    static func freePort() throws -> Int {
        #if canImport(Darwin)
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #else
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #endif
        guard fd >= 0 else {
            throw ThrowawayPostgresError(.startFailed, "socket() failed: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw -> Bool in
                bind(fd, raw, length) == 0 && getsockname(fd, raw, &length) == 0
            }
        }
        guard bound else {
            throw ThrowawayPostgresError(
                .startFailed, "cannot find a free TCP port on 127.0.0.1: \(String(cString: strerror(errno)))")
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func createDatabaseIfMissing(port: Int, binDirectory: String, runner: CommandRunner) throws {
        let connection = ["-h", "127.0.0.1", "-p", String(port), "-U", user]
        let check = try runner.run(
            binDirectory + "/psql",
            ["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"] + connection
                + ["-d", "postgres", "-c", "SELECT 1 FROM pg_database WHERE datname = 'slawatch'"],
            asServer: false)
        guard check.status == 0 else {
            throw ThrowawayPostgresError(
                .databaseFailed,
                "cannot query the PostgreSQL server on 127.0.0.1:\(port): \(check.lastLine)")
        }
        if check.output.trimmingCharacters(in: .whitespacesAndNewlines) == "1" { return }
        let create = try runner.run(binDirectory + "/createdb", connection + [database], asServer: false)
        if create.status != 0 && !create.output.contains("already exists") {
            throw ThrowawayPostgresError(
                .databaseFailed, "cannot create the database \(database) on 127.0.0.1:\(port): \(create.lastLine)")
        }
    }
}
