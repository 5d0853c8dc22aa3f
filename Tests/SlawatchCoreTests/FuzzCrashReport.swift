import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc

    /// The struct, not the function of the same name.
    private typealias SignalAction = sigaction
#endif

/// What the fuzzer is trying right now, kept where a crash or a hang can still print it.
///
/// A parser that traps (an overflow, a force unwrap) or overflows its stack takes the whole test
/// process down before any `Issue` is recorded, and one that loops forever never returns. So the
/// input under test is copied into memory allocated up front; a signal handler (on an alternate
/// stack, allocating nothing) writes it to stderr before the crash goes on to the previous handler,
/// and a watchdog thread writes it and ends the process when one input runs longer than
/// `hangSeconds`. Only one fuzz loop runs at a time (the fuzz suite is serialized).
enum FuzzCrashReport {
    /// An input that runs this long is taken for a hang.
    static let hangSeconds: UInt64 = 20

    private static let capacity = 1 << 20
    nonisolated(unsafe) private static let header = UnsafeMutablePointer<UInt8>.allocate(capacity: 512)
    nonisolated(unsafe) private static var headerCount = 0
    nonisolated(unsafe) private static let input = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
    nonisolated(unsafe) private static var inputCount = 0
    /// Monotonic nanoseconds when the current input started; 0 between inputs.
    private static let startedAt = Atomic<UInt64>(0)
    private static let installed = Mutex(false)

    #if canImport(Glibc)
        private static let signals: [Int32] = [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGFPE, SIGABRT]
        nonisolated(unsafe) private static var previous = [SignalAction](repeating: SignalAction(), count: 32)
    #endif

    /// Installs the signal handlers and the watchdog, once per process, and gives the calling
    /// thread an alternate signal stack so that even a stack overflow is reported.
    static func install() {
        #if canImport(Glibc)
            let stackSize = 1 << 16
            var stack = stack_t()
            stack.ss_sp = UnsafeMutableRawPointer.allocate(byteCount: stackSize, alignment: 16)
            stack.ss_size = stackSize
            stack.ss_flags = 0
            sigaltstack(&stack, nil)
            let first = installed.withLock { done in
                defer { done = true }
                return !done
            }
            guard first else { return }
            for signal in signals {
                var action = SignalAction()
                action.__sigaction_handler.sa_handler = fuzzCrashHandler
                action.sa_flags = Int32(SA_ONSTACK)
                sigemptyset(&action.sa_mask)
                sigaction(signal, &action, &previous[Int(signal)])
            }
            let watchdog = Thread {
                // Bounded by the process: it ends with it.
                while true {
                    Thread.sleep(forTimeInterval: 0.25)
                    let started = startedAt.load(ordering: .acquiring)
                    guard started != 0, now() &- started > hangSeconds * 1_000_000_000 else { continue }
                    writeReport(reason: "a hang (one input ran longer than the watchdog allows)")
                    _exit(1)
                }
            }
            watchdog.start()
        #endif
    }

    /// Records the input about to be tried: `description` names the target, seed and index.
    static func begin(_ description: String, _ bytes: [UInt8]) {
        let head = Array(description.utf8.prefix(500))
        head.withUnsafeBufferPointer { header.update(from: $0.baseAddress!, count: $0.count) }
        headerCount = head.count
        inputCount = min(bytes.count, capacity)
        bytes.withUnsafeBufferPointer { if inputCount > 0 { input.update(from: $0.baseAddress!, count: inputCount) } }
        startedAt.store(now(), ordering: .releasing)
    }

    static func end() { startedAt.store(0, ordering: .releasing) }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Writes the header and the input, bytes outside printable ASCII as `\xHH`, with `write(2)` only.
    fileprivate static func writeReport(reason: StaticString) {
        func put(_ pointer: UnsafePointer<UInt8>, _ count: Int) { _ = write(2, pointer, count) }
        func put(_ text: StaticString) { put(text.utf8Start, text.utf8CodeUnitCount) }
        put("\n=== slawatch fuzz: ")
        put(reason)
        put(" while parsing ")
        put(header, headerCount)
        put("\n=== the input, as a C string literal (\\xHH for other bytes):\n\"")
        var chunk = (UInt8(0), UInt8(0), UInt8(0), UInt8(0))
        let hex: StaticString = "0123456789ABCDEF"
        for k in 0..<inputCount {
            let b = input[k]
            withUnsafeMutableBytes(of: &chunk) { out in
                let o = out.bindMemory(to: UInt8.self)
                if b >= 0x20 && b < 0x7F && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") {
                    o[0] = b
                    put(o.baseAddress!, 1)
                } else {
                    o[0] = UInt8(ascii: "\\")
                    o[1] = UInt8(ascii: "x")
                    o[2] = hex.utf8Start[Int(b >> 4)]
                    o[3] = hex.utf8Start[Int(b & 0x0F)]
                    put(o.baseAddress!, 4)
                }
            }
        }
        put("\"\n=== end of input\n")
    }

    #if canImport(Glibc)
        /// Puts back the handler that was there before, so that returning re-raises the fault into it
        /// (the Swift runtime's backtrace, or the default action).
        fileprivate static func restore(_ signal: Int32) {
            sigaction(signal, &previous[Int(signal)], nil)
        }
    #endif
}

#if canImport(Glibc)
    private func fuzzCrashHandler(_ signal: Int32) {
        FuzzCrashReport.writeReport(reason: "a crash (fatal signal)")
        FuzzCrashReport.restore(signal)
    }
#endif
