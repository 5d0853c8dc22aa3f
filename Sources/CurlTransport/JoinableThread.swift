import Glibc
import Synchronization

/// A joinable POSIX thread running one closure: the dedicated thread that owns a sender's C handles, so
/// that their blocking calls never occupy Swift's cooperative pool.
struct JoinableThread: Sendable {
    private let id: pthread_t

    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    /// `body` is `sending`: the thread becomes the sole owner of whatever it captures (the C handles).
    static func start(_ body: sending @escaping () -> Void) throws(TransportError) -> JoinableThread {
        let box = Unmanaged.passRetained(Body(body)).toOpaque()
        var id = pthread_t()
        let created = pthread_create(
            &id, nil,
            { argument in
                guard let argument else { return nil }
                Unmanaged<Body>.fromOpaque(argument).takeRetainedValue().run()
                return nil
            }, box)
        guard created == 0 else {
            Unmanaged<Body>.fromOpaque(box).release()
            throw TransportError(
                kind: .other, operation: "start", endpoint: "-", url: "",
                message: "pthread_create failed: \(String(cString: strerror(created)))")
        }
        return JoinableThread(id: id)
    }

    func join() {
        _ = pthread_join(id, nil)
    }
}
