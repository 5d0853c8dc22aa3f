/// Every built-in command of `slawatch` and the options every command takes, described once: the help
/// texts are made from this table and so is what `Arguments` accepts. Commands of other modules
/// describe themselves the same way (`SlawatchCommand.help`).
enum CommandCatalog {
    /// Options every command takes.
    static let globalOptions: [CommandHelp.Option] = [
        .init(
            "database", value: "URL",
            "the database: a libpq URI such as postgresql://user@host:5432/helpdesk, or a conninfo",
            default: "$DATABASE_URL"),
        .init("rules", value: "DIR", "the rules directory (every *.json file in it)", default: "./rules"),
        .init(
            "now", value: "INSTANT", "act as of this ISO 8601 instant, e.g. 2026-03-24T10:30:00Z",
            default: "the current time"),
        .init("log-format", value: "FORMAT", "the log on stderr: text or json", default: "text"),
    ]

    /// The built-in commands, in the order `slawatch --help` lists them.
    static let commands: [CommandHelp] = [
        CommandHelp(
            name: "migrate",
            summary: "create or upgrade the schema, compile the rules, install the dashboard function",
            examples: ["slawatch migrate --database postgresql://slawatch@127.0.0.1:5432/helpdesk --rules rules"]),
        CommandHelp(
            name: "check",
            summary: "validate the rules; every problem is named by file and JSON path",
            examples: ["slawatch check --rules rules"]),
        CommandHelp(
            name: "run",
            summary: "the worker: evaluate tickets, record threshold events, deliver them, run due reports",
            options: [
                .init("once", "one cycle and every delivery due, then exit (for cron)"),
                .init(
                    "interval", value: "DURATION", "time between evaluation cycles; a due crossing wakes it sooner",
                    default: "30s"),
                .init(
                    "wait", value: "DURATION",
                    "with --once: how long to wait for an unavailable database before exiting 3", default: "30s"),
                .init(
                    "full-every", value: "auto|DURATION", "how often a cycle is a full pass",
                    default: "auto: 100 times the last full pass, at most 1h"),
                .init("full", "make every cycle a full pass"),
                .init("dry-run", "print the events that would be emitted, as JSON lines; write and send nothing"),
                .init(
                    "metrics-file", value: "PATH", "write Prometheus metrics there after every cycle", default: "none"),
            ],
            examples: [
                "slawatch run --interval 30s --metrics-file /var/lib/slawatch/metrics.prom",
                "slawatch run --once --dry-run",
            ]),
        CommandHelp(
            name: "dashboard",
            summary: "the SLA dashboard: every ticket with a clock, for people or as JSON",
            options: [
                .init("format", value: "FORMAT", "table (for people) or json", default: "table"),
                .init("role", value: "ROLE", "ADMIN or MESA (every ticket), AREA (only --area's)", default: "ADMIN"),
                .init("area", value: "NAME", "the area whose tickets AREA sees; required with --role AREA"),
                .init(
                    "filter", value: "JSON",
                    #"a filter in the rules' grammar, e.g. {"column": "vencido", "op": "EQ", "operand": true}"#,
                    default: "none"),
                .init("search", value: "TEXT", "only tickets with this text in code, title or category, ignoring case"),
                .init(
                    "sort", value: "COLUMN", "a dashboard field or any column, nulls last",
                    default: "actualizado_en, newest first"),
                .init("desc", "sort --sort's column descending"),
                .init("top", value: "N", "at most N rows, from 0 to 100", default: "every row"),
                .init("offset", value: "N", "skip the first N rows", default: "0"),
            ],
            examples: ["slawatch dashboard --format json --role AREA --area TECNOLOGIA --sort horas_restantes --top 20"]
        ),
        CommandHelp(
            name: "ticket", arguments: "CODE",
            summary: "one ticket's clock explained, with its thresholds, events and deliveries",
            options: [.init("format", value: "FORMAT", "text or json", default: "text")],
            examples: ["slawatch ticket TKT-2026-00042 --format json"]),
        CommandHelp(
            name: "events",
            summary: "the recorded threshold events",
            options: [
                .init(
                    "since", value: "INSTANT", "only events detected at or after this ISO 8601 instant",
                    default: "every event"),
                .init("format", value: "FORMAT", "text or json", default: "text"),
            ],
            examples: ["slawatch events --since 2026-03-24T00:00:00Z --format json"]),
        CommandHelp(
            name: "deliveries",
            summary: "every delivery with its attempts and failures; --retry queues a dead one again",
            options: [
                .init(
                    "status", value: "STATUS", "only deliveries that are pending, sent, failed, dead or superseded",
                    default: "every status"),
                .init("retry", value: "ID", "queue the dead delivery ID again; the next cycle sends it"),
                .init("format", value: "FORMAT", "text or json", default: "text"),
            ],
            examples: ["slawatch deliveries --status dead", "slawatch deliveries --retry 42"]),
        CommandHelp(
            name: "report", arguments: "NAME",
            summary: "render a report now (--print) or send it through its channels (--send)",
            options: [
                .init("print", "render the report on stdout without sending it"),
                .init("send", "send the report now through its channels"),
                .init("format", value: "FORMAT", "with --print: text, html or json", default: "text"),
            ],
            examples: ["slawatch report diario --print --format html", "slawatch report diario --send"]),
        CommandHelp(
            name: "whatif",
            summary: "what proposed rules would have made of recent tickets, beside the current rules; writes nothing",
            options: [
                .init("proposed", value: "DIR", "the proposed rules directory (channels and routes may be absent)"),
                .init(
                    "since", value: "INSTANT", "only tickets created at or after this ISO 8601 instant",
                    default: "30 days before --until"),
                .init("until", value: "INSTANT", "only tickets created before this ISO 8601 instant", default: "now"),
                .init("format", value: "FORMAT", "text, json or html", default: "text"),
            ],
            examples: ["slawatch whatif --proposed docs/examples/proposed-rules --since 2026-02-01T00:00:00Z"]),
        CommandHelp(
            name: "forecast",
            summary: "the running clocks that will breach within a horizon if nothing changes, by area",
            options: [
                .init("within", value: "DURATION", "the horizon, e.g. 8h, 90m or 1d", default: "8h"),
                .init("format", value: "FORMAT", "text or json", default: "text"),
                .init("full-read", "evaluate every ticket rather than only those the worker's clocks say may be due"),
            ],
            examples: ["slawatch forecast --within 4h --format json"]),
        CommandHelp(
            name: "serve",
            summary: "the read-only HTTP API: dashboard, tickets, list, query, health",
            options: [
                .init(
                    "listen", value: "HOST:PORT", "the numeric address and port to listen on (port 0: any free one)",
                    default: "the rules' api.listen, else 127.0.0.1:8080"),
                .init("pool", value: "N", "database connections, one borrowed per request", default: "8"),
                .init(
                    "threads", value: "N", "libmicrohttpd's threads answering requests", default: "as many as --pool"),
                .init(
                    "timeout", value: "DURATION", "a connection silent this long is closed (a stalled client)",
                    default: "30s"),
            ],
            examples: ["slawatch serve --listen 127.0.0.1:8080 --pool 8 --rules /etc/slawatch/rules"]),
        CommandHelp(
            name: "token",
            summary: "an HS256 token for the API, signed with api.jwt.secret",
            options: [
                .init("role", value: "ROLE", "ADMIN, MESA, AREA, ticket_admin, ticket_agent or ticket_user"),
                .init("area", value: "NAME", "the area an AREA or ticket_agent token sees"),
                .init("email", value: "EMAIL", "the e-mail a ticket_user token sees the tickets of"),
                .init("scope", value: "WORDS", "the scope claim, e.g. \"tickets:read\" for the ticket query"),
                .init("ttl", value: "DURATION", "how long the token is valid", default: "1h"),
            ],
            examples: ["slawatch token --role AREA --area TECNOLOGIA --ttl 15m"]),
    ]

    /// `slawatch --help`: every command with one line, then the options every command takes.
    static func overview(_ all: [CommandHelp]) -> String {
        let width = all.map(\.name.count).max() ?? 0
        func line(_ command: CommandHelp) -> [String] {
            CommandHelp.wrapped(
                "  " + command.name + String(repeating: " ", count: width - command.name.count) + "   ", command.summary
            )
        }
        var lines = [
            "slawatch \(SlawatchVersion.current): SLA clocks, alerts and reports for a help desk in PostgreSQL", "",
            "usage: slawatch COMMAND [options]", "", "commands:",
        ]
        lines += all.filter { !$0.forScripts }.flatMap(line)
        let scripts = all.filter(\.forScripts)
        if !scripts.isEmpty { lines += ["", "for scripts and tests:"] + scripts.flatMap(line) }
        lines += ["", "options every command takes:"] + CommandHelp.table(globalOptions)
        lines += [
            "",
            "slawatch COMMAND --help lists a command's options with their defaults and an example;",
            "slawatch --version prints the versions of slawatch, libpq, libcurl and OpenSSL.",
            "Exit codes: 0 ok, 1 failure at run time, 2 bad usage or invalid rules, 3 database unreachable.",
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}
