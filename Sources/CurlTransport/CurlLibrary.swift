import CCurl
import CCurlShim

/// The libcurl this process runs with, as the library itself reports it.
public enum CurlLibrary {
    /// libcurl's version at run time (`curl_version_info`), e.g. `7.88.1`.
    public static var version: String {
        guard let info = slawatch_curl_version_info(), let text = info.pointee.version else { return "unknown" }
        return String(cString: text)
    }

    /// The TLS library libcurl uses, e.g. `OpenSSL/3.0.15`; nil when it has none.
    public static var tlsVersion: String? {
        guard let info = slawatch_curl_version_info(), let text = info.pointee.ssl_version else { return nil }
        return String(cString: text)
    }
}
