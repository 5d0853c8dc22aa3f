import CurlTransport
import PostgresClient

/// The version of slawatch, said in one place, and the versions of the C libraries it runs with.
public enum SlawatchVersion {
    /// slawatch's own version (README, "Help and version").
    public static let current = "0.5.0"

    /// What `slawatch --version` prints: slawatch's version, then each library's as the library
    /// reports it at run time (the one loaded, not the one built against).
    static var report: String {
        """
        slawatch \(current)
        libpq \(PostgresLibrary.version)
        libcurl \(CurlLibrary.version)\(CurlLibrary.tlsVersion.map { " (TLS: \($0))" } ?? "")
        libcrypto \(CryptoLibrary.version)

        """
    }
}
