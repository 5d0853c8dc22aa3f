import Foundation
import SlawatchCore

/// A running worker's rules directory read again (SIGHUP): the rules, checked as `check` checks
/// them, or every problem found, one by one with its file and JSON path, ready for one log line
/// each.
///
/// A problem's text never shows the value of an environment variable the files name as `${VAR}`
/// (that is where secrets live, README 'Rules'): an invalid value such as an SMTP URL with a
/// password in it would otherwise be quoted in the log; the `${VAR}` is shown instead.
enum RulesReload {
    struct Problem: Sendable, Equatable {
        let file: String
        let path: String
        let message: String
    }

    enum Outcome {
        case rules(RuleSet)
        case invalid([Problem])
    }

    static func read(_ directory: String, environment: [String: String]) -> Outcome {
        let files: [(path: String, contents: Data)]
        do throws(CommandError) {
            files = try RulesDirectory.files(directory)
        } catch {
            return .invalid([Problem(file: directory, path: "", message: error.message)])
        }
        let secrets = referencedValues(files.map { $0.contents }, environment: environment)
        do throws(RulesError) {
            return .rules(try RulesLoader.load(files: files, environment: environment))
        } catch {
            return .invalid(
                error.issues.map {
                    Problem(file: $0.file, path: $0.path, message: redacting(secrets, in: $0.message))
                })
        }
    }

    /// The values of the environment variables the files name as `${VAR}`, longest first (so that
    /// a value containing another is replaced whole), each with the name to show instead.
    static func referencedValues(_ contents: [Data], environment: [String: String]) -> [(value: String, name: String)] {
        var names: Set<String> = []
        for data in contents {
            let text = String(decoding: data, as: UTF8.self)
            var rest = text[...]
            // Bounded by the text: each step moves past one "${".
            while let open = rest.range(of: "${") {
                rest = rest[open.upperBound...]
                guard let close = rest.firstIndex(of: "}") else { break }
                names.insert(String(rest[..<close]))
                rest = rest[rest.index(after: close)...]
            }
        }
        return names.compactMap { name in
            // A value of one or two characters would blank out ordinary words without hiding a secret.
            guard let value = environment[name], value.count >= 3 else { return nil }
            return (value, "${\(name)}")
        }.sorted { $0.value.count > $1.value.count }
    }

    static func redacting(_ secrets: [(value: String, name: String)], in text: String) -> String {
        secrets.reduce(text) { $0.replacingOccurrences(of: $1.value, with: $1.name) }
    }
}
