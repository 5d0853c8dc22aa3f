import Synchronization

/// Counts output lines and keeps the first few. The worker may write from whichever thread runs
/// its cycle, so the counts live behind a mutex.
final class LineCounter: Sendable {
    private struct Counts {
        var count = 0
        var first: [String] = []
    }
    private let counts = Mutex(Counts())

    var count: Int { counts.withLock { $0.count } }
    var first: [String] { counts.withLock { $0.first } }

    func add(_ text: String) {
        counts.withLock { counts in
            for line in text.split(separator: "\n") {
                counts.count += 1
                if counts.first.count < 2 {
                    counts.first.append(String(line.prefix(300)) + (line.count > 300 ? "…\n" : "\n"))
                }
            }
        }
    }
}
