// swift-tools-version:6.0
import PackageDescription

// slawatch has no Swift package dependencies: libpq, libcurl, libcrypto and libmicrohttpd are reached
// as system libraries, found through pkg-config and installed by scripts/setup.
let package = Package(
    name: "slawatch",
    products: [
        .executable(name: "slawatch", targets: ["slawatch"])
    ],
    targets: [
        .systemLibrary(
            name: "CLibPQ", path: "Sources/CLibPQ", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]),
        .systemLibrary(
            name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(
            name: "CCrypto", path: "Sources/CCrypto", pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]),
        .systemLibrary(
            name: "CMicroHTTPD", path: "Sources/CMicroHTTPD", pkgConfig: "libmicrohttpd",
            providers: [.apt(["libmicrohttpd-dev"])]),
        // Typed wrappers for libcurl's variadic setopt/getinfo, which Swift cannot call.
        .target(name: "CCurlShim", dependencies: ["CCurl"], path: "Sources/CCurlShim"),
        // Typed wrappers for libmicrohttpd's variadic start and info calls and its va_list logger.
        .target(name: "CMicroHTTPDShim", dependencies: ["CMicroHTTPD"], path: "Sources/CMicroHTTPDShim"),

        // The pure domain: rules, calendars, clocks, filters, events. No I/O, no C.
        .target(name: "SlawatchCore", path: "Sources/SlawatchCore"),
        // Adapters that own the C handles.
        .target(name: "PostgresClient", dependencies: ["CLibPQ"], path: "Sources/PostgresClient"),
        .target(
            name: "CurlTransport", dependencies: ["CCurl", "CCurlShim", "CCrypto", "SlawatchCore"],
            path: "Sources/CurlTransport"),
        // Every SQL statement slawatch runs: its schema, clocks, events, deliveries, reports, the
        // source views, the dashboard function; a pool of connections on threads of its own.
        .target(
            name: "SlawatchStore", dependencies: ["SlawatchCore", "PostgresClient"], path: "Sources/SlawatchStore"),
        // The HTTP API's foundations: a libmicrohttpd server, and JWT verification through libcrypto.
        .target(name: "HTTPServer", dependencies: ["CMicroHTTPD", "CMicroHTTPDShim"], path: "Sources/HTTPServer"),
        .target(name: "TokenAuth", dependencies: ["CCrypto", "SlawatchCore"], path: "Sources/TokenAuth"),
        // The wiring: commands, the worker, the HTTP API.
        .target(
            name: "SlawatchApp",
            dependencies: ["SlawatchCore", "SlawatchStore", "PostgresClient", "CurlTransport", "HTTPServer", "TokenAuth"],
            path: "Sources/SlawatchApp"),
        // The demo: a throwaway PostgreSQL, the reference help desk and the commands that use them. It drives
        // SlawatchApp through its public API; the executable registers its commands.
        .target(
            name: "SlawatchDemo", dependencies: ["SlawatchApp", "SlawatchCore", "PostgresClient"],
            path: "Sources/SlawatchDemo"),
        .executableTarget(name: "slawatch", dependencies: ["SlawatchApp", "SlawatchDemo"], path: "Sources/slawatch"),

        // Real loopback HTTP and SMTP servers that record what arrives; used by the tests only.
        .target(name: "LoopbackSinks", path: "Tests/LoopbackSinks"),
        .testTarget(
            name: "TransportTests", dependencies: ["CurlTransport", "LoopbackSinks"], path: "Tests/TransportTests"),
        .testTarget(
            name: "HTTPServerTests", dependencies: ["HTTPServer", "CurlTransport"], path: "Tests/HTTPServerTests"),
        .testTarget(
            name: "TokenAuthTests", dependencies: ["TokenAuth", "CCrypto", "SlawatchCore"], path: "Tests/TokenAuthTests"
        ),
        .testTarget(name: "SlawatchCoreTests", dependencies: ["SlawatchCore"], path: "Tests/SlawatchCoreTests"),
        .testTarget(
            name: "PostgresClientTests", dependencies: ["PostgresClient", "LoopbackSinks"],
            path: "Tests/PostgresClientTests"),
        .testTarget(
            name: "SlawatchStoreTests", dependencies: ["SlawatchStore", "SlawatchCore", "PostgresClient"],
            path: "Tests/SlawatchStoreTests"),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "SlawatchApp", "SlawatchDemo", "SlawatchCore", "PostgresClient", "CurlTransport", "LoopbackSinks",
                "TokenAuth",
            ],
            path: "Tests/IntegrationTests"),
    ],
    swiftLanguageModes: [.v6]
)
