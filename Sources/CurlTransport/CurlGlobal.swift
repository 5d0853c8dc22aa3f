import CCurl
import SlawatchCore

/// The result of `curl_global_init`, run exactly once per process.
///
/// A global `let` is initialised lazily and atomically by Swift (`swift_once`), which is what libcurl
/// needs: `curl_global_init` is not safe to race with itself or with handle creation. It is never undone
/// with `curl_global_cleanup`, since other code in the process may still hold handles at exit.
private let curlGlobalInitResult: Int = {
    // CURL_GLOBAL_DEFAULT is a macro expression Swift does not import; it is SSL | WIN32, and WIN32 is a
    // no-op here.
    Int(curl_global_init(Int(CURL_GLOBAL_SSL) | Int(CURL_GLOBAL_WIN32)).rawValue)
}()

/// Initialises libcurl if no one has yet; returns a message when that failed.
func ensureCurlGlobalInit() -> String? {
    let code = curlGlobalInitResult
    guard code != Int(CURLE_OK.rawValue) else { return nil }
    return "curl_global_init failed: \(curlCodeSymbol(code))"
}

extension Duration {
    /// Milliseconds for libcurl's `*_MS` options, never 0: libcurl reads 0 as "no timeout at all", which
    /// would turn a caller's rounding accident into a transfer that can hang forever.
    var curlMilliseconds: Int {
        let (seconds, attoseconds) = components
        let millis = seconds.multipliedReportingOverflow(by: 1000)
        guard !millis.overflow else { return seconds > 0 ? Int(Int32.max) : 1 }
        let total = millis.partialValue.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
        guard !total.overflow else { return Int(Int32.max) }
        return Int(max(1, min(total.partialValue, Int64(Int32.max))))
    }
}

/// Whether a string can go into a protocol line without ending it early or starting another one.
func isSafeProtocolText(_ text: String) -> Bool {
    !text.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }
}
