import CCrypto

/// The libcrypto (OpenSSL) this process runs with, which signs webhooks, as it reports itself.
public enum CryptoLibrary {
    /// OpenSSL's version at run time (`OpenSSL_version`), e.g. `OpenSSL 3.0.15 3 Sep 2024`.
    public static var version: String {
        guard let text = OpenSSL_version(OPENSSL_VERSION) else { return "unknown" }
        return String(cString: text)
    }
}
