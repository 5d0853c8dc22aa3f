import Glibc
import HTTPServer
import Synchronization

/// A handler made of a closure, counting the requests that reach it.
final class TestHandler: HTTPHandler {
    private let body: @Sendable (HTTPServerRequest) -> HTTPServerResponse
    private let calls = Atomic<Int>(0)

    init(_ body: @escaping @Sendable (HTTPServerRequest) -> HTTPServerResponse) {
        self.body = body
    }

    var callCount: Int { calls.load(ordering: .acquiring) }

    func respond(to request: HTTPServerRequest) -> HTTPServerResponse {
        calls.add(1, ordering: .acquiringAndReleasing)
        return body(request)
    }
}

/// The process's resident memory, from /proc/self/statm.
func residentBytes() -> Int {
    let fd = open("/proc/self/statm", O_RDONLY)
    guard fd >= 0 else { return 0 }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 256)
    let count = read(fd, &buffer, buffer.count)
    guard count > 0 else { return 0 }
    let fields = String(decoding: buffer[0..<count], as: UTF8.self).split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}
