import Foundation
import SlawatchCore
import Testing

// What the parser fuzz tests found, each kept as a case of its own.

private func messages(_ text: String) -> [String] {
    do throws(RulesError) {
        _ = try RulesLoader.load(files: [("rules/fuzz.json", Data(text.utf8))], environment: [:])
        return []
    } catch {
        return error.issues.map(\.description)
    }
}

@Suite("Fuzz findings")
struct FuzzFindingsTests {
    /// Foundation's JSON5 decoder, which reads the rules, traps on a bare extreme number and on
    /// invalid UTF-8 in an unquoted member name: neither reaches it.
    @Test("texts that make the JSON5 decoder trap are answered with an error")
    func decoderTraps() {
        #expect(
            messages("-1.7976931348623157e+308")
                == [
                    "rules/fuzz.json: expected an object with keys source, calendars, policies, channels, smtp, routes, reports, api, perspectives"
                ])
        var bytes = Array("{calendars: {a".utf8)
        bytes += [0xC3, 0x28]
        bytes += Array(": {type: \"always\"}}}".utf8)
        do throws(RulesError) {
            _ = try RulesLoader.load(files: [("rules/fuzz.json", Data(bytes))], environment: [:])
            Issue.record("invalid UTF-8 was accepted")
        } catch {
            #expect(error.issues.count == 1)
            #expect(error.issues.first?.message.hasPrefix("not valid JSON5 at line 1, column") == true)
        }
        #expect(throws: RulesError.self) {
            try RulesLoader.filter(json: "-1.7976931348623157e+308", origin: "--filter")
        }
    }

    /// `max_attempts: 9.3e18` passed the whole-number check and trapped converting to Int.
    @Test("a huge max_attempts is an error, not a crash")
    func hugeMaxAttempts() {
        for value in ["9.3e18", "1e300", "Infinity", "1000001"] {
            #expect(
                messages(#"{channels: {c: {type: "log", max_attempts: \#(value)}}}"#) == [
                    "rules/fuzz.json: channels.c.max_attempts: expected a whole number of attempts from 1 to 1000000, found "
                        + JSONValue.number(Double(value) ?? .infinity).shortDescription
                ])
        }
        #expect(messages(#"{channels: {c: {type: "log", max_attempts: 1000000}}}"#).isEmpty)
    }

    /// Beside it: a rate so small that the worker's next send slot (1/rate seconds away) overflowed.
    @Test("a rate_per_second out of range is an error")
    func rateOutOfRange() {
        for value in ["5e-324", "0.0001", "Infinity", "2e6", "0"] {
            #expect(
                messages(#"{channels: {c: {type: "slack", url: "https://x.example", rate_per_second: \#(value)}}}"#)
                    .first?
                    .hasPrefix(
                        "rules/fuzz.json: channels.c.rate_per_second: expected a number of messages per second from 0.001 to 1000000"
                    )
                    == true, "\(value)")
        }
        #expect(
            messages(#"{channels: {c: {type: "slack", url: "https://x.example", rate_per_second: 0.001}}}"#).isEmpty)
    }

    /// A cron expression with a tab, CR/LF or NUL in a field put those characters raw into the message.
    @Test("a cron error is one line whatever the expression holds")
    func cronErrorIsOneLine() {
        for text in ["1-59/7 \r\n */3 */2 */2", "JAN-DEC 0x10 * * 1-5 \u{0}", "0\t8 * * * 5/"] {
            do throws(CronSchedule.ParseError) {
                _ = try CronSchedule(text)
                Issue.record("\(text) parsed")
            } catch {
                #expect(!error.description.contains(where: { $0.isNewline || $0 == "\u{0}" || $0 == "\t" }), "\(error)")
            }
        }
        #expect(throws: CronSchedule.ParseError.self) { try CronSchedule("1-59/7 \r\n */3 */2 */2") }
    }

    /// A document that is only a string with `${VAR}` in it reported the variable, without a place, as
    /// well as the document not being an object.
    @Test("a document that is not an object says only that")
    func notAnObjectWithVariable() {
        for text in [#""${NOPE}""#, #""${""#, #"["${NOPE}"]"#] {
            #expect(
                messages(text) == [
                    "rules/fuzz.json: expected an object with keys source, calendars, policies, channels, smtp, routes, reports, api, perspectives"
                ])
        }
    }

    /// An empty member name made an empty path (at the top) or one ending in a dot.
    @Test("an empty member name shows in the path")
    func emptyMemberName() {
        #expect(
            messages(#"{"": 1}"#) == [
                #"rules/fuzz.json: "": unknown key; expected one of source, calendars, policies, channels, smtp, routes, reports, api, perspectives"#
            ])
        #expect(
            messages(#"{calendars: {"": {type: "always", x: 1}}}"#) == [
                #"rules/fuzz.json: calendars."".x: unknown key; expected one of type, timezone, week, holidays"#
            ])
        #expect(
            messages(#"{channels: {c: {type: "log"}}, "": 1, "": 2}"#) == [
                #"rules/fuzz.json: "": "" is defined twice in this object; only one definition is allowed"#,
                #"rules/fuzz.json: "": unknown key; expected one of source, calendars, policies, channels, smtp, routes, reports, api, perspectives"#,
            ])
    }
}
