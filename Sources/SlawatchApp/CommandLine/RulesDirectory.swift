import Foundation
import SlawatchCore

/// Reads the `*.json` files of a rules directory, in name order, and loads them as a `RuleSet`.
enum RulesDirectory {
    static func load(_ path: String, environment: [String: String]) throws(CommandError) -> RuleSet {
        let contents = try files(path)
        do {
            return try RulesLoader.load(files: contents, environment: environment)
        } catch {
            throw .usage(error.description)
        }
    }

    /// The rules of `path` for evaluation only (`slawatch whatif --proposed`): checked as `load`
    /// checks them, except that channels and routes may be absent.
    static func loadForEvaluation(_ path: String, environment: [String: String]) throws(CommandError) -> RuleSet {
        let contents = try files(path)
        do {
            return try RulesLoader.loadForEvaluation(files: contents, environment: environment)
        } catch {
            throw .usage(error.description)
        }
    }

    static func files(_ path: String) throws(CommandError) -> [(path: String, contents: Data)] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .usage(
                "rules directory '\(path)' not found; pass --rules DIR (the repository's rules/ is a complete example)")
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: path).filter {
                $0.hasSuffix(".json") || $0.hasSuffix(".json5")
            }.sorted()
        } catch {
            throw .usage("cannot read rules directory '\(path)': \(error.localizedDescription)")
        }
        let base = path.hasSuffix("/") ? String(path.dropLast()) : path
        var result: [(String, Data)] = []
        for name in names {
            let file = base + "/" + name
            guard let data = FileManager.default.contents(atPath: file) else {
                throw .usage("\(file): cannot be read")
            }
            result.append((file, data))
        }
        return result
    }
}
