import Foundation
import Testing

/// Runs one parser on generated inputs and collects those it mishandles: a check that fails, or an
/// input slower than `slowSeconds`. A crash or a hang is printed by `FuzzCrashReport`.
///
/// Deterministic: input number `i` of a target comes from the seed, the target's name and `i` alone,
/// so a failure is named by seed and number. By default each target tries `defaultInputs` inputs
/// from `defaultSeed`; `scripts/fuzz` sets `SLAWATCH_FUZZ_SEED` (decimal or 0x-hex) and
/// `SLAWATCH_FUZZ_SECONDS` (how long each target runs) instead.
struct Fuzzer {
    static let defaultSeed: UInt64 = 0x5EED_F022_2026_0001
    static let defaultInputs = 10_000
    /// An input whose parsing takes more CPU time than this is a failure: every parser here is
    /// linear. CPU time of the parsing thread, not wall time: the suite runs beside hundreds of other
    /// tests on two cores, where wall time stretched a 0.3 s input past 2 s.
    static let slowSeconds = 2.0

    /// CPU time used by the calling thread, in nanoseconds.
    static func threadCPUTime() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
    /// Failures kept per target; the rest are counted.
    static let keptFailures = 10

    let target: String
    let seed: UInt64
    /// How long to run, when `SLAWATCH_FUZZ_SECONDS` asks for a timed run.
    let seconds: Double?

    struct Failure {
        let index: Int
        let input: [UInt8]
        let problem: String
    }

    init(target: String, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.target = target
        if let text = environment["SLAWATCH_FUZZ_SEED"], !text.isEmpty {
            seed =
                text.hasPrefix("0x")
                ? UInt64(text.dropFirst(2), radix: 16) ?? Self.defaultSeed : UInt64(text) ?? Self.defaultSeed
        } else {
            seed = Self.defaultSeed
        }
        seconds = environment["SLAWATCH_FUZZ_SECONDS"].flatMap(Double.init).flatMap { $0 > 0 ? $0 : nil }
    }

    /// The generator of input `index`.
    func random(_ index: Int) -> ReferenceRandom {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in target.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        var random = ReferenceRandom(seed: seed ^ hash ^ (UInt64(index) &* 0xD1B5_4A32_D192_ED03))
        _ = random.next()
        return random
    }

    /// Tries inputs until the budget is spent; `check` returns what is wrong with the parser's
    /// answer to an input, or nil. Records an `Issue` per kept failure.
    @discardableResult
    func run(generate: (inout ReferenceRandom) -> [UInt8], check: ([UInt8]) -> String?) -> (tried: Int, failures: Int) {
        FuzzCrashReport.install()
        let started = FuzzCrashReport.now()
        let deadline = seconds.map { started + UInt64($0 * 1e9) }
        var failures: [Failure] = []
        var failureCount = 0
        var slowest: UInt64 = 0
        var generated: UInt64 = 0
        var checked: UInt64 = 0
        var index = 0
        while deadline.map({ FuzzCrashReport.now() < $0 }) ?? (index < Self.defaultInputs) {
            var random = random(index)
            let generating = FuzzCrashReport.now()
            let input = generate(&random)
            generated += FuzzCrashReport.now() - generating
            FuzzCrashReport.begin("\(target) input #\(index) of seed 0x\(String(seed, radix: 16))", input)
            let before = FuzzCrashReport.now()
            let cpuBefore = Self.threadCPUTime()
            var problem = check(input)
            let cpu = Self.threadCPUTime() - cpuBefore
            let took = FuzzCrashReport.now() - before
            checked += took
            FuzzCrashReport.end()
            slowest = max(slowest, took)
            if problem == nil && Double(cpu) / 1e9 > Self.slowSeconds {
                problem = "took \(Double(cpu) / 1e9) s of CPU, more than \(Self.slowSeconds) s"
            }
            if let problem {
                failureCount += 1
                if failures.count < Self.keptFailures {
                    failures.append(Failure(index: index, input: input, problem: problem))
                }
            }
            index += 1
        }
        for failure in failures {
            Issue.record(
                Comment(
                    rawValue:
                        "fuzz \(target), seed 0x\(String(seed, radix: 16)), input #\(failure.index): \(failure.problem)\n"
                        + "input: \(Self.literal(failure.input))"))
        }
        if failureCount > failures.count {
            Issue.record(
                Comment(rawValue: "fuzz \(target): \(failureCount - failures.count) more failing inputs not shown"))
        }
        if seconds != nil {
            let elapsed = Double(FuzzCrashReport.now() - started) / 1e9
            // On stderr, unbuffered: a long run shows each parser's summary as soon as it is done.
            FileHandle.standardError.write(
                Data(
                    ("fuzz \(target): \(index) inputs in \(Int(elapsed)) s from seed 0x\(String(seed, radix: 16)), "
                        + "\(failureCount) failing; generating \(generated / 1_000_000) ms, parsing \(checked / 1_000_000) ms, "
                        + "slowest input \(Double(slowest / 1_000) / 1_000) ms\n").utf8))
        }
        return (index, failureCount)
    }

    /// The input as a Swift string literal when it is UTF-8, else as its bytes.
    static func literal(_ bytes: [UInt8]) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            return "[UInt8] " + bytes.map { "0x" + String($0, radix: 16, uppercase: true) }.joined(separator: ", ")
        }
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar == "\u{2028}"
                    || scalar == "\u{2029}"
                {
                    out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// What is wrong with an error message meant for a person: empty, more than one line, or
    /// showing Swift's own descriptions rather than words.
    static func messageProblem(_ message: String) -> String? {
        if message.isEmpty { return "an empty error message" }
        if message.unicodeScalars.contains(where: {
            $0.value < 0x20 || $0 == "\u{2028}" || $0 == "\u{2029}" || $0.value == 0x85
        }) {
            return "an error message that is not one printable line: \(literal(Array(message.utf8)))"
        }
        for leak in ["Optional(", "DecodingError", "Swift.", "nil)"] where message.contains(leak) {
            return "an error message showing \(leak): \(message)"
        }
        return nil
    }
}
