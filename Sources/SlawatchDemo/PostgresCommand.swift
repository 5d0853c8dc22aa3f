import SlawatchApp

/// `slawatch postgres start|stop --dir DIR [--setting NAME=VALUE ...]`: a throwaway PostgreSQL for scripts and
/// tests (scripts/pg-throwaway wraps it), the one `slawatch demo` uses.
///
/// `start` starts the cluster in the data directory DIR, or reuses the server already running there, and prints
/// one line, `postgresql://slawatch@127.0.0.1:PORT/postgres`; each `--setting` is a server setting for a start.
/// `stop` stops the server running there, if one does, and prints nothing.
public enum PostgresCommand {
    public static let command = SlawatchCommand(
        help: CommandHelp(
            name: "postgres", arguments: "start|stop",
            summary: "start (or reuse) or stop the demo's throwaway PostgreSQL; start prints its URL",
            options: [
                .init("dir", value: "DIR", "the cluster's data directory; required"),
                .init("setting", value: "NAME=VALUE", "a server setting for start; may be given more than once"),
            ],
            examples: [
                "slawatch postgres start --dir /tmp/slawatch-pg --setting shared_buffers=2GB",
                "slawatch postgres stop --dir /tmp/slawatch-pg",
            ],
            forScripts: true),
        run: run)

    static func run(_ context: CommandContext) async throws(CommandError) {
        let args = context.args
        guard args.positional.count == 1, let action = args.positional.first, ["start", "stop"].contains(action) else {
            throw .usage("usage: slawatch postgres start|stop --dir DIR [--setting NAME=VALUE ...]")
        }
        guard let directory = args["dir"], !directory.isEmpty else {
            throw .usage("slawatch postgres \(action) needs --dir DIR, the cluster's data directory")
        }
        if action == "stop" {
            guard args.all("setting").isEmpty else { throw .usage("--setting goes with start, not stop") }
            do { try ThrowawayPostgres.stop(directory: directory) } catch { throw .runtime("\(error)") }
            return
        }
        var settings: [(name: String, value: String)] = []
        for text in args.all("setting") {
            guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
                throw .usage("--setting expects NAME=VALUE, e.g. shared_buffers=2GB, found '\(text)'")
            }
            settings.append((String(text[..<equals]), String(text[text.index(after: equals)...])))
        }
        let server: ThrowawayPostgres
        do {
            server = try ThrowawayPostgres(directory: directory, settings: settings)
        } catch let error as ThrowawayPostgresError where error.code == .invalidSetting {
            throw .usage(error.message)
        } catch {
            throw .runtime("\(error)")
        }
        context.output(server.url(database: "postgres") + "\n")
    }
}
