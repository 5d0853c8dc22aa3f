import Foundation

/// The reference help desk: the schema the seed documents describe, the two source views slawatch reads
/// (the README's source views), and a generator of realistic sample tickets that runs entirely inside PostgreSQL.
///
/// It is used by `slawatch demo` and by the tests. slawatch itself never writes to these tables; only the
/// demo and the tests do, through the SQL below.
public enum ReferenceHelpDesk {
    /// The reference schema in `public`, its lookup rows, and the views `slawatch_source.tickets` and
    /// `slawatch_source.status_changes`.
    ///
    /// Several statements: run it with a simple-query call (`PQexec`), not with `PQexecParams`. It is
    /// idempotent: a second run neither fails nor changes anything (the lookup rows are inserted only when
    /// missing, so not even a sequence advances). It opens no transaction of its own: through `PQexec` the
    /// whole string runs as one implicit transaction, under an advisory lock so that two concurrent runs do not
    /// race on `CREATE TABLE IF NOT EXISTS`; inside a caller's transaction it joins that transaction.
    /// Its "already exists, skipping" notices are silenced for the rest of the transaction.
    public static let schemaSQL: String = """
        SELECT set_config('client_min_messages', 'warning', true), pg_advisory_xact_lock(7385012201);

        CREATE TABLE IF NOT EXISTS public.areas (
            id                 serial PRIMARY KEY,
            nombre             text NOT NULL UNIQUE,
            correo_responsable text
        );
        CREATE TABLE IF NOT EXISTS public.prioridades (
            id     serial PRIMARY KEY,
            nombre text NOT NULL UNIQUE
        );
        CREATE TABLE IF NOT EXISTS public.estados (
            id     serial PRIMARY KEY,
            code   text NOT NULL UNIQUE,
            nombre text NOT NULL
        );
        CREATE TABLE IF NOT EXISTS public.usuarios (
            id      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            correo  text NOT NULL UNIQUE,
            nombre  text NOT NULL,
            rol     text NOT NULL CHECK (rol IN ('ADMIN', 'MESA', 'AREA')),
            area_id integer REFERENCES public.areas (id)
        );
        CREATE TABLE IF NOT EXISTS public.tickets (
            id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            codigo         text NOT NULL UNIQUE,
            titulo         text NOT NULL,
            descripcion    text,
            categoria      text,
            usuario_id     uuid REFERENCES public.usuarios (id),
            area_id        integer REFERENCES public.areas (id),
            prioridad_id   integer NOT NULL REFERENCES public.prioridades (id),
            estado_id      integer NOT NULL REFERENCES public.estados (id),
            creado_en      timestamptz NOT NULL DEFAULT now(),
            actualizado_en timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE IF NOT EXISTS public.ticket_historial (
            id          bigserial PRIMARY KEY,
            ticket_id   uuid NOT NULL REFERENCES public.tickets (id) ON DELETE CASCADE,
            estado_id   integer NOT NULL REFERENCES public.estados (id),
            cambiado_en timestamptz NOT NULL DEFAULT now()
        );
        -- slawatch's incremental cycles ask for the tickets updated since the previous cycle.
        CREATE INDEX IF NOT EXISTS tickets_actualizado_en_idx ON public.tickets (actualizado_en);
        CREATE INDEX IF NOT EXISTS ticket_historial_ticket_id_cambiado_en_idx
            ON public.ticket_historial (ticket_id, cambiado_en);

        INSERT INTO public.prioridades (nombre)
        SELECT v.nombre
        FROM (VALUES (1, 'CRITICA'), (2, 'ALTA'), (3, 'MEDIA'), (4, 'BAJA')) AS v (orden, nombre)
        WHERE NOT EXISTS (SELECT 1 FROM public.prioridades p WHERE p.nombre = v.nombre)
        ORDER BY v.orden
        ON CONFLICT DO NOTHING;

        INSERT INTO public.estados (code, nombre)
        SELECT v.code, v.nombre
        FROM (VALUES
            (1, 'ABIERTO', 'Abierto'),
            (2, 'EN_PROCESO', 'En proceso'),
            (3, 'EN_ESPERA', 'En espera'),
            (4, 'RESUELTO', 'Resuelto'),
            (5, 'CERRADO', 'Cerrado')
        ) AS v (orden, code, nombre)
        WHERE NOT EXISTS (SELECT 1 FROM public.estados e WHERE e.code = v.code)
        ORDER BY v.orden
        ON CONFLICT DO NOTHING;

        INSERT INTO public.areas (nombre, correo_responsable)
        SELECT v.nombre, v.correo
        FROM (VALUES
            (1, 'TECNOLOGIA', 'jefe.tecnologia@example.com'),
            (2, 'MESA', 'jefe.mesa@example.com'),
            (3, 'FACTURACION', 'jefe.facturacion@example.com'),
            (4, 'RECURSOS_HUMANOS', 'jefe.recursos.humanos@example.com'),
            (5, 'COMPRAS', 'jefe.compras@example.com'),
            (6, 'JURIDICA', 'jefe.juridica@example.com'),
            (7, 'MANTENIMIENTO', 'jefe.mantenimiento@example.com'),
            (8, 'LOGISTICA', 'jefe.logistica@example.com'),
            (9, 'CONTABILIDAD', 'jefe.contabilidad@example.com'),
            (10, 'COMUNICACIONES', 'jefe.comunicaciones@example.com'),
            (11, 'SEGURIDAD', 'jefe.seguridad@example.com'),
            (12, 'CALIDAD', 'jefe.calidad@example.com')
        ) AS v (orden, nombre, correo)
        WHERE NOT EXISTS (SELECT 1 FROM public.areas a WHERE a.nombre = v.nombre)
        ORDER BY v.orden
        ON CONFLICT DO NOTHING;

        CREATE SCHEMA IF NOT EXISTS slawatch_source;

        CREATE OR REPLACE VIEW slawatch_source.tickets AS
        SELECT
            t.id                 AS ticket_id,
            t.codigo             AS code,
            t.titulo             AS title,
            t.categoria          AS category,
            u.correo             AS requester_email,
            e.code               AS status,
            p.nombre             AS priority,
            a.nombre             AS area,
            a.correo_responsable AS area_manager_email,
            t.creado_en          AS created_at,
            t.actualizado_en     AS updated_at
        FROM public.tickets t
        JOIN public.estados e ON e.id = t.estado_id
        JOIN public.prioridades p ON p.id = t.prioridad_id
        LEFT JOIN public.usuarios u ON u.id = t.usuario_id
        LEFT JOIN public.areas a ON a.id = t.area_id;

        CREATE OR REPLACE VIEW slawatch_source.status_changes AS
        SELECT
            h.ticket_id   AS ticket_id,
            e.code        AS status,
            h.cambiado_en AS changed_at
        FROM public.ticket_historial h
        JOIN public.estados e ON e.id = h.estado_id;
        """

    /// One statement that generates sample tickets inside PostgreSQL; run it with `PQexecParams`.
    ///
    /// Parameters (send them as text, types unspecified; `sampleDataParameters` formats them):
    /// - `$1` integer: how many tickets to generate (≥ 0).
    /// - `$2` timestamptz: "now", ISO 8601 (`2026-03-24T10:30:00Z`); truncated to whole seconds. PostgreSQL
    ///   rejects a malformed value before anything is written.
    /// - `$3` float8: the seed. The same seed, count, now and database contents give the same rows, ids
    ///   included: every pseudo-random draw is a hash of (seed, ticket sequence number, draw number), not
    ///   `random()`, so the result does not depend on the plan or on the order rows are produced in.
    ///
    /// It returns one row: `tickets bigint, status_changes bigint, new_users bigint`.
    ///
    /// Requires `schemaSQL` to have run. What it makes: requester users (`usuarios`, role AREA, created when
    /// missing and reused by later calls), tickets with Spanish titles, categories (about 10 % NULL), areas
    /// (about 4 % unassigned), priorities CRITICA/ALTA/MEDIA/BAJA about 10/25/40/25 %, created in the 30 days
    /// before now (mostly 13:00–23:00 UTC, office hours in the Americas; open tickets skewed towards recent
    /// days), about 70 % open (ABIERTO, EN_PROCESO, EN_ESPERA) and 30 % RESUELTO/CERRADO, each with 1–4
    /// `ticket_historial` rows at strictly increasing whole seconds from `creado_en` to at most now, following a
    /// plausible path (pauses in EN_ESPERA, some reopened tickets). A ticket's `estado_id` is its last history
    /// row's status and `actualizado_en` that row's time. Codes are `TKT-<year of creation>-<sequence>`,
    /// zero-padded to 5 digits, the sequence continuing after the highest existing one, so repeated calls never
    /// collide. Ticket ids are laid out as UUID version 7 (time prefix derived from now), so that the indexes
    /// fill at their right edge. Not meant for two concurrent calls on one database (both would pick the same
    /// sequence numbers and one fails on the unique code). After a large load, an `ANALYZE` helps the next
    /// queries.
    ///
    /// Speed: a million tickets (about 2.6 million history rows) take about 40 s on 2 vCPUs, some 60 % of it in
    /// PostgreSQL's per-row foreign-key triggers. A superuser session (the throwaway cluster's role is one) may
    /// run it inside a transaction after `SET LOCAL session_replication_role = replica`, which skips those
    /// triggers (about 13 s); the rows satisfy every constraint by construction.
    public static let sampleDataSQL: String = SampleData.sql

    /// The parameters of `sampleDataSQL`, in order, as text.
    public static func sampleDataParameters(count: Int, now: Date, seed: Double) -> [String] {
        [String(max(0, count)), now.formatted(.iso8601), String(seed)]
    }
}

/// The pieces `sampleDataSQL` is built from. Everything here is a constant of the program: no value from
/// outside is ever spliced into the SQL text; the caller's values travel as `$1`, `$2`, `$3`.
private enum SampleData {
    /// (title, category, area, description). The draws pick one uniformly.
    static let templates: [(String, String, String, String)] = [
        (
            "No puedo acceder al correo electrónico", "Correo", "TECNOLOGIA",
            "Al iniciar sesión en el correo aparece el mensaje «contraseña incorrecta», aunque la contraseña es la de siempre."
        ),
        (
            "Solicitud de instalación de impresora", "Hardware", "TECNOLOGIA",
            "Se necesita instalar y configurar la impresora del área en los equipos de la oficina."
        ),
        (
            "La VPN se desconecta cada pocos minutos", "Redes", "TECNOLOGIA",
            "Desde casa la conexión VPN se cae cada cinco o diez minutos y hay que volver a autenticarse."
        ),
        (
            "Restablecimiento de contraseña del dominio", "Accesos", "TECNOLOGIA",
            "La cuenta quedó bloqueada tras varios intentos fallidos; se solicita restablecer la contraseña."
        ),
        (
            "El equipo portátil no enciende", "Hardware", "TECNOLOGIA",
            "El portátil no muestra señal al pulsar el botón de encendido, ni siquiera con el cargador conectado."
        ),
        (
            "Lentitud en el sistema de gestión documental", "Software", "TECNOLOGIA",
            "Abrir un expediente tarda más de un minuto desde esta mañana."
        ),
        (
            "Actualización de la suite ofimática", "Software", "TECNOLOGIA",
            "El programa de hojas de cálculo pide una actualización que requiere permisos de administrador."
        ),
        (
            "Sin conexión a internet en la sala de reuniones", "Redes", "TECNOLOGIA",
            "Ni la red cableada ni la inalámbrica funcionan en la sala de reuniones del tercer piso."
        ),
        (
            "Pantalla azul al iniciar sesión", "Hardware", "TECNOLOGIA",
            "El equipo se reinicia con una pantalla azul justo después de escribir la contraseña."
        ),
        (
            "Solicitud de acceso a carpeta compartida", "Accesos", "TECNOLOGIA",
            "Se requiere acceso de lectura y escritura a la carpeta compartida del proyecto."
        ),
        (
            "Error de facturación en el módulo de cobros", "Facturación", "FACTURACION",
            "El módulo de cobros genera la factura con un valor distinto al del pedido aprobado."
        ),
        (
            "Factura electrónica rechazada por validación tributaria", "Facturación", "FACTURACION",
            "La factura electrónica fue rechazada; el mensaje indica un error en el número de identificación del cliente."
        ),
        (
            "Nota crédito no aplicada al cliente", "Cartera", "FACTURACION",
            "La nota crédito emitida la semana pasada no aparece aplicada en el estado de cuenta del cliente."
        ),
        (
            "Diferencia en el cálculo del IVA", "Impuestos", "FACTURACION",
            "El IVA calculado en la factura no coincide con el de la cotización enviada al cliente."
        ),
        (
            "Duplicidad de cobro a un cliente", "Cartera", "FACTURACION",
            "Un cliente reporta que se le cobró dos veces la misma factura este mes."
        ),
        (
            "Consulta sobre el estado de una solicitud", "Consulta", "MESA",
            "El usuario pregunta en qué estado está una solicitud radicada hace varios días."
        ),
        (
            "Reasignación de ticket a otra área", "Gestión", "MESA",
            "El ticket fue asignado por error; se solicita reasignarlo al área correspondiente."
        ),
        (
            "Información sobre el horario de atención", "Consulta", "MESA",
            "Se solicita confirmar el horario de atención de la mesa de ayuda durante los festivos."
        ),
        (
            "Corrección de datos en la nómina", "Nómina", "RECURSOS_HUMANOS",
            "El desprendible de pago muestra un número de cuenta bancaria equivocado."
        ),
        (
            "Solicitud de certificado laboral", "Certificados", "RECURSOS_HUMANOS",
            "Se necesita un certificado laboral con salario para un trámite bancario."
        ),
        (
            "Actualización de datos de seguridad social", "Afiliaciones", "RECURSOS_HUMANOS",
            "Cambio de entidad de salud a partir del próximo mes; se adjunta el formulario diligenciado."
        ),
        (
            "Vacaciones no reflejadas en el portal del empleado", "Nómina", "RECURSOS_HUMANOS",
            "Las vacaciones aprobadas en marzo no aparecen descontadas en el portal del empleado."
        ),
        (
            "Orden de compra pendiente de aprobación", "Órdenes de compra", "COMPRAS",
            "La orden de compra lleva más de una semana sin aprobación y el proveedor espera confirmación."
        ),
        (
            "Alta de nuevo proveedor en el sistema", "Proveedores", "COMPRAS",
            "Se solicita registrar un nuevo proveedor de papelería; se adjuntan el RUT y la certificación bancaria."
        ),
        (
            "Cotización de equipos de cómputo", "Cotizaciones", "COMPRAS",
            "Se requieren tres cotizaciones de portátiles para el equipo de diseño."
        ),
        (
            "Revisión de contrato con proveedor", "Contratos", "JURIDICA",
            "Se necesita revisión jurídica del contrato de mantenimiento antes de la firma."
        ),
        (
            "Solicitud de poder para trámite notarial", "Documentos legales", "JURIDICA",
            "Se requiere un poder firmado por el representante legal para un trámite en notaría."
        ),
        (
            "Respuesta a derecho de petición", "Requerimientos", "JURIDICA",
            "Llegó un derecho de petición de un cliente y el plazo de respuesta vence pronto."
        ),
        (
            "Aire acondicionado averiado en la oficina", "Climatización", "MANTENIMIENTO",
            "El aire acondicionado del segundo piso hace ruido y no enfría desde ayer."
        ),
        (
            "Fuga de agua en el baño del primer piso", "Plomería", "MANTENIMIENTO",
            "Hay una fuga bajo el lavamanos y el piso está mojado."
        ),
        (
            "Envío retenido en la transportadora", "Envíos", "LOGISTICA",
            "El pedido despachado el lunes aparece retenido en la bodega de la transportadora."
        ),
        (
            "Inventario de bodega no cuadra", "Inventario", "LOGISTICA",
            "El conteo físico de la bodega principal difiere del inventario del sistema."
        ),
        (
            "Conciliación bancaria con diferencias", "Conciliaciones", "CONTABILIDAD",
            "La conciliación del mes muestra una diferencia que no se explica con los extractos."
        ),
        (
            "Cierre contable bloqueado por un asiento", "Cierre", "CONTABILIDAD",
            "No se puede cerrar el periodo porque un asiento quedó descuadrado."
        ),
        (
            "Publicación en la intranet con errores", "Intranet", "COMUNICACIONES",
            "La noticia publicada hoy en la intranet tiene la fecha del evento equivocada."
        ),
        (
            "Diseño de pieza para campaña interna", "Diseño", "COMUNICACIONES",
            "Se necesita una pieza gráfica para la campaña de bienestar del próximo mes."
        ),
        (
            "Tarjeta de acceso no funciona", "Control de acceso", "SEGURIDAD",
            "La tarjeta de acceso no abre la puerta principal desde el cambio de lectores."
        ),
        (
            "Correo sospechoso recibido", "Seguridad informática", "SEGURIDAD",
            "Llegó un correo que pide verificar la cuenta en un enlace externo."
        ),
        (
            "No conformidad en auditoría interna", "Auditorías", "CALIDAD",
            "La auditoría interna registró una no conformidad en el proceso de compras."
        ),
        (
            "Actualización de procedimiento documentado", "Documentación", "CALIDAD",
            "El procedimiento de atención al cliente debe actualizarse con el nuevo formato."
        ),
    ]

    /// Suffixes that vary a third of the titles.
    static let places = ["sede Centro", "sede Norte", "sede Sur", "piso 3", "bodega principal", "oficina de atención"]

    /// (name, the same without accents for e-mail addresses).
    static let firstNames: [(String, String)] = [
        ("María", "maria"), ("José", "jose"), ("Ana", "ana"), ("Luis", "luis"), ("Camila", "camila"),
        ("Andrés", "andres"), ("Valentina", "valentina"), ("Sebastián", "sebastian"), ("Lucía", "lucia"),
        ("Julián", "julian"), ("Sofía", "sofia"), ("Martín", "martin"), ("Daniela", "daniela"),
        ("Carlos", "carlos"), ("Paula", "paula"), ("Jorge", "jorge"), ("Natalia", "natalia"), ("Ramón", "ramon"),
        ("Inés", "ines"), ("Óscar", "oscar"),
    ]
    static let lastNames: [(String, String)] = [
        ("González", "gonzalez"), ("Rodríguez", "rodriguez"), ("Martínez", "martinez"), ("Gómez", "gomez"),
        ("López", "lopez"), ("Hernández", "hernandez"), ("Díaz", "diaz"), ("Pérez", "perez"),
        ("Sánchez", "sanchez"), ("Ramírez", "ramirez"), ("Torres", "torres"), ("Vargas", "vargas"),
        ("Castaño", "castano"), ("Muñoz", "munoz"), ("Jiménez", "jimenez"), ("Peña", "pena"), ("Ortiz", "ortiz"),
        ("Rojas", "rojas"), ("Córdoba", "cordoba"), ("Núñez", "nunez"),
    ]
    static let areas = [
        "TECNOLOGIA", "MESA", "FACTURACION", "RECURSOS_HUMANOS", "COMPRAS", "JURIDICA", "MANTENIMIENTO", "LOGISTICA",
        "CONTABILIDAD",
        "COMUNICACIONES", "SEGURIDAD", "CALIDAD",
    ]

    /// Status paths with their weight in percent; the open ones (ending in ABIERTO, EN_PROCESO or EN_ESPERA)
    /// first, adding up to 70.
    static let paths: [(weight: Int, statuses: [String])] = [
        (18, ["ABIERTO"]),
        (24, ["ABIERTO", "EN_PROCESO"]),
        (5, ["ABIERTO", "EN_ESPERA"]),
        (11, ["ABIERTO", "EN_PROCESO", "EN_ESPERA"]),
        (9, ["ABIERTO", "EN_PROCESO", "EN_ESPERA", "EN_PROCESO"]),
        (3, ["ABIERTO", "EN_PROCESO", "RESUELTO", "EN_PROCESO"]),  // reopened
        (3, ["ABIERTO", "RESUELTO"]),
        (10, ["ABIERTO", "EN_PROCESO", "RESUELTO"]),
        (10, ["ABIERTO", "EN_PROCESO", "RESUELTO", "CERRADO"]),
        (3, ["ABIERTO", "EN_ESPERA", "EN_PROCESO", "RESUELTO"]),
        (2, ["ABIERTO", "EN_PROCESO", "EN_ESPERA", "RESUELTO"]),
        (2, ["ABIERTO", "RESUELTO", "CERRADO"]),
    ]
    static let openWeight = 70

    /// Mean time from opening to resolution of a resolved ticket, in seconds, per priority.
    static let meanResolutionSeconds = [4 * 3600, 12 * 3600, 36 * 3600, 72 * 3600]

    static let statuses = ["ABIERTO", "EN_PROCESO", "EN_ESPERA", "RESUELTO", "CERRADO"]

    /// A SQL string literal of a constant of this file.
    static func literal(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }

    /// A constant text array.
    static func textArray(_ items: [String]) -> String {
        "(ARRAY[" + items.map(literal).joined(separator: ", ") + "]::text[])"
    }

    /// A constant integer array.
    static func intArray(_ items: [Int]) -> String {
        "(ARRAY[" + items.map(String.init).joined(separator: ", ") + "]::integer[])"
    }

    /// Draw number `k` for ticket `seq`: a float in (0, 1), a hash of (seed, sequence, k).
    static func draw(_ k: Int) -> String {
        "((hashint8extended(st.maxseq + g.i, p.seed_key # \(k)::bigint) & 2147483647::bigint)::float8 + 0.5)"
            + " / 2147483648.0 AS r\(k)"
    }

    /// A 1-based index in 1...count chosen by a hash of `expression` with the constant `salt`; seed-independent,
    /// so that requester number k is the same person in every call.
    static func pick(_ expression: String, salt: Int, count: Int) -> String {
        "(1 + (hashint8extended(\(expression), \(salt)) & 2147483647::bigint) % \(count))::integer"
    }

    /// The full name of requester number `k` (an SQL expression).
    static func requesterName(_ k: String) -> String {
        "\(textArray(firstNames.map(\.0)))[\(pick(k, salt: 101, count: firstNames.count))] || ' ' || "
            + "\(textArray(lastNames.map(\.0)))[\(pick(k, salt: 102, count: lastNames.count))]"
    }

    /// The e-mail address of requester number `k` (an SQL expression).
    static func requesterEmail(_ k: String) -> String {
        "\(textArray(firstNames.map(\.1)))[\(pick(k, salt: 101, count: firstNames.count))] || '.' || "
            + "\(textArray(lastNames.map(\.1)))[\(pick(k, salt: 102, count: lastNames.count))] || "
            + "\(k)::text || '@example.com'"
    }

    /// A deterministic UUID (version-4 shape) from `hash`, a column holding an MD5 in hex.
    static func uuid(fromMD5 hash: String) -> String {
        "overlay(overlay(\(hash) PLACING '4' FROM 13 FOR 1) PLACING "
            + "translate(substr(\(hash), 17, 1), '0123456789abcdef', '89ab89ab89ab89ab') FROM 17 FOR 1)::uuid"
    }

    /// A UUID laid out as version 7 (RFC 9562): the 48-bit Unix time in milliseconds `milliseconds`, then bits
    /// of `md5`. Ticket ids of one call increase with the sequence and follow those of earlier calls, so the
    /// primary-key and history indexes are filled at their right edge instead of at random pages.
    static func uuidV7(milliseconds: String, md5 hash: String) -> String {
        "(lpad(to_hex(\(milliseconds)), 12, '0') || '7' || substr(\(hash), 14, 3) || "
            + "translate(substr(\(hash), 17, 1), '0123456789abcdef', '89ab89ab89ab89ab') || substr(\(hash), 18))::uuid"
    }

    /// Which path draw `r` selects, 1-based.
    static func pathCase(_ r: String) -> String {
        var lines: [String] = []
        var cumulative = 0
        for (index, path) in paths.enumerated() {
            cumulative += path.weight
            lines.append("WHEN \(r) < \(Double(cumulative) / 100) THEN \(index + 1)")
        }
        return "CASE " + lines.joined(separator: " ") + " ELSE \(paths.count) END"
    }

    /// The paths as a 2-D array of 1-based indexes into `statuses`, padded with 0.
    static var pathStatusIndexes: String {
        let rows = paths.map { path in
            let indexes = path.statuses.map { 1 + statuses.firstIndex(of: $0)! }
            return "["
                + (indexes + Array(repeating: 0, count: 4 - indexes.count)).map(String.init)
                .joined(separator: ", ") + "]"
        }
        return "(ARRAY[" + rows.joined(separator: ", ") + "]::integer[])"
    }

    static var sql: String {
        let open = "\(Double(openWeight) / 100)"
        let means = "(ARRAY[" + meanResolutionSeconds.map(String.init).joined(separator: ", ") + "]::float8[])"
        let lookupAreas = areas.map { "(SELECT a.id FROM public.areas a WHERE a.nombre = \(literal($0)))" }
        let lookupStatuses = statuses.map { "(SELECT e.id FROM public.estados e WHERE e.code = \(literal($0)))" }
        let lookupPriorities = ["CRITICA", "ALTA", "MEDIA", "BAJA"].map {
            "(SELECT pr.id FROM public.prioridades pr WHERE pr.nombre = \(literal($0)))"
        }
        let templateArea = intArray(templates.map { 1 + areas.firstIndex(of: $0.2)! })
        // Lookups go through arrays indexed by the draws, never through joins: the planner cannot estimate
        // the rows of generate_series over a parameter and, with joins, picked nested loops that recomputed
        // a million rows per lookup row. Each layer ends in OFFSET 0 so that its columns are computed once
        // per row instead of being inlined wherever they are used; `changes`, which both INSERTs read, is
        // materialized with only the columns they need. About 60 % of the time of a large load is spent in
        // the foreign-key triggers, not here.
        return """
            WITH
            params AS MATERIALIZED (
                SELECT greatest(coalesce($1::integer, 0), 0) AS n,
                       date_trunc('second', $2::timestamptz) AS now,
                       hashfloat8extended($3::float8, 0) AS seed_key
            ),
            sizes AS MATERIALIZED (
                SELECT CASE WHEN p.n = 0 THEN 0 ELSE greatest(20, least(p.n / 25, 40000)) END AS pool_size
                FROM params p
            ),
            start AS MATERIALIZED (
                SELECT coalesce(max(substring(t.codigo FROM '^TKT-[0-9]{4}-([0-9]{1,18})$')::bigint), 0) AS maxseq
                FROM public.tickets t
            ),
            pool AS MATERIALIZED (
                SELECT x.*, md5('slawatch-sample-user:' || x.correo) AS h
                FROM (
                    SELECT u.i AS k,
                           \(requesterName("u.i")) AS nombre,
                           \(requesterEmail("u.i")) AS correo,
                           (ARRAY[\(lookupAreas.joined(separator: ", "))])[\(pick("u.i", salt: 103, count: areas.count))] AS area_id
                    FROM sizes s
                    CROSS JOIN generate_series(1, s.pool_size) AS u (i)
                    OFFSET 0
                ) x
            ),
            new_users AS (
                INSERT INTO public.usuarios (id, correo, nombre, rol, area_id)
                SELECT \(uuid(fromMD5: "pool.h")), pool.correo, pool.nombre, 'AREA', pool.area_id
                FROM pool
                ON CONFLICT DO NOTHING
                RETURNING id, correo
            ),
            lk AS MATERIALIZED (
                SELECT ARRAY[\(lookupPriorities.joined(separator: ", "))] AS prioridad_ids,
                       ARRAY[\(lookupStatuses.joined(separator: ", "))] AS estado_ids,
                       ARRAY[\(lookupAreas.joined(separator: ", "))] AS area_ids,
                       (SELECT array_agg(coalesce(nu.id, u.id) ORDER BY pool.k)
                        FROM pool
                        LEFT JOIN new_users nu ON nu.correo = pool.correo
                        LEFT JOIN public.usuarios u ON u.correo = pool.correo) AS requester_ids
            ),
            draws AS NOT MATERIALIZED (
                SELECT st.maxseq + g.i AS seq, p.now, p.seed_key, s.pool_size,
                       floor(extract(epoch FROM p.now) * 1000)::bigint - p.n + g.i AS v7_ms,
                       \((1...15).map(draw).joined(separator: ",\n                       "))
                FROM params p
                CROSS JOIN sizes s
                CROSS JOIN start st
                CROSS JOIN generate_series(1, p.n) AS g (i)
                OFFSET 0
            ),
            shaped AS NOT MATERIALIZED (
                SELECT b.*,
                       extract(epoch FROM b.now - b.creado_en)::bigint AS span
                FROM (
                    SELECT a.*,
                           CASE WHEN a.candidate > a.now THEN a.candidate - interval '86400 seconds'
                                ELSE a.candidate END AS creado_en
                    FROM (
                        SELECT d.*,
                               CASE WHEN d.r1 < 0.10 THEN 1 WHEN d.r1 < 0.35 THEN 2
                                    WHEN d.r1 < 0.75 THEN 3 ELSE 4 END AS prio_k,
                               1 + floor(d.r2 * \(templates.count))::integer AS plantilla_k,
                               1 + floor(d.r5 * d.pool_size)::integer AS requester_k,
                               \(pathCase("d.r6")) AS camino_k,
                               d.r6 < \(open) AS abierto,
                               date_trunc('day', d.now, 'UTC')
                                 + (CASE WHEN d.r8 < 0.8 THEN 46800 + floor(d.r9 * 36000)
                                         ELSE floor(d.r9 * 86400) END
                                    - 86400 * floor(30 * CASE WHEN d.r6 < \(open) THEN d.r7 * d.r7 ELSE d.r7 END))
                                   * interval '1 second' AS candidate
                        FROM draws d
                        OFFSET 0
                    ) a
                    OFFSET 0
                ) b
                OFFSET 0
            ),
            timed AS NOT MATERIALIZED (
                SELECT c.*,
                       CASE WHEN c.len_eff = 1 THEN 0::bigint
                            WHEN c.abierto THEN floor((c.span - (c.len_eff - 1)) * c.r10)::bigint
                            -- Resolved: an exponential time to resolve with the priority's mean; one that would end
                            -- after now is drawn again uniformly inside the ticket's life instead of being cut at now.
                            WHEN floor(\(means)[c.prio_k] * -ln(c.r10)) <= c.span - (c.len_eff - 1)
                                THEN floor(\(means)[c.prio_k] * -ln(c.r10))::bigint
                            ELSE floor((c.span - (c.len_eff - 1)) * c.r15)::bigint
                       END AS duracion,
                       md5('slawatch-sample-ticket:' || c.seed_key::text || ':' || c.seq::text) AS h
                FROM (
                    SELECT sh.*,
                           least(\(intArray(paths.map(\.statuses.count)))[sh.camino_k]::bigint, sh.span + 1)::integer
                               AS len_eff
                    FROM shaped sh
                    OFFSET 0
                ) c
                OFFSET 0
            ),
            changes AS MATERIALIZED (
                SELECT t.seq, t.creado_en, t.r3, t.r4, t.r14, t.plantilla_k, t.requester_k, t.prio_k, t.camino_k,
                       t.len_eff,
                       \(uuidV7(milliseconds: "t.v7_ms", md5: "t.h")) AS ticket_id,
                       ARRAY[
                           0::bigint,
                           1 + floor(t.duracion * CASE t.len_eff WHEN 2 THEN 1.0::float8
                                                 WHEN 3 THEN (0.2 + t.r11) / (0.4 + t.r11 + t.r12)
                                                 ELSE (0.2 + t.r11) / (0.6 + t.r11 + t.r12 + t.r13) END)::bigint,
                           2 + floor(t.duracion * CASE t.len_eff WHEN 3 THEN 1.0::float8
                                                 ELSE (0.4 + t.r11 + t.r12) / (0.6 + t.r11 + t.r12 + t.r13) END)::bigint,
                           3 + t.duracion
                       ] AS offsets
                FROM timed t
            ),
            tickets_in AS (
                INSERT INTO public.tickets
                    (id, codigo, titulo, descripcion, categoria, usuario_id, area_id, prioridad_id, estado_id,
                     creado_en, actualizado_en)
                SELECT c.ticket_id,
                       'TKT-' || to_char(c.creado_en AT TIME ZONE 'UTC', 'YYYY') || '-'
                           || CASE WHEN c.seq < 100000 THEN lpad(c.seq::text, 5, '0') ELSE c.seq::text END,
                       \(textArray(templates.map(\.0)))[c.plantilla_k]
                           || CASE WHEN c.r3 < 0.3
                                   THEN ' - ' || \(textArray(places))[1 + floor(c.r14 * \(places.count))::integer]
                                   ELSE '' END,
                       \(textArray(templates.map(\.3)))[c.plantilla_k]
                           || ' Reportado por ' || \(requesterName("c.requester_k")) || '.',
                       CASE WHEN c.r4 < 0.10 THEN NULL ELSE \(textArray(templates.map(\.1)))[c.plantilla_k] END,
                       lk.requester_ids[c.requester_k],
                       CASE WHEN c.r4 > 0.96 THEN NULL ELSE lk.area_ids[\(templateArea)[c.plantilla_k]] END,
                       lk.prioridad_ids[c.prio_k],
                       lk.estado_ids[\(pathStatusIndexes)[c.camino_k][c.len_eff]],
                       c.creado_en,
                       c.creado_en + c.offsets[c.len_eff] * interval '1 second'
                FROM changes c
                CROSS JOIN lk
                RETURNING 1
            ),
            history_in AS (
                INSERT INTO public.ticket_historial (ticket_id, estado_id, cambiado_en)
                SELECT c.ticket_id,
                       lk.estado_ids[\(pathStatusIndexes)[c.camino_k][j.j]],
                       c.creado_en + c.offsets[j.j] * interval '1 second'
                FROM changes c
                CROSS JOIN lk
                CROSS JOIN LATERAL generate_series(1, c.len_eff) AS j (j)
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM tickets_in) AS tickets,
                   (SELECT count(*) FROM history_in) AS status_changes,
                   (SELECT count(*) FROM new_users) AS new_users
            """
    }
}
