/// How the store connects: where, under which name, and the settings every connection gets.
///
/// Each connection is opened with TCP keepalives, so that a peer gone silent (a server that lost
/// power, a dropped NAT entry) is noticed within about a minute instead of hanging a cycle, and
/// with a `statement_timeout`, so that a stuck statement ends as an error. Long readers (a full
/// pass's COPY streams) and migrations run without it.
public struct ConnectionSettings: Sendable, Hashable {
    /// A libpq URI or conninfo string, taken as given.
    public var url: String
    public var applicationName: String
    /// `statement_timeout` in milliseconds; 0 turns it off.
    public var statementTimeoutMilliseconds: Int
    /// TCP keepalives: on, first probe after `idle` seconds without traffic, then every `interval`
    /// seconds, the connection given up after `count` unanswered probes.
    public var keepalivesIdleSeconds: Int
    public var keepalivesIntervalSeconds: Int
    public var keepalivesCount: Int

    /// A statement of the CLI or of a worker's cycle that runs longer than this is stuck.
    public static let defaultStatementTimeoutMilliseconds = 60_000

    public init(
        url: String, applicationName: String = "slawatch",
        statementTimeoutMilliseconds: Int = ConnectionSettings.defaultStatementTimeoutMilliseconds,
        keepalivesIdleSeconds: Int = 30, keepalivesIntervalSeconds: Int = 10, keepalivesCount: Int = 3
    ) {
        self.url = url
        self.applicationName = applicationName
        self.statementTimeoutMilliseconds = statementTimeoutMilliseconds
        self.keepalivesIdleSeconds = keepalivesIdleSeconds
        self.keepalivesIntervalSeconds = keepalivesIntervalSeconds
        self.keepalivesCount = keepalivesCount
    }

    /// The settings of the connections that stream a whole view: named apart, without a timeout.
    public var forStreaming: ConnectionSettings {
        var settings = self
        settings.applicationName = "slawatch-reader"
        settings.statementTimeoutMilliseconds = 0
        return settings
    }

    /// The settings of a worker's delivery connections (claims and records, lease renewals): named
    /// apart, so that `pg_stat_activity` tells them from the evaluation's.
    public var forDelivery: ConnectionSettings {
        var settings = self
        settings.applicationName = "slawatch-delivery"
        return settings
    }

    /// The libpq connection keywords for the keepalives.
    var keepaliveOptions: [(key: String, value: String)] {
        [
            ("keepalives", "1"), ("keepalives_idle", String(keepalivesIdleSeconds)),
            ("keepalives_interval", String(keepalivesIntervalSeconds)), ("keepalives_count", String(keepalivesCount)),
        ]
    }
}
