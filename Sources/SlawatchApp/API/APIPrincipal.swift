import SlawatchCore
import SlawatchStore
import TokenAuth

/// Who a verified token speaks for, and which tickets it may see (README, "The HTTP API").
struct APIPrincipal: Sendable {
    /// The role as the token names it (`ADMIN`, `ticket_agent`, ...).
    let role: String
    let scope: TicketQuery.Scope
    /// The `scope` claim's words and the `abilities` claim's strings.
    let grants: Set<String>

    /// Roles that see every ticket, those that see their area's, and those that see their own.
    static let everyTicket: Set<String> = ["ADMIN", "MESA", "ticket_admin"]
    static let areaTickets: Set<String> = ["AREA", "ticket_agent"]
    static let ownTickets: Set<String> = ["ticket_user"]
    static var knownRoles: Set<String> { everyTicket.union(areaTickets).union(ownTickets) }

    var isTicketUser: Bool { Self.ownTickets.contains(role) }

    enum Refusal: Error {
        /// No usable token: 401.
        case unauthenticated(String)
        /// A valid token that may not do this: 403.
        case forbidden(String)
    }

    /// The principal of the request's `Authorization: Bearer` token.
    static func authenticate(
        _ authorization: String?, configuration: APIConfiguration
    ) -> Result<APIPrincipal, Refusal> {
        guard let authorization else { return .failure(.unauthenticated("no Authorization header")) }
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            return .failure(.unauthenticated("the Authorization header is not \"Bearer <token>\""))
        }
        guard let verifier = configuration.verifier else {
            return .failure(.unauthenticated("the rules configure no api.jwt key"))
        }
        let claims: JWTClaims
        do {
            claims = try verifier.verify(String(parts[1]).trimmingSpaces)
        } catch {
            return .failure(.unauthenticated(error.description))
        }
        let jwt = configuration.jwt
        // A dotted path may name an array (Keycloak's realm_access.roles) searched for a known role.
        guard let role = claims.strings(at: jwt.roleClaim).first(where: knownRoles.contains) else {
            return .failure(.forbidden("the token names no known role in \"\(jwt.roleClaim)\""))
        }
        let scope: TicketQuery.Scope
        if everyTicket.contains(role) {
            scope = .all
        } else if areaTickets.contains(role) {
            guard let area = claims.string(at: jwt.areaClaim), !area.isEmpty, !area.contains("\0") else {
                return .failure(.forbidden("a \(role) token needs an area in \"\(jwt.areaClaim)\""))
            }
            scope = .area(area)
        } else {
            guard let email = claims.string(at: jwt.emailClaim), !email.isEmpty, !email.contains("\0") else {
                return .failure(.forbidden("a \(role) token needs an e-mail in \"\(jwt.emailClaim)\""))
            }
            scope = .requester(email)
        }
        var grants = Set<String>()
        if let text = claims.string(at: "scope") { grants.formUnion(text.split(separator: " ").map(String.init)) }
        if case .array = claims.value(at: "abilities") { grants.formUnion(claims.strings(at: "abilities")) }
        return .success(APIPrincipal(role: role, scope: scope, grants: grants))
    }

    /// Whether a ticket is in this principal's scope, compared as the query compares (code point for
    /// code point).
    func sees(_ ticket: SourceTicket) -> Bool {
        switch scope {
        case .all: return true
        case .area(let area): return ticket.area.map { $0.utf8.elementsEqual(area.utf8) } ?? false
        case .requester(let email): return ticket.requesterEmail.map { $0.utf8.elementsEqual(email.utf8) } ?? false
        }
    }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    fileprivate var trimmingSpaces: String {
        var s = Substring(self)
        while let first = s.first, first == " " || first == "\t" { s.removeFirst() }
        while let last = s.last, last == " " || last == "\t" { s.removeLast() }
        return String(s)
    }
}
