import Glibc

/// A loopback port that refuses connections: bound, so no one else can take it while this object lives,
/// but never listening, so a connect gets ECONNREFUSED at once.
public final class ClosedPort: Sendable {
    public let port: UInt16
    private let fd: Int32

    public init() throws(SinkError) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SinkError(call: "socket", errno: errno) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else {
            let code = errno
            close(fd)
            throw SinkError(call: "bind", errno: code)
        }
        self.fd = fd
        port = UInt16(bigEndian: address.sin_port)
    }

    /// `http://127.0.0.1:PORT`
    public var httpURL: String { "http://127.0.0.1:\(port)" }

    deinit { close(fd) }
}
