/// Counts output lines and keeps the first few.
///
/// Not `Sendable`: the demo hands `add` to `Slawatch.main` as its output, which calls it on the demo's own task,
/// and the compiler checks that nothing shares it beyond.
final class LineCounter {
    private(set) var count = 0
    private(set) var first: [String] = []

    func add(_ text: String) {
        for line in text.split(separator: "\n") {
            count += 1
            if first.count < 2 { first.append(String(line.prefix(300)) + (line.count > 300 ? "…\n" : "\n")) }
        }
    }
}
