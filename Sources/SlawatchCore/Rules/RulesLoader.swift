import Foundation

/// One problem in the rules, located by file and JSON path.
public struct RulesIssue: Error, Sendable, Hashable, CustomStringConvertible {
    public let file: String
    public let path: String
    public let message: String
    public var description: String { path.isEmpty ? "\(file): \(message)" : "\(file): \(path): \(message)" }

    /// Control characters that the rules' text brought into any part are written as escapes: an issue
    /// is always one line.
    init(file: String, path: String, message: String) {
        self.file = ErrorText.printable(file)
        self.path = ErrorText.printable(path)
        self.message = ErrorText.printable(message)
    }
}

/// Every problem found in a rules directory, in file order.
public struct RulesError: Error, Sendable, CustomStringConvertible {
    public let issues: [RulesIssue]
    public var description: String { issues.map(\.description).joined(separator: "\n") }
}

/// Reads rules files (JSON5: comments and trailing commas allowed), substitutes `${VAR}` from the
/// environment, merges them and checks everything, collecting every problem rather than stopping
/// at the first.
public enum RulesLoader {
    public static let topLevelKeys = [
        "source", "calendars", "policies", "channels", "smtp", "routes", "reports", "api", "perspectives",
    ]

    public static func load(files: [(path: String, contents: Data)], environment: [String: String]) throws(RulesError)
        -> RuleSet
    {
        var reader = RulesReader(environment: environment)
        let ruleSet = reader.read(files: files)
        if !reader.issues.isEmpty || ruleSet == nil { throw RulesError(issues: reader.issues) }
        return ruleSet!
    }

    /// Parses a filter given as JSON text (the CLI's `--filter`), with errors naming `origin`.
    /// Reads a filter already parsed from JSON (a request body's `filter`), with errors naming `origin`;
    /// operand types are not checked (the caller knows the view's types), `aliases` as below.
    public static func filter(value: JSONValue, origin: String, aliases: [String: String] = [:]) throws(RulesError)
        -> Filter
    {
        var reader = RulesReader(environment: [:])
        reader.file = origin
        reader.columnAliases = aliases
        reader.checksColumnTypes = false
        let filter = reader.filter(value, "", allowComputed: true)
        if let filter, reader.issues.isEmpty { return filter }
        throw RulesError(issues: reader.issues)
    }

    /// `aliases`: names the filter may use for columns (the API's `createdAt` for `created_at`); the
    /// filter returned names the columns.
    public static func filter(json: String, origin: String, aliases: [String: String] = [:]) throws(RulesError)
        -> Filter
    {
        var reader = RulesReader(environment: [:])
        reader.file = origin
        reader.columnAliases = aliases
        // The types of the columns are the view's, known once connected: the caller checks them
        // (`Filter.typeMismatches`).
        reader.checksColumnTypes = false
        let value: JSONValue
        do {
            // Not Foundation's decoder: a filter comes from a command line (or a request), and the
            // decoder traps on some valid JSON5 (a number such as -1.7976931348623157e+308, found
            // by the fuzz tests) where a rules file's operator would merely see `check` fail.
            value = try JSON5Parser.parse(json)
        } catch {
            throw RulesError(issues: [RulesIssue(file: origin, path: error.location, message: "not valid JSON")])
        }
        let filter = reader.filter(value, "", allowComputed: true)
        if let filter, reader.issues.isEmpty { return filter }
        throw RulesError(issues: reader.issues)
    }
}

/// The state of one reading: the file being read and the problems found so far.
struct RulesReader {
    let environment: [String: String]
    var file = ""
    var issues: [RulesIssue] = []
    /// Whether filter operands are checked against the types of the columns the contract and the
    /// computed columns define (`ColumnType.known`).
    var checksColumnTypes = true
    /// Column names a filter may use for others (the ticket list API's `createdAt` for `created_at`),
    /// replaced before the filter is checked.
    var columnAliases: [String: String] = [:]
    /// Strings whose `${VAR}` may name a variable that is not set: the value is then left unresolved
    /// and recorded in `unresolved` (path → variable), and only what needs it complains.
    static let optionalVariablePaths: Set<String> = ["api.jwt.secret"]
    var unresolved: [String: String] = [:]

    init(environment: [String: String]) { self.environment = environment }

    mutating func issue(_ path: String, _ message: String) {
        issues.append(RulesIssue(file: file, path: path, message: message))
    }

    mutating func read(files: [(path: String, contents: Data)]) -> RuleSet? {
        var sections: [String: [(file: String, value: JSONValue)]] = [:]
        if files.isEmpty {
            issues.append(
                RulesIssue(
                    file: "rules", path: "",
                    message: "no .json files found; see the example set in the repository's rules/"))
            return nil
        }
        for (path, contents) in files {
            file = path
            let value: JSONValue
            do {
                value = try JSONValue.decodeJSON5(contents)
            } catch {
                issue("", "not valid JSON5 at \(error.location): \(error.reason)")
                continue
            }
            // A name given twice in one object: the decoder silently keeps one of them.
            for repeated in (try? JSON5Parser.document(contents))?.repeatedNames ?? [] {
                let at = join(repeated.path, repeated.name)
                issue(at, "\"\(repeated.name)\" is defined twice in this object; only one definition is allowed")
            }
            // Checked before `${VAR}`s are replaced: in a document that is not an object they do not matter.
            guard case .object = value, case .object(let top) = substitute(value, "") else {
                issue("", "expected an object with keys \(RulesLoader.topLevelKeys.joined(separator: ", "))")
                continue
            }
            for key in top.keys.sorted() {
                guard RulesLoader.topLevelKeys.contains(key) else {
                    issue(
                        join("", key),
                        "unknown key; expected one of \(RulesLoader.topLevelKeys.joined(separator: ", "))")
                    continue
                }
                sections[key, default: []].append((path, top[key]!))
            }
        }

        var source = SourceViews.default
        if let defs = single("source", sections["source"]) {
            file = defs.file
            source = readSource(defs.value)
        }
        // Calendars first: policies refer to them.
        var calendars: [String: WorkCalendar] = [:]
        for (name, origin, value) in named("calendars", sections["calendars"]) {
            file = origin
            if let calendar = readCalendar(value, join("calendars", name)) { calendars[name] = calendar }
        }
        var channels: [String: Channel] = [:]
        for (name, origin, value) in named("channels", sections["channels"]) {
            file = origin
            if let channel = readChannel(name, value, join("channels", name)) { channels[name] = channel }
        }
        var smtp: SMTPSettings?
        if let defs = single("smtp", sections["smtp"]) {
            file = defs.file
            smtp = readSMTP(defs.value)
        }
        var policies: [Policy] = []
        var policyNames: [String: String] = [:]
        for (origin, value) in sections["policies"] ?? [] {
            file = origin
            for (i, item) in array(value, "policies").enumerated() {
                guard let policy = readPolicy(item, "policies[\(i)]", calendars: calendars) else { continue }
                if let other = policyNames[policy.name] {
                    issue("policies[\(i)].name", "policy \"\(policy.name)\" is defined twice (also in \(other))")
                }
                policyNames[policy.name] = origin
                policies.append(policy)
            }
        }
        var routes: [Route] = []
        for (origin, value) in sections["routes"] ?? [] {
            file = origin
            for (i, item) in array(value, "routes").enumerated() {
                if let route = readRoute(item, "routes[\(i)]", channels: channels, smtp: smtp) { routes.append(route) }
            }
        }
        var reports: [Report] = []
        var reportNames: [String: String] = [:]
        for (origin, value) in sections["reports"] ?? [] {
            file = origin
            for (i, item) in array(value, "reports").enumerated() {
                guard let report = readReport(item, "reports[\(i)]", channels: channels, smtp: smtp) else { continue }
                if let other = reportNames[report.name] {
                    issue("reports[\(i)].name", "report \"\(report.name)\" is defined twice (also in \(other))")
                }
                reportNames[report.name] = origin
                reports.append(report)
            }
        }
        var api: APISettings?
        if let defs = single("api", sections["api"]) {
            file = defs.file
            api = readAPI(defs.value)
        }
        var perspectives: [Perspective] = []
        var perspectiveOrigins: [String: String] = [:]
        for (origin, value) in sections["perspectives"] ?? [] {
            file = origin
            for (i, item) in array(value, "perspectives").enumerated() {
                guard let perspective = readPerspective(item, "perspectives[\(i)]") else { continue }
                for key in ["id \(perspective.id)", "\"\(perspective.name)\""] {
                    if let other = perspectiveOrigins[key] {
                        issue("perspectives[\(i)]", "a perspective with \(key) is defined twice (also in \(other))")
                    }
                    perspectiveOrigins[key] = origin
                }
                perspectives.append(perspective)
            }
        }
        guard issues.isEmpty else { return nil }
        var rules = RuleSet(
            source: source, calendars: calendars, policies: policies, channels: channels, smtp: smtp, routes: routes,
            reports: reports)
        rules.api = api
        rules.perspectives = perspectives
        return rules
    }

    // MARK: - Environment

    mutating func substitute(_ value: JSONValue, _ path: String) -> JSONValue {
        switch value {
        case .string(let s): return .string(expand(s, path))
        case .array(let items): return .array(items.enumerated().map { substitute($1, "\(path)[\($0)]") })
        case .object(let dict):
            var out: [String: JSONValue] = [:]
            for (k, v) in dict { out[k] = substitute(v, join(path, k)) }
            return .object(out)
        default: return value
        }
    }

    mutating func expand(_ text: String, _ path: String) -> String {
        guard text.contains("${") else { return text }
        var out = ""
        var rest = Substring(text)
        while let open = rest.range(of: "${") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else {
                issue(path, "unterminated ${ in \"\(text)\"")
                return text
            }
            let name = String(rest[open.upperBound..<close])
            if let value = environment[name] {
                out += value
            } else if Self.optionalVariablePaths.contains(path) {
                unresolved[path] = name
            } else {
                issue(path, "environment variable \(name) is not set; export it (secrets live only in the environment)")
            }
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }

    // MARK: - Sections

    mutating func single(_ key: String, _ defs: [(file: String, value: JSONValue)]?) -> (
        file: String, value: JSONValue
    )? {
        guard let defs, let first = defs.first else { return nil }
        for other in defs.dropFirst() {
            file = other.file
            issue(key, "\(key) is defined twice (also in \(first.file))")
        }
        return first
    }

    mutating func named(_ key: String, _ defs: [(file: String, value: JSONValue)]?) -> [(String, String, JSONValue)] {
        var seen: [String: String] = [:]
        var result: [(String, String, JSONValue)] = []
        for (origin, value) in defs ?? [] {
            file = origin
            guard case .object(let dict) = value else {
                issue(key, "expected an object of named \(key), found \(value.shortDescription)")
                continue
            }
            for name in dict.keys.sorted() {
                if let other = seen[name] {
                    issue(join(key, name), "\"\(name)\" is defined twice (also in \(other))")
                    continue
                }
                seen[name] = origin
                result.append((name, origin, dict[name]!))
            }
        }
        return result
    }

    mutating func readSource(_ value: JSONValue) -> SourceViews {
        var views = SourceViews.default
        guard let dict = object(value, "source", allowed: ["tickets", "status_changes"]) else { return views }
        if let v = dict["tickets"], let name = qualifiedName(v, "source.tickets") { views.tickets = name }
        if let v = dict["status_changes"], let name = qualifiedName(v, "source.status_changes") {
            views.statusChanges = name
        }
        return views
    }

    mutating func readCalendar(_ value: JSONValue, _ path: String) -> WorkCalendar? {
        guard let dict = object(value, path, allowed: ["type", "timezone", "week", "holidays"]) else { return nil }
        let type = dict["type"].flatMap { string($0, path + ".type") }
        if let type, type != "always" && type != "business_hours" {
            issue(path + ".type", "expected \"always\" or \"business_hours\", found \"\(type)\"")
            return nil
        }
        if type == "always" {
            for key in ["timezone", "week", "holidays"] where dict[key] != nil {
                issue("\(path).\(key)", "not used by an \"always\" calendar; remove it or drop \"type\": \"always\"")
            }
            return .always
        }
        guard let zoneValue = dict["timezone"] else {
            issue(path, "expected \"type\": \"always\" or a \"timezone\" with a \"week\" of working ranges")
            return nil
        }
        guard let zoneName = string(zoneValue, path + ".timezone") else { return nil }
        guard Self.isTimeZone(zoneName) else {
            issue(path + ".timezone", "unknown IANA time zone \"\(zoneName)\" (e.g. \"America/Bogota\")")
            return nil
        }
        let dayKeys = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        var week = [[WorkingRange]](repeating: [], count: 7)
        guard let weekValue = dict["week"] else {
            issue(
                path + ".week",
                "missing: give working ranges per day, e.g. {\"mon\": [\"08:00-12:00\", \"13:00-18:00\"], ...}")
            return nil
        }
        if let days = object(weekValue, path + ".week", allowed: dayKeys) {
            for (index, key) in dayKeys.enumerated() {
                guard let dayValue = days[key] else { continue }
                var ranges: [WorkingRange] = []
                for (i, item) in array(dayValue, "\(path).week.\(key)").enumerated() {
                    let itemPath = "\(path).week.\(key)[\(i)]"
                    guard let text = string(item, itemPath) else { continue }
                    guard let range = WorkingRange(text) else {
                        issue(
                            itemPath,
                            "expected a range \"HH:MM-HH:MM\" with start before end (end may be 24:00), found \"\(text)\""
                        )
                        continue
                    }
                    if let clash = ranges.first(where: {
                        $0.startMinute < range.endMinute && range.startMinute < $0.endMinute
                    }) {
                        issue(itemPath, "range \(range) overlaps \(clash)")
                        continue
                    }
                    ranges.append(range)
                }
                week[index] = ranges
            }
        }
        var holidays = Set<CivilDate>()
        if let h = dict["holidays"] {
            for (i, item) in array(h, path + ".holidays").enumerated() {
                guard let text = string(item, "\(path).holidays[\(i)]") else { continue }
                guard let date = CivilDate(text) else {
                    issue("\(path).holidays[\(i)]", "expected a date \"YYYY-MM-DD\", found \"\(text)\"")
                    continue
                }
                holidays.insert(date)
            }
        }
        return .businessHours(BusinessHours(timeZoneIdentifier: zoneName, week: week, holidays: holidays))
    }

    mutating func readPolicy(_ value: JSONValue, _ path: String, calendars: [String: WorkCalendar]) -> Policy? {
        let keys = [
            "name", "when", "calendar", "targets", "pause_statuses", "stop_statuses", "warn_at", "escalate_after",
        ]
        guard let dict = object(value, path, allowed: keys) else { return nil }
        let name = required(dict, "name", path).flatMap { string($0, path + ".name") }
        var when: Filter?
        if let w = dict["when"] { when = filter(w, path + ".when", allowComputed: false) }
        var calendar: WorkCalendar?
        let calendarName = required(dict, "calendar", path).flatMap { string($0, path + ".calendar") }
        if let calendarName {
            calendar = calendars[calendarName]
            if calendar == nil {
                let known = calendars.keys.sorted().joined(separator: ", ")
                issue(
                    path + ".calendar",
                    "no calendar named \"\(calendarName)\" (defined: \(known.isEmpty ? "none" : known))")
            }
        }
        var targets: [String: Double] = [:]
        if let t = required(dict, "targets", path), let tdict = object(t, path + ".targets", allowed: nil) {
            for (priority, v) in tdict {
                guard case .number(let hours) = v else {
                    issue(join(path + ".targets", priority), "expected a number of hours, found \(v.shortDescription)")
                    continue
                }
                guard hours >= 0, hours <= 1_000_000 else {
                    issue(
                        join(path + ".targets", priority),
                        "expected a number of hours from 0 to 1000000, found \(v.shortDescription)")
                    continue
                }
                targets[priority] = hours
            }
        }
        let pause = Set(dict["pause_statuses"].map { strings($0, path + ".pause_statuses") } ?? [])
        let stop = Set(dict["stop_statuses"].map { strings($0, path + ".stop_statuses") } ?? [])
        for both in pause.intersection(stop).sorted() {
            issue(path + ".stop_statuses", "status \"\(both)\" is both a pause and a stop status")
        }
        var warnAt: [Double] = []
        if let w = dict["warn_at"] {
            for (i, item) in array(w, path + ".warn_at").enumerated() {
                guard case .number(let p) = item, p > 0, p <= 100 else {
                    issue(
                        "\(path).warn_at[\(i)]",
                        "expected a percentage of the target above 0 and at most 100, found \(item.shortDescription)")
                    continue
                }
                warnAt.append(p)
            }
        }
        var escalate: [Int64] = []
        if let e = dict["escalate_after"] {
            for (i, item) in array(e, path + ".escalate_after").enumerated() {
                if let d = duration(item, "\(path).escalate_after[\(i)]") { escalate.append(d) }
            }
        }
        guard let name, let calendarName, let calendar else { return nil }
        return Policy(
            name: name, when: when, calendarName: calendarName, calendar: calendar, targets: targets,
            clock: ClockPolicy(
                pauseStatuses: pause, stopStatuses: stop, warnAt: Array(Set(warnAt)),
                escalateAfter: Array(Set(escalate))))
    }

    mutating func readChannel(_ name: String, _ value: JSONValue, _ path: String) -> Channel? {
        guard
            let dict = object(
                value, path,
                allowed: [
                    "type", "url", "to", "secret", "language", "rate_per_second", "max_attempts", "max_age", "timeout",
                ])
        else { return nil }
        guard let typeText = required(dict, "type", path).flatMap({ string($0, path + ".type") }) else { return nil }
        guard let kind = Channel.Kind(rawValue: typeText) else {
            issue(
                path + ".type",
                "expected one of \(Channel.Kind.allCases.map(\.rawValue).joined(separator: ", ")), found \"\(typeText)\""
            )
            return nil
        }
        var channel = Channel(
            name: name, kind: kind, url: nil, to: [], secret: nil, language: "es", ratePerSecond: nil, maxAttempts: 10,
            maxAgeMicros: 86_400_000_000)
        switch kind {
        case .email:
            channel.to = required(dict, "to", path).map { strings($0, path + ".to") } ?? []
            for (i, address) in channel.to.enumerated() where !Self.isRecipient(address) {
                issue(
                    "\(path).to[\(i)]",
                    "expected an e-mail address, {{area_manager_email}} or {{requester_email}}, found \"\(address)\"")
            }
        case .log:
            break
        default:
            if let url = required(dict, "url", path).flatMap({ string($0, path + ".url") }) {
                if !(url.hasPrefix("https://") || url.hasPrefix("http://")) {
                    issue(path + ".url", "expected an http(s) URL, found \"\(url)\"")
                }
                channel.url = url
            }
            // Chat services throttle incoming webhooks to about one message a second.
            channel.ratePerSecond = kind == .webhook ? nil : 1
        }
        if let s = dict["secret"] {
            if kind != .webhook { issue(path + ".secret", "only \"webhook\" channels are signed") }
            channel.secret = string(s, path + ".secret")
        }
        if let l = dict["language"], let lang = string(l, path + ".language") {
            if lang != "es" && lang != "en" {
                issue(path + ".language", "expected \"es\" or \"en\", found \"\(lang)\"")
            }
            channel.language = lang
        }
        // Bounded so that the worker's arithmetic on them (a send slot every 1/rate seconds, an
        // attempt counter) always fits a 64-bit integer.
        if let r = dict["rate_per_second"] {
            if case .number(let n) = r, n >= 0.001, n <= 1_000_000 {
                channel.ratePerSecond = n
            } else {
                issue(
                    path + ".rate_per_second",
                    "expected a number of messages per second from 0.001 to 1000000, found \(r.shortDescription)")
            }
        }
        if let m = dict["max_attempts"] {
            if case .number(let n) = m, n >= 1, n <= 1_000_000, n == n.rounded() {
                channel.maxAttempts = Int(n)
            } else {
                issue(
                    path + ".max_attempts",
                    "expected a whole number of attempts from 1 to 1000000, found \(m.shortDescription)")
            }
        }
        if let a = dict["max_age"], let age = duration(a, path + ".max_age") { channel.maxAgeMicros = age }
        if let t = dict["timeout"], let timeout = duration(t, path + ".timeout") {
            if timeout < 1_000 || timeout > 300_000_000 {
                issue(path + ".timeout", "expected a duration from 1ms to 5m, found \(t.shortDescription)")
            } else {
                channel.timeoutMicros = timeout
            }
        }
        return channel
    }

    mutating func readSMTP(_ value: JSONValue) -> SMTPSettings? {
        guard let dict = object(value, "smtp", allowed: ["url", "from", "username", "password", "tls"]) else {
            return nil
        }
        let url = required(dict, "url", "smtp").flatMap { string($0, "smtp.url") }
        let from = required(dict, "from", "smtp").flatMap { string($0, "smtp.from") }
        if let url, !(url.hasPrefix("smtp://") || url.hasPrefix("smtps://")) {
            issue("smtp.url", "expected smtp://host:587 or smtps://host:465, found \"\(url)\"")
        }
        var tls = SMTPSettings.TLS.required
        if let t = dict["tls"], let text = string(t, "smtp.tls") {
            if let v = SMTPSettings.TLS(rawValue: text) {
                tls = v
            } else {
                issue("smtp.tls", "expected \"required\", \"opportunistic\" or \"none\", found \"\(text)\"")
            }
        }
        if tls == .none, let url, !Loopback.isLoopbackURL(url) {
            issue("smtp.tls", "\"none\" is allowed only for a loopback server (127.0.0.1, ::1, localhost)")
        }
        guard let url, let from else { return nil }
        return SMTPSettings(
            url: url, from: from, username: dict["username"].flatMap { string($0, "smtp.username") },
            password: dict["password"].flatMap { string($0, "smtp.password") }, tls: tls)
    }

    mutating func readRoute(_ value: JSONValue, _ path: String, channels: [String: Channel], smtp: SMTPSettings?)
        -> Route?
    {
        guard let dict = object(value, path, allowed: ["when", "events", "channels", "group_wait", "repeat"]) else {
            return nil
        }
        var when: Filter?
        if let w = dict["when"] { when = filter(w, path + ".when", allowComputed: true) }
        var events = Set<EventKind>()
        let eventNames = required(dict, "events", path).map { strings($0, path + ".events") } ?? []
        for (i, text) in eventNames.enumerated() {
            if let kind = EventKind(rawValue: text) {
                events.insert(kind)
            } else {
                issue(
                    "\(path).events[\(i)]",
                    "expected one of \(EventKind.allCases.map(\.rawValue).joined(separator: ", ")), found \"\(text)\"")
            }
        }
        let names = required(dict, "channels", path).map { strings($0, path + ".channels") } ?? []
        checkChannels(names, path + ".channels", channels: channels, smtp: smtp)
        let groupWait = dict["group_wait"].flatMap { duration($0, path + ".group_wait") } ?? 0
        let repeatEvery = dict["repeat"].flatMap { duration($0, path + ".repeat") }
        if let r = repeatEvery, r <= 0 { issue(path + ".repeat", "expected a duration above zero") }
        return Route(when: when, events: events, channels: names, groupWaitMicros: groupWait, repeatMicros: repeatEvery)
    }

    mutating func readReport(_ value: JSONValue, _ path: String, channels: [String: Channel], smtp: SMTPSettings?)
        -> Report?
    {
        let keys = ["name", "schedule", "timezone", "filter", "per_area", "channels", "title"]
        guard let dict = object(value, path, allowed: keys) else { return nil }
        let name = required(dict, "name", path).flatMap { string($0, path + ".name") }
        var schedule: CronSchedule?
        if let text = required(dict, "schedule", path).flatMap({ string($0, path + ".schedule") }) {
            do { schedule = try CronSchedule(text) } catch {
                issue(path + ".schedule", "report \"\(name ?? "?")\": \(error.description)")
            }
        }
        var zone = "UTC"
        if let z = dict["timezone"], let text = string(z, path + ".timezone") {
            if Self.isTimeZone(text) {
                zone = text
            } else {
                issue(path + ".timezone", "report \"\(name ?? "?")\": unknown IANA time zone \"\(text)\"")
            }
        }
        let filter = dict["filter"].flatMap { self.filter($0, path + ".filter", allowComputed: true) }
        var perArea = false
        if let p = dict["per_area"] {
            if case .bool(let b) = p {
                perArea = b
            } else {
                issue(path + ".per_area", "expected true or false, found \(p.shortDescription)")
            }
        }
        let names = required(dict, "channels", path).map { strings($0, path + ".channels") } ?? []
        checkChannels(names, path + ".channels", channels: channels, smtp: smtp)
        let title = dict["title"].flatMap { string($0, path + ".title") }
        guard let name, let schedule else { return nil }
        return Report(
            name: name, schedule: schedule, timeZoneIdentifier: zone, filter: filter, perArea: perArea, channels: names,
            title: title)
    }

    mutating func checkChannels(_ names: [String], _ path: String, channels: [String: Channel], smtp: SMTPSettings?) {
        for (i, name) in names.enumerated() {
            guard let channel = channels[name] else {
                let known = channels.keys.sorted().joined(separator: ", ")
                issue("\(path)[\(i)]", "no channel named \"\(name)\" (defined: \(known.isEmpty ? "none" : known))")
                continue
            }
            if channel.kind == .email && smtp == nil {
                issue("\(path)[\(i)]", "channel \"\(name)\" sends e-mail but no \"smtp\" section is defined")
            }
        }
    }

    // MARK: - Filters

    mutating func filter(_ value: JSONValue, _ path: String, allowComputed: Bool) -> Filter? {
        guard case .object(let dict) = value else {
            issue(
                path,
                "expected a filter object ({\"op\": \"AND\", \"operand\": [...]} or {\"column\", \"op\", \"operand\"}), found \(value.shortDescription)"
            )
            return nil
        }
        let opText = required(dict, "op", path).flatMap { string($0, join(path, "op")) }
        if dict["column"] == nil {
            for key in dict.keys.sorted() where key != "op" && key != "operand" && key != "id" {
                issue(join(path, key), "unknown key in a filter group; expected op, operand")
            }
            guard let opText else { return nil }
            guard let op = Filter.GroupOperator(rawValue: opText) else {
                if Filter.Operator(rawValue: opText) != nil {
                    issue(path, "a condition with op \(opText) needs a \"column\"")
                } else {
                    // The documented message, word for word; groups take AND or OR besides.
                    issue(join(path, "op"), Filter.unsupportedOperatorMessage(opText) + " (groups: AND, OR)")
                }
                return nil
            }
            let items = required(dict, "operand", path).map { array($0, join(path, "operand")) } ?? []
            var filters: [Filter] = []
            for (i, item) in items.enumerated() {
                if let f = filter(item, join(path, "operand[\(i)]"), allowComputed: allowComputed) { filters.append(f) }
            }
            return filters.count == items.count ? .group(op, filters) : nil
        }
        for key in dict.keys.sorted() where !["id", "column", "op", "operand"].contains(key) {
            issue(join(path, key), "unknown key in a filter condition; expected id, column, op, operand")
        }
        let column = string(dict["column"]!, join(path, "column")).map { columnAliases[$0] ?? $0 }
        if let column {
            if !QualifiedName.isIdentifier(column) {
                issue(join(path, "column"), "expected a column name, found \"\(column)\"")
            } else if !allowComputed && ComputedColumn.names.contains(column) {
                issue(
                    join(path, "column"),
                    "\"\(column)\" is computed from the policy itself and cannot choose the policy")
            }
        }
        guard let opText else { return nil }
        guard let op = Filter.Operator(rawValue: opText) else {
            issue(join(path, "op"), Filter.unsupportedOperatorMessage(opText))
            return nil
        }
        guard let operandValue = required(dict, "operand", path) else { return nil }
        let operand = Self.operand(operandValue)
        switch (op, operand) {
        case (.IN, .list): break
        case (.IN, _):
            issue(join(path, "operand"), "IN expects an array of values, found \(operandValue.shortDescription)")
            return nil
        case (_, .list):
            issue(join(path, "operand"), "\(op.rawValue) expects a single value, found an array")
            return nil
        case (.LIKE, .text): break
        case (.LIKE, _):
            issue(join(path, "operand"), "LIKE expects a text pattern, found \(operandValue.shortDescription)")
            return nil
        case (.GT, .null), (.GE, .null), (.LT, .null), (.LE, .null):
            issue(join(path, "operand"), "\(op.rawValue) cannot compare with null")
            return nil
        default: break
        }
        guard let column else { return nil }
        let id = dict["id"].flatMap { string($0, join(path, "id")) }
        let condition = Filter.Condition(id: id, column: column, op: op, operand: operand)
        if checksColumnTypes, allowComputed || !ComputedColumn.names.contains(column),
            let type = ColumnType.known[column], let mismatch = condition.typeMismatch(type)
        {
            issue(join(path, mismatch.path), mismatch.message)
            return nil
        }
        return .condition(condition)
    }

    /// `path.key`, or `key` at the top (an empty key shows as `""`).
    func join(_ path: String, _ key: String) -> String { JSON5Parser.memberPath(path, key) }

    static func operand(_ value: JSONValue) -> FilterOperand {
        switch value {
        case .null, .object: return .null
        case .bool(let b): return .bool(b)
        case .number(let n): return .number(n)
        case .string(let s): return .text(s)
        case .array(let items): return .list(items.map(operand))
        }
    }

    // MARK: - Typed access

    mutating func object(_ value: JSONValue, _ path: String, allowed: [String]?) -> [String: JSONValue]? {
        guard case .object(let dict) = value else {
            issue(path, "expected an object, found \(value.shortDescription)")
            return nil
        }
        if let allowed {
            for key in dict.keys.sorted() where !allowed.contains(key) {
                issue(join(path, key), "unknown key; expected one of \(allowed.joined(separator: ", "))")
            }
        }
        return dict
    }

    mutating func required(_ dict: [String: JSONValue], _ key: String, _ path: String) -> JSONValue? {
        if let v = dict[key] { return v }
        issue(path, "missing \"\(key)\"")
        return nil
    }

    mutating func string(_ value: JSONValue, _ path: String) -> String? {
        guard case .string(let s) = value else {
            issue(path, "expected a string, found \(value.shortDescription)")
            return nil
        }
        return s
    }

    mutating func array(_ value: JSONValue, _ path: String) -> [JSONValue] {
        guard case .array(let items) = value else {
            issue(path, "expected an array, found \(value.shortDescription)")
            return []
        }
        return items
    }

    mutating func strings(_ value: JSONValue, _ path: String) -> [String] {
        var result: [String] = []
        for (i, item) in array(value, path).enumerated() {
            if let s = string(item, "\(path)[\(i)]") { result.append(s) }
        }
        return result
    }

    mutating func duration(_ value: JSONValue, _ path: String) -> Int64? {
        guard case .string(let text) = value, let micros = DurationText.microseconds(text) else {
            issue(
                path, "expected a duration such as \"30s\", \"15m\", \"4h\" or \"1d\", found \(value.shortDescription)")
            return nil
        }
        return micros
    }

    mutating func qualifiedName(_ value: JSONValue, _ path: String) -> QualifiedName? {
        guard let text = string(value, path) else { return nil }
        guard let name = QualifiedName(text) else {
            issue(
                path, "expected a view name such as \"slawatch_source.tickets\" (letters, digits, _), found \"\(text)\""
            )
            return nil
        }
        return name
    }

    static func isTimeZone(_ name: String) -> Bool {
        name.contains("/") || name == "UTC" ? TimeZone(identifier: name) != nil : false
    }

    static func isRecipient(_ text: String) -> Bool {
        if text == "{{area_manager_email}}" || text == "{{requester_email}}" { return true }
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".")
            && !text.contains(where: { $0 == " " || $0 == "\r" || $0 == "\n" || $0 == "<" || $0 == ">" || $0 == "," })
    }
}
