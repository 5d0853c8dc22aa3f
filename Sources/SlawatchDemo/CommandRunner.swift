import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs a program with an argument vector, optionally as the server's OS user, and collects its output.
struct CommandRunner: Sendable {
    struct Result: Sendable {
        var status: Int32
        var output: String
        /// The last non-empty line of the output, for one-line error messages.
        var lastLine: String {
            output.split(whereSeparator: \.isNewline).last.map(String.init) ?? "exit status \(status)"
        }
    }

    /// The OS user server commands run as, or nil to run them as this process's user.
    let serverUser: String?
    let serverAccount: (uid: uid_t, gid: gid_t)?
    let runuser: String?

    init(serverUser: String?) throws {
        self.serverUser = serverUser
        guard let serverUser else {
            serverAccount = nil
            runuser = nil
            return
        }
        guard let account = Self.lookUpAccount(serverUser) else {
            throw ThrowawayPostgresError(
                .binariesNotFound,
                "running as root needs the \(serverUser) OS user, which does not exist: "
                    + "run scripts/setup (or install postgresql), or run as an ordinary user")
        }
        guard
            let runuser = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser", "/bin/runuser"]
                .first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        else {
            throw ThrowawayPostgresError(
                .binariesNotFound, "runuser not found (package util-linux): install it or run as an ordinary user")
        }
        self.serverAccount = account
        self.runuser = runuser
    }

    static func lookUpAccount(_ name: String) -> (uid: uid_t, gid: gid_t)? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>? = nil
        var buffer = [CChar](repeating: 0, count: 16384)
        let status = getpwnam_r(name, &entry, &buffer, buffer.count, &result)
        guard status == 0, result != nil else { return nil }
        return (entry.pw_uid, entry.pw_gid)
    }

    static func findInPath(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `executable` with `arguments`; with `asServer`, as the server user when there is one.
    func run(_ executable: String, _ arguments: [String], asServer: Bool) throws -> Result {
        var path = executable
        var argv = arguments
        if asServer, let serverUser, let runuser {
            path = runuser
            argv = ["-u", serverUser, "--", executable] + arguments
        }
        // Connection settings of the caller's environment (PGHOST, PGSSLMODE, PGOPTIONS...) must not leak in.
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PG") }
        environment["PGCONNECT_TIMEOUT"] = "10"
        environment["LC_MESSAGES"] = "C"

        // Output (stdout and stderr) goes through a temporary file, not a pipe: `pg_ctl start` leaves a server
        // behind, and anything it inherited would keep a pipe from ever reaching end-of-file.
        let outputPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("slawatch-pg-\(UUID().uuidString).out").path
        let output = open(outputPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard output >= 0 else {
            throw ThrowawayPostgresError(
                .commandFailed, "cannot create \(outputPath): \(String(cString: strerror(errno)))")
        }
        defer { unlink(outputPath) }
        let status: Int32
        do {
            defer { close(output) }
            status = try Self.spawnAndWait(path, argv, environment: environment, output: output)
        }
        let text = FileManager.default.contents(atPath: outputPath).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return Result(status: status, output: text)
    }

    /// Runs the program to completion and returns its exit status (128 + the signal if one killed it).
    ///
    /// Not Foundation's `Process`: on Linux it hands the child a socket and waits for that socket to close, and
    /// the PostgreSQL server that `pg_ctl start` leaves behind inherits it, so `waitUntilExit()` never returns.
    /// Here the child gets /dev/null, the output file and no other descriptor, runs in "/" (the server user may
    /// not be allowed into the current directory; initdb fails when it cannot read its working directory) with
    /// default signal handling, and is reaped with `waitpid`.
    static func spawnAndWait(_ path: String, _ arguments: [String], environment: [String: String], output: Int32)
        throws -> Int32
    {
        #if os(Linux)
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_adddup2(&actions, output, 1)
            posix_spawn_file_actions_adddup2(&actions, output, 2)
            // glibc's extensions (2.34 and 2.29), which Swift's Glibc module does not declare.
            typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
            typealias ChangeDirectory =
                @convention(c) (
                    UnsafeMutablePointer<posix_spawn_file_actions_t>,
                    UnsafePointer<CChar>
                ) -> Int32
            if let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") {
                _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
            } else {
                let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
                for fd in open.compactMap({ Int32($0) }) where fd > 2 && fd != output {
                    posix_spawn_file_actions_addclose(&actions, fd)
                }
            }
            if let symbol = dlsym(nil, "posix_spawn_file_actions_addchdir_np") {
                _ = unsafeBitCast(symbol, to: ChangeDirectory.self)(&actions, "/")
            }

            var attributes = posix_spawnattr_t()
            posix_spawnattr_init(&attributes)
            defer { posix_spawnattr_destroy(&attributes) }
            var emptyMask = sigset_t()
            sigemptyset(&emptyMask)
            posix_spawnattr_setsigmask(&attributes, &emptyMask)
            var defaultSignals = sigset_t()
            sigemptyset(&defaultSignals)
            for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2] {
                sigaddset(&defaultSignals, signal)
            }
            posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

            let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
            let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
            defer {
                argv.forEach { free($0) }
                envp.forEach { free($0) }
            }
            var pid = pid_t()
            let spawned = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
            guard spawned == 0 else {
                throw ThrowawayPostgresError(
                    .commandFailed, "cannot run \(path): \(String(cString: strerror(spawned)))")
            }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 {
                guard errno == EINTR else {
                    throw ThrowawayPostgresError(
                        .commandFailed, "waiting for \(path) failed: \(String(cString: strerror(errno)))")
                }
            }
            let signal = status & 0x7f
            return signal == 0 ? (status >> 8) & 0xff : 128 + signal
        #else
            let process = Process()
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = arguments
            process.environment = environment
            process.currentDirectoryURL = URL(fileURLWithPath: "/")
            let handle = FileHandle(fileDescriptor: output, closeOnDealloc: false)
            process.standardOutput = handle
            process.standardError = handle
            process.standardInput = FileHandle.nullDevice
            do {
                try process.run()
            } catch {
                throw ThrowawayPostgresError(.commandFailed, "cannot run \(path): \(error.localizedDescription)")
            }
            process.waitUntilExit()
            return process.terminationStatus
        #endif
    }
}
