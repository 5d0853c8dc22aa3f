import Foundation
import HTTPServer
import SlawatchCore
import SlawatchStore

/// One request with what its endpoint needs: the configuration of the moment, the pool, the instant.
struct APIRequest {
    let http: HTTPServerRequest
    let now: Instant
    let configuration: APIConfiguration
    let pool: BlockingConnectionPool
    let log: Logger
    let metrics: APIMetrics

    /// The principal of the request's token.
    func authenticate() -> Result<APIPrincipal, APIPrincipal.Refusal> {
        let result = APIPrincipal.authenticate(http.header("Authorization"), configuration: configuration)
        if case .failure(let refusal) = result {
            // Why a token was refused is for the operator, never for the client.
            switch refusal {
            case .unauthenticated(let why):
                log.info("request refused", ["path": http.path, "status": "401", "reason": why])
            case .forbidden(let why): log.info("request refused", ["path": http.path, "status": "403", "reason": why])
            }
        }
        return result
    }

    /// Runs `body` with a borrowed connection; a store failure is logged with the server's text and
    /// becomes the status to answer (503 when the database is unreachable, busy or slow, else 500).
    func withDatabase<T>(_ body: (StoreConnection) throws -> T) -> Result<T, DatabaseFailure> {
        do {
            return .success(try pool.withConnection(body))
        } catch let error as StoreError {
            return .failure(failure(error))
        } catch let error as DatabaseFailure {
            return .failure(error)
        } catch {
            log.error("request failed", ["path": http.path, "error": "\(error)"])
            return .failure(DatabaseFailure(status: 500, storeError: nil))
        }
    }

    func failure(_ error: StoreError) -> DatabaseFailure {
        configuration.forgetLayouts()
        log.error(
            "request failed: database",
            ["path": http.path, "error": error.messageWithDetail, "code": error.code.description])
        let status = [.unavailable, .timeout].contains(error.code) ? 503 : 500
        return DatabaseFailure(status: status, storeError: error)
    }

    /// A borrowed connection's failure as the answer's status; an unknown column stays apart for a 422.
    struct DatabaseFailure: Error {
        let status: Int
        let storeError: StoreError?
    }
}
