import Foundation
import PostgresClient
import Testing

/// A small help desk whose every figure was computed by hand (see each ticket's comment).
/// `now` is Tuesday 2026-03-24 15:00Z = 10:00 in Bogotá (UTC-5); Monday 2026-03-23 is a holiday.
enum KnownHelpDesk {
    static let now = "2026-03-24T15:00:00Z"

    static let rules = """
        {
          calendars: {
            "24x7": { type: "always" },
            oficina: {
              timezone: "America/Bogota",
              week: { mon: ["08:00-12:00", "13:00-18:00"], tue: ["08:00-12:00", "13:00-18:00"],
                      wed: ["08:00-12:00", "13:00-18:00"], thu: ["08:00-12:00", "13:00-18:00"],
                      fri: ["08:00-12:00", "13:00-18:00"] },
              holidays: ["2026-03-23"],
            },
          },
          policies: [
            { name: "criticos", when: { column: "priority", op: "EQ", operand: "CRITICA" }, calendar: "24x7",
              targets: { CRITICA: 4 }, pause_statuses: ["EN_ESPERA"], stop_statuses: ["RESUELTO", "CERRADO"], warn_at: [50, 75] },
            { name: "general", calendar: "oficina", targets: { ALTA: 8, MEDIA: 24 },
              pause_statuses: ["EN_ESPERA"], stop_statuses: ["RESUELTO", "CERRADO"], warn_at: [75] },
          ],
        }
        """

    static let dataSQL = """
        INSERT INTO usuarios (id, correo, nombre, rol, area_id) VALUES
          ('00000000-0000-0000-0000-0000000000a1', 'ana@example.com', 'Ana Gómez', 'MESA', NULL),
          ('00000000-0000-0000-0000-0000000000a2', 'luis@example.com', 'Luis Peña', 'AREA', NULL);
        INSERT INTO tickets (id, codigo, titulo, descripcion, categoria, usuario_id, area_id, prioridad_id, estado_id, creado_en, actualizado_en)
        SELECT v.id::uuid, v.codigo, v.titulo, '', v.categoria, v.usuario::uuid,
               (SELECT id FROM areas WHERE nombre = v.area), (SELECT id FROM prioridades WHERE nombre = v.prioridad),
               (SELECT id FROM estados WHERE code = v.estado), v.creado::timestamptz, v.actualizado::timestamptz
        FROM (VALUES
          ('00000000-0000-0000-0000-000000000001', 'TKT-2026-00001', 'Caída del servidor de facturación', 'Infraestructura',
           '00000000-0000-0000-0000-0000000000a1', 'TECNOLOGIA', 'CRITICA', 'EN_PROCESO', '2026-03-24T10:00:00Z', '2026-03-24T11:00:00Z'),
          ('00000000-0000-0000-0000-000000000002', 'TKT-2026-00002', 'Error de facturación en cobros', NULL,
           '00000000-0000-0000-0000-0000000000a2', 'FACTURACION', 'CRITICA', 'EN_PROCESO', '2026-03-24T12:00:00Z', '2026-03-24T14:00:00Z'),
          ('00000000-0000-0000-0000-000000000003', 'TKT-2026-00003', 'No puedo acceder al correo electrónico', 'Correo',
           '00000000-0000-0000-0000-0000000000a1', 'TECNOLOGIA', 'ALTA', 'ABIERTO', '2026-03-20T21:00:00Z', '2026-03-20T21:00:00Z'),
          ('00000000-0000-0000-0000-000000000004', 'TKT-2026-00004', 'Solicitud de instalación de impresora', 'Hardware',
           '00000000-0000-0000-0000-0000000000a2', 'MESA', 'MEDIA', 'RESUELTO', '2026-03-19T13:30:00Z', '2026-03-20T20:00:00Z'),
          ('00000000-0000-0000-0000-000000000005', 'TKT-2026-00005', 'Cambio de contraseña', 'Accesos',
           '00000000-0000-0000-0000-0000000000a1', 'MESA', 'BAJA', 'ABIERTO', '2026-03-24T09:00:00Z', '2026-03-24T09:00:00Z'),
          ('00000000-0000-0000-0000-000000000006', 'TKT-2026-00006', 'Pantalla azul al iniciar', NULL,
           NULL, NULL, 'ALTA', 'ABIERTO', '2026-03-24T13:00:00Z', '2026-03-24T13:00:00Z'),
          ('00000000-0000-0000-0000-000000000007', 'TKT-2026-00007', 'Pedido futuro', NULL,
           '00000000-0000-0000-0000-0000000000a1', 'COMPRAS', 'CRITICA', 'ABIERTO', '2026-03-24T16:00:00Z', '2026-03-24T16:00:00Z')
        ) AS v(id, codigo, titulo, categoria, usuario, area, prioridad, estado, creado, actualizado);
        INSERT INTO ticket_historial (ticket_id, estado_id, cambiado_en)
        SELECT v.t::uuid, (SELECT id FROM estados WHERE code = v.e), v.at::timestamptz FROM (VALUES
          ('00000000-0000-0000-0000-000000000001', 'ABIERTO', '2026-03-24T10:00:00Z'),
          ('00000000-0000-0000-0000-000000000001', 'EN_PROCESO', '2026-03-24T11:00:00Z'),
          ('00000000-0000-0000-0000-000000000002', 'ABIERTO', '2026-03-24T12:00:00Z'),
          ('00000000-0000-0000-0000-000000000002', 'EN_ESPERA', '2026-03-24T12:30:00Z'),
          ('00000000-0000-0000-0000-000000000002', 'EN_PROCESO', '2026-03-24T14:00:00Z'),
          ('00000000-0000-0000-0000-000000000003', 'ABIERTO', '2026-03-20T21:00:00Z'),
          ('00000000-0000-0000-0000-000000000004', 'ABIERTO', '2026-03-19T13:30:00Z'),
          ('00000000-0000-0000-0000-000000000004', 'EN_ESPERA', '2026-03-19T15:30:00Z'),
          ('00000000-0000-0000-0000-000000000004', 'EN_PROCESO', '2026-03-20T18:00:00Z'),
          ('00000000-0000-0000-0000-000000000004', 'RESUELTO', '2026-03-20T20:00:00Z'),
          ('00000000-0000-0000-0000-000000000005', 'ABIERTO', '2026-03-24T09:00:00Z')
        ) AS v(t, e, at);
        """

    /// (code, sla_horas, horas_restantes, vencido), in dashboard order (actualizado_en descending).
    static let expected: [(String, Double, Double, Bool)] = [
        // Created an hour after now: nothing counted yet.
        ("TKT-2026-00007", 4, 4, false),
        // 24x7: 12:00–12:30 open, 12:30–14:00 waiting (paused), 14:00–15:00 in process: 1.5 h.
        ("TKT-2026-00002", 4, 2.5, false),
        // No history rows; office hours 08:00–10:00 Bogotá: 2 h of 8.
        ("TKT-2026-00006", 8, 6, false),
        // 24x7 from 10:00 to 15:00: 5 h of 4, one hour over.
        ("TKT-2026-00001", 4, -1, true),
        // Friday 16:00–18:00 (2 h), weekend and Monday's holiday skipped, Tuesday 08:00–10:00 (2 h).
        ("TKT-2026-00003", 8, 4, false),
        // Thursday 08:30–10:30 (2 h), paused until Friday 13:00, 13:00–15:00 (2 h), then resolved.
        ("TKT-2026-00004", 24, 20, false),
        // TKT-2026-00005 is BAJA, which has no target: left out.
    ]

    static func load(into db: TestDatabase) throws {
        try db.loadReferenceSchema()
        try db.connect().execute(dataSQL)
    }
}

@Suite struct DashboardTests {
    @Test func dashboardJSONMatchesHandComputedValues() async throws {
        let db = try TestDatabase()
        try KnownHelpDesk.load(into: db)
        let rules = try TemporaryRules(["sla.json": KnownHelpDesk.rules])
        let result = await slawatch([
            "dashboard", "--format", "json", "--rules", rules.path, "--database", db.url, "--now", KnownHelpDesk.now,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        // Exactly the documented fields, no more.
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        for object in objects {
            #expect(
                Set(object.keys) == [
                    "ticket_uuid", "label", "categoria", "correo", "estado_code", "prioridad_nom",
                    "area_asignada", "actualizado_en", "sla_horas", "horas_restantes", "vencido",
                ])
        }
        let rows = try DashboardRow.decode(result.stdout)
        #expect(rows.map(\.label) == KnownHelpDesk.expected.map(\.0))
        for (row, want) in zip(rows, KnownHelpDesk.expected) {
            #expect(row.sla_horas == want.1, "\(want.0)")
            #expect(row.horas_restantes == want.2, "\(want.0)")
            #expect(row.vencido == want.3, "\(want.0)")
        }
        let first = try #require(rows.first { $0.label == "TKT-2026-00001" })
        #expect(
            first
                == DashboardRow(
                    ticket_uuid: "00000000-0000-0000-0000-000000000001", label: "TKT-2026-00001",
                    categoria: "Infraestructura",
                    correo: "ana@example.com", estado_code: "EN_PROCESO", prioridad_nom: "CRITICA",
                    area_asignada: "TECNOLOGIA",
                    actualizado_en: "2026-03-24T11:00:00Z", sla_horas: 4, horas_restantes: -1, vencido: true))
        let noArea = try #require(objects.first { $0["label"] as? String == "TKT-2026-00006" })
        #expect(noArea["area_asignada"] is NSNull)
        #expect(noArea["correo"] is NSNull)
    }

    @Test func rolesFilterByArea() async throws {
        let db = try TestDatabase()
        try KnownHelpDesk.load(into: db)
        let rules = try TemporaryRules(["sla.json": KnownHelpDesk.rules])
        let base = [
            "dashboard", "--format", "json", "--rules", rules.path, "--database", db.url, "--now", KnownHelpDesk.now,
        ]
        func labels(_ extra: [String]) async throws -> [String] {
            let result = await slawatch(base + extra)
            #expect(result.status == 0, "\(result.stderr)")
            return try DashboardRow.decode(result.stdout).map(\.label)
        }
        #expect(try await labels(["--role", "AREA", "--area", "TECNOLOGIA"]) == ["TKT-2026-00001", "TKT-2026-00003"])
        #expect(try await labels(["--role", "MESA"]).count == 6)
        #expect(try await labels(["--role", "ADMIN"]).count == 6)
        #expect(
            try await labels(["--filter", #"{"column": "vencido", "op": "EQ", "operand": true}"#]) == ["TKT-2026-00001"]
        )
        // Two titles mention facturación; the search ignores case.
        #expect(try await labels(["--search", "FACTURACIÓN"]) == ["TKT-2026-00002", "TKT-2026-00001"])
        #expect(try await labels(["--sort", "horas_restantes", "--top", "2"]) == ["TKT-2026-00001", "TKT-2026-00002"])
        #expect(
            try await labels(["--sort", "horas_restantes", "--desc", "--top", "1", "--offset", "1"]) == [
                "TKT-2026-00006"
            ])
    }

    /// An operand that could never match its column is a usage error naming the column and its type,
    /// by the view's own types (a further column included) and the computed columns' types.
    @Test func filterOperandsMustFitTheColumnTypes() async throws {
        let db = try TestDatabase()
        try KnownHelpDesk.load(into: db)
        try db.connect().execute(
            "CREATE OR REPLACE VIEW public.con_reaperturas AS SELECT t.*, 2::int AS reaperturas FROM slawatch_source.tickets t"
        )
        let rules = try TemporaryRules([
            "sla.json": KnownHelpDesk.rules, "source.json": #"{ source: { tickets: "public.con_reaperturas" } }"#,
        ])
        let base = [
            "dashboard", "--format", "json", "--rules", rules.path, "--database", db.url, "--now", KnownHelpDesk.now,
        ]
        func failure(_ filter: String) async -> CLIResult {
            let result = await slawatch(base + ["--filter", filter])
            #expect(result.status == 2, "\(result.stderr)")
            #expect(result.stdout.isEmpty)
            return result
        }
        #expect(
            await failure(#"{"column": "created_at", "op": "GT", "operand": "yesterday"}"#).stderr.hasPrefix(
                "slawatch: --filter: operand: column created_at is timestamptz: expected an ISO 8601 instant"))
        #expect(
            await failure(#"{"column": "horas_restantes", "op": "GT", "operand": "abc"}"#).stderr.contains(
                #"column horas_restantes is number: expected a number, such as 8 or -1.5, found "abc""#))
        #expect(
            await failure(#"{"op": "AND", "operand": [{"column": "reaperturas", "op": "IN", "operand": [1, "dos"]}]}"#)
                .stderr.contains(#"--filter: operand[0].operand[1]: column reaperturas is number"#))
        let fits = await slawatch(base + ["--filter", #"{"column": "reaperturas", "op": "GE", "operand": "2"}"#])
        #expect(fits.status == 0, "\(fits.stderr)")
        #expect(try DashboardRow.decode(fits.stdout).count == 6)
        try db.connect().execute("DROP VIEW public.con_reaperturas")
    }

    @Test func tableFormatIsForPeople() async throws {
        let db = try TestDatabase()
        try KnownHelpDesk.load(into: db)
        let rules = try TemporaryRules(["sla.json": KnownHelpDesk.rules])
        let result = await slawatch([
            "dashboard", "--rules", rules.path, "--database", db.url, "--now", KnownHelpDesk.now,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("TICKET"))
        #expect(result.stdout.contains("TKT-2026-00003"))
        #expect(result.stdout.contains("6 tickets"))
    }
}
