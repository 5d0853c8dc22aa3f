import CLibPQ

extension PostgresConnection {
    /// The file descriptor of the connection's socket (-1 when there is none), for checking the
    /// socket's options; reading or writing it directly would break the protocol.
    public var socketDescriptor: Int32 { PQsocket(conn) }
}
