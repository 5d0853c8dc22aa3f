import Foundation
import SlawatchCore

/// The SQL that `migrate` installs so that the help-desk API can serve the dashboard from
/// `slawatch.fn_dashboard_tickets_full_filtrado(p_rol, p_area)`.
///
/// It computes the same figures as the engine, in SQL, from the source views and the compiled
/// rules (`slawatch.policies`, `slawatch.calendars`, `slawatch.calendar_intervals`): the first
/// policy whose filter matches, the working time of every running span of the status history as a
/// difference of running sums, all in integer microseconds, so that its values equal the CLI's.
/// A ticket whose clock the worker stored (`slawatch.clocks`) from the ticket's current
/// `updated_at`, status and priority costs plain arithmetic; only the others are computed so.
enum DashboardFunction {
    static let helpersSQL = """
        CREATE OR REPLACE FUNCTION slawatch.working_before(p_calendar text, p_always boolean, p_at bigint)
        RETURNS bigint LANGUAGE sql STABLE AS $$
          SELECT CASE WHEN p_always THEN p_at ELSE COALESCE((
            SELECT i.working_before_us + LEAST(p_at, i.ends_us) - i.starts_us
            FROM slawatch.calendar_intervals i
            WHERE i.calendar = p_calendar AND i.starts_us <= p_at
            ORDER BY i.starts_us DESC LIMIT 1), 0) END
        $$;

        -- The earliest instant t >= p_from with p_amount of working time in [p_from, t), as
        -- WorkingTimeline.instant(after:adding:) finds it: the first interval whose end brings the
        -- running sum to the sum at p_from plus p_amount. NULL when the compiled intervals end before
        -- (the caller knows whether they do: see ClockedTicketQuery).
        CREATE OR REPLACE FUNCTION slawatch.instant_after(p_calendar text, p_always boolean, p_from bigint, p_amount bigint)
        RETURNS bigint LANGUAGE sql STABLE AS $$
          SELECT CASE WHEN p_amount = 0 THEN p_from WHEN p_always THEN p_from + p_amount ELSE (
            SELECT i.starts_us + (t.sum_us - i.working_before_us)
            FROM (SELECT slawatch.working_before(p_calendar, false, p_from) + p_amount AS sum_us) t
            CROSS JOIN LATERAL (
              -- Intervals before the one holding p_from end below the sum: the search starts there.
              SELECT i.starts_us, i.working_before_us FROM slawatch.calendar_intervals i
              WHERE i.calendar = p_calendar
                AND i.starts_us >= COALESCE((SELECT max(j.starts_us) FROM slawatch.calendar_intervals j
                                             WHERE j.calendar = p_calendar AND j.starts_us <= p_from), -9223372036854775807)
                AND i.working_before_us + (i.ends_us - i.starts_us) >= t.sum_us
              ORDER BY i.starts_us LIMIT 1) i) END
        $$;

        -- Text read as a number the way the engine reads it: decimal digits with an optional sign,
        -- point and exponent, nothing around them, within a double's range.
        CREATE OR REPLACE FUNCTION slawatch.filter_number(s text)
        RETURNS float8 LANGUAGE plpgsql IMMUTABLE AS $$
        BEGIN
          IF s !~ '^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?$' THEN RETURN NULL; END IF;
          RETURN s::float8;
        EXCEPTION WHEN others THEN RETURN NULL;
        END $$;

        -- Text read as an instant the way the engine reads ISO 8601: a date (midnight UTC), or a date
        -- and a time with a zone (Z, +HH, +HHMM, +HH:MM); digits of a fraction past the sixth are
        -- dropped. The shape is matched, then read by position (captures make a regex ~50 times slower).
        CREATE OR REPLACE FUNCTION slawatch.filter_instant(s text)
        RETURNS timestamptz LANGUAGE plpgsql IMMUTABLE AS $$
        DECLARE rest text; fraction text; us bigint := 0;
        BEGIN
          IF s !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2})?([.][0-9]+)?([Zz]|[+-][0-9]{2}(:?[0-9]{2})?))?$' THEN
            RETURN NULL;
          END IF;
          IF length(s) > 10 THEN
            IF substr(s, 12, 2)::int > 23 OR substr(s, 15, 2)::int > 59 THEN RETURN NULL; END IF;
            us := (substr(s, 12, 2)::bigint * 60 + substr(s, 15, 2)::bigint) * 60000000;
            rest := substr(s, 17);
            IF left(rest, 1) = ':' THEN
              IF substr(rest, 2, 2)::int > 60 THEN RETURN NULL; END IF;
              us := us + substr(rest, 2, 2)::bigint * 1000000;
              rest := substr(rest, 4);
            END IF;
            IF left(rest, 1) = '.' THEN
              fraction := substring(rest FROM '^[.]([0-9]+)');
              us := us + rpad(left(fraction, 6), 6, '0')::bigint;
              rest := substr(rest, length(fraction) + 2);
            END IF;
            IF left(rest, 1) IN ('+', '-') THEN
              us := us - (CASE left(rest, 1) WHEN '+' THEN 1 ELSE -1 END) * 60000000
                         * (substr(rest, 2, 2)::bigint * 60 + CASE WHEN length(rest) > 3 THEN right(rest, 2)::bigint ELSE 0 END);
            END IF;
          END IF;
          -- PostgreSQL has no year 0: ISO 8601's year 0000 is its 1 BC.
          RETURN (make_date(CASE left(s, 4)::int WHEN 0 THEN -1 ELSE left(s, 4)::int END, substr(s, 6, 2)::int,
                            substr(s, 9, 2)::int)::timestamp AT TIME ZONE 'UTC') + us * interval '1 microsecond';
        EXCEPTION WHEN others THEN RETURN NULL;
        END $$;

        CREATE OR REPLACE FUNCTION slawatch.filter_compare(v jsonb, o jsonb, kind text)
        RETURNS int LANGUAGE plpgsql IMMUTABLE SET TimeZone = 'UTC' AS $$
        DECLARE a float8; b float8; ta timestamptz; tb timestamptz; sa text; ba boolean; bb boolean;
        BEGIN
          IF v IS NULL OR jsonb_typeof(v) = 'null' OR o IS NULL OR jsonb_typeof(o) IN ('null', 'array', 'object') THEN
            RETURN NULL;
          END IF;
          IF kind IN ('number', 'real') THEN
            -- As doubles, as the engine reads them; a real's value is the float it holds.
            a := CASE kind WHEN 'real' THEN (v #>> '{}')::float4::float8 ELSE (v #>> '{}')::float8 END;
            IF jsonb_typeof(o) = 'number' THEN b := (o #>> '{}')::float8;
            ELSIF jsonb_typeof(o) = 'string' THEN b := slawatch.filter_number(o #>> '{}');
            END IF;
            RETURN CASE WHEN b IS NULL THEN NULL WHEN a < b THEN -1 WHEN a = b THEN 0 ELSE 1 END;
          ELSIF kind = 'timestamp' THEN
            IF jsonb_typeof(o) <> 'string' THEN RETURN NULL; END IF;
            ta := (v #>> '{}')::timestamptz;
            tb := slawatch.filter_instant(o #>> '{}');
            RETURN CASE WHEN tb IS NULL THEN NULL WHEN ta < tb THEN -1 WHEN ta = tb THEN 0 ELSE 1 END;
          ELSIF kind = 'bool' THEN
            ba := (v #>> '{}')::boolean;
            IF jsonb_typeof(o) = 'boolean' THEN bb := (o #>> '{}')::boolean;
            ELSIF jsonb_typeof(o) = 'string' AND lower(o #>> '{}') IN ('true', 'false') THEN bb := lower(o #>> '{}')::boolean;
            ELSE RETURN NULL;
            END IF;
            RETURN CASE WHEN ba = bb THEN 0 WHEN ba THEN 1 ELSE -1 END;
          END IF;
          sa := v #>> '{}';
          IF jsonb_typeof(o) = 'string' THEN
            -- Equal when canonically equivalent (an accent written either way), as in the engine;
            -- ASCII text is its own composition. Otherwise ordered by code point.
            RETURN CASE WHEN sa = (o #>> '{}') THEN 0
                        WHEN (octet_length(sa) <> char_length(sa) OR octet_length(o #>> '{}') <> char_length(o #>> '{}'))
                             AND normalize(sa, NFC) = normalize(o #>> '{}', NFC) THEN 0
                        WHEN sa COLLATE "C" < (o #>> '{}') COLLATE "C" THEN -1 ELSE 1 END;
          ELSIF jsonb_typeof(o) = 'number' THEN
            a := slawatch.filter_number(sa);
            b := (o #>> '{}')::float8;
            RETURN CASE WHEN a IS NULL THEN NULL WHEN a < b THEN -1 WHEN a = b THEN 0 ELSE 1 END;
          ELSIF jsonb_typeof(o) = 'boolean' AND lower(sa) IN ('true', 'false') THEN
            RETURN CASE WHEN lower(sa)::boolean = (o #>> '{}')::boolean THEN 0 ELSE 1 END;
          END IF;
          RETURN NULL;
        END $$;

        CREATE OR REPLACE FUNCTION slawatch.filter_matches(f jsonb, t jsonb, kinds jsonb)
        RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
        DECLARE op text := f ->> 'op'; item jsonb; v jsonb; o jsonb; c int; kind text; sa text; pattern text;
        BEGIN
          IF NOT (f ? 'column') THEN
            FOR item IN SELECT jsonb_array_elements(f -> 'operand') LOOP
              IF slawatch.filter_matches(item, t, kinds) <> (op = 'AND') THEN RETURN op <> 'AND'; END IF;
            END LOOP;
            RETURN op = 'AND';
          END IF;
          v := t -> (f ->> 'column');
          IF v IS NOT NULL AND jsonb_typeof(v) = 'null' THEN v := NULL; END IF;
          o := f -> 'operand';
          kind := COALESCE(kinds ->> (f ->> 'column'), 'text');
          IF op = 'IN' THEN
            FOR item IN SELECT jsonb_array_elements(o) LOOP
              IF v IS NULL THEN
                IF jsonb_typeof(item) = 'null' THEN RETURN true; END IF;
              ELSIF slawatch.filter_compare(v, item, kind) = 0 THEN RETURN true;
              END IF;
            END LOOP;
            RETURN false;
          ELSIF op = 'EQ' THEN
            IF v IS NULL THEN RETURN jsonb_typeof(o) = 'null'; END IF;
            RETURN COALESCE(slawatch.filter_compare(v, o, kind) = 0, false);
          ELSIF op = 'NE' THEN
            IF v IS NULL THEN RETURN false; END IF;
            IF jsonb_typeof(o) = 'null' THEN RETURN true; END IF;
            RETURN COALESCE(slawatch.filter_compare(v, o, kind) <> 0, false);
          ELSIF op = 'LIKE' THEN
            IF v IS NULL OR kind <> 'text' OR jsonb_typeof(o) <> 'string' THEN RETURN false; END IF;
            -- Text and pattern composed (NFC), as the engine matches them. A pattern's last backslash
            -- escapes nothing and is dropped, as the engine does; PostgreSQL would reject the pattern.
            sa := normalize(v #>> '{}', NFC);
            pattern := normalize(o #>> '{}', NFC);
            IF (length(pattern) - length(rtrim(pattern, chr(92)))) % 2 = 1 THEN pattern := left(pattern, -1); END IF;
            RETURN sa LIKE pattern;
          END IF;
          c := slawatch.filter_compare(v, o, kind);
          IF c IS NULL THEN RETURN false; END IF;
          RETURN CASE op WHEN 'GT' THEN c > 0 WHEN 'GE' THEN c >= 0 WHEN 'LT' THEN c < 0 ELSE c <= 0 END;
        END $$;

        -- A ticket row as the engine reads it for filters: no title or priority is an empty one, no
        -- updated_at is created_at.
        CREATE OR REPLACE FUNCTION slawatch.filter_subject(t jsonb)
        RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
          SELECT CASE WHEN jsonb_typeof(t -> 'title') = 'null' OR jsonb_typeof(t -> 'priority') = 'null'
                        OR jsonb_typeof(t -> 'updated_at') = 'null'
                 THEN t || jsonb_build_object('title', COALESCE(t ->> 'title', ''), 'priority', COALESCE(t ->> 'priority', ''),
                                              'updated_at', COALESCE(NULLIF(t -> 'updated_at', 'null'::jsonb), t -> 'created_at'))
                 ELSE t END
        $$;

        -- How filters compare each column of a view: by its type, a domain's by its base type's (three
        -- domains deep, plenty), as the engine reads them.
        CREATE OR REPLACE FUNCTION slawatch.filter_kinds(r regclass)
        RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
        DECLARE kinds jsonb;
        BEGIN
          -- PL/pgSQL keeps the plan: a SQL function would plan this again at every call.
          SELECT jsonb_object_agg(a.attname, CASE
                   WHEN b.oid IN (20, 21, 23, 701, 1700) THEN 'number' WHEN b.oid = 700 THEN 'real'
                   WHEN b.oid IN (1082, 1114, 1184) THEN 'timestamp'
                   WHEN b.oid = 16 THEN 'bool' ELSE 'text' END)
            INTO kinds
          FROM pg_attribute a
          JOIN pg_type t1 ON t1.oid = a.atttypid
          LEFT JOIN pg_type t2 ON t1.typtype = 'd' AND t2.oid = t1.typbasetype
          LEFT JOIN pg_type t3 ON t2.typtype = 'd' AND t3.oid = t2.typbasetype
          CROSS JOIN LATERAL (SELECT CASE WHEN t1.typtype <> 'd' THEN t1.oid WHEN t2.typtype <> 'd' THEN t2.oid
                                          WHEN t3.typtype <> 'd' THEN t3.oid ELSE t3.typbasetype END AS oid) b
          WHERE a.attrelid = r AND a.attnum > 0 AND NOT a.attisdropped;
          RETURN kinds;
        END $$;
        """

    /// The function over the configured views; their names are validated identifiers, quoted.
    static func sql(views: SourceViews) -> String {
        let tickets = views.tickets.quoted
        let changes = views.statusChanges.quoted
        let regclass = views.tickets.quoted.replacingOccurrences(of: "'", with: "''")
        // The variant at an instant serves the HTTP API (as of the request, or of `serve --now`), for every
        // scope a token may have: an area, a requester, or every ticket.
        let atScope =
            "(p_area IS NULL OR s.area::text = p_area) "
            + "AND (p_requester IS NULL OR s.requester_email::text = p_requester)"
        // The planner charges the per-ticket subquery below to every row, so at a million tickets
        // its estimate passes jit_optimize_above_cost and compiling would take about a second,
        // more than the whole query gains from it: `jit = off`.
        return """
            DROP FUNCTION IF EXISTS slawatch.fn_dashboard_tickets_full_filtrado(text, text);
            CREATE FUNCTION slawatch.fn_dashboard_tickets_full_filtrado(p_rol text, p_area text)
            RETURNS TABLE (ticket_uuid uuid, label text, categoria text, correo text, estado_code text,
                           prioridad_nom text, area_asignada text, actualizado_en timestamptz,
                           sla_horas double precision, horas_restantes double precision, vencido boolean)
            LANGUAGE plpgsql STABLE SET TimeZone = 'UTC' SET jit = off AS $fn$
            DECLARE
              v_now bigint := (extract(epoch FROM now()) * 1000000)::bigint;
              v_role text := upper(p_rol);
              v_kinds jsonb;
            BEGIN
              IF v_role IS NULL OR v_role NOT IN ('ADMIN', 'MESA', 'AREA') THEN
                RAISE EXCEPTION 'unknown role %: expected ADMIN, MESA or AREA', p_rol USING ERRCODE = '22023';
              END IF;
              IF v_role = 'AREA' AND p_area IS NULL THEN
                RAISE EXCEPTION 'role AREA needs p_area, the name of the area' USING ERRCODE = '22023';
              END IF;
              v_kinds := slawatch.filter_kinds('\(regclass)'::regclass);
              RETURN QUERY
            \(rows(tickets: tickets, changes: changes, idType: "uuid", scope: "v_role <> 'AREA' OR s.area = p_area"))
            END $fn$;
            DROP FUNCTION IF EXISTS slawatch.dashboard_rows_at(bigint, text, text);
            CREATE FUNCTION slawatch.dashboard_rows_at(p_now_us bigint, p_area text, p_requester text)
            RETURNS TABLE (ticket_uuid text, label text, categoria text, correo text, estado_code text,
                           prioridad_nom text, area_asignada text, actualizado_en timestamptz,
                           sla_horas double precision, horas_restantes double precision, vencido boolean)
            LANGUAGE plpgsql STABLE SET TimeZone = 'UTC' SET jit = off AS $fn$
            DECLARE
              v_now bigint := p_now_us;
              v_kinds jsonb;
            BEGIN
              v_kinds := slawatch.filter_kinds('\(regclass)'::regclass);
              RETURN QUERY
            \(rows(tickets: tickets, changes: changes, idType: "text", scope: atScope))
            END $fn$;
            """
    }

    /// The rows of both functions, in the dashboard's order: `idType` the type the ticket's id is
    /// shown as, `scope` the condition on the tickets view `s` (over the functions' parameters).
    private static func rows(tickets: String, changes: String, idType: String, scope: String) -> String {
        """
          WITH cal AS MATERIALIZED (
            -- Once per calendar, not once per row.
            SELECT c.name, slawatch.working_before(c.name, c.always, v_now) AS cum_now FROM slawatch.calendars c
          )
          SELECT x.ticket_id::\(idType), x.code::text, x.category::text, x.requester_email::text, x.status::text,
                 x.priority::text, x.area::text, x.updated_at::timestamptz,
                 CASE WHEN x.fresh THEN x.target_h ELSE x.slow[1] END,
                 CASE WHEN x.fresh THEN (x.target_us - x.elapsed_us)::float8 / 3600000000.0::float8 ELSE x.slow[2] END,
                 CASE WHEN x.fresh THEN x.elapsed_us > x.target_us ELSE x.slow[3] = 1 END
          FROM (
            -- Without updated_at a ticket shows created_at, as in the engine.
            SELECT s.ticket_id, s.code, s.category, s.requester_email, s.status, s.priority, s.area,
                   COALESCE(s.updated_at, s.created_at) AS updated_at,
                   k.ticket_id IS NOT NULL AS fresh, k.target_h, k.target_us, k.elapsed_us,
                   -- A ticket without a stored clock computed from this very version of it is
                   -- computed in full, here, one ticket at a time: a CASE evaluates its subquery
                   -- only for such a ticket, so when every clock is fresh this costs nothing. It
                   -- reads the ticket's history by ticket_id (the index the README asks for).
                   -- A scalar subquery returns one value: three float8s, exact (vencido as 1 or 0).
                   CASE WHEN k.ticket_id IS NULL THEN (
                     SELECT ARRAY[pc.target_h, (pc.target_us - e.elapsed_us)::float8 / 3600000000.0::float8,
                                  CASE WHEN e.elapsed_us > pc.target_us THEN 1 ELSE 0 END]
                     FROM (
                       SELECT p.calendar, c.always, p.pause_statuses || p.stop_statuses AS halted,
                              (p.targets ->> s.priority)::float8 AS target_h,
                              -- Rounded half away from zero, as the engine does (round() is half to even).
                              (trunc(t.us) + (t.us - trunc(t.us) >= 0.5)::int)::bigint AS target_us
                       FROM (SELECT p.* FROM slawatch.policies p
                             WHERE p.when_filter IS NULL OR slawatch.filter_matches(p.when_filter, slawatch.filter_subject(to_jsonb(s)), v_kinds)
                             ORDER BY p.position LIMIT 1) p
                       JOIN slawatch.calendars c ON c.name = p.calendar
                       CROSS JOIN LATERAL (SELECT (p.targets ->> s.priority)::float8 * 3600000000.0 AS us) t
                       WHERE p.targets ? s.priority
                     ) pc
                     CROSS JOIN LATERAL (
                       WITH history AS (
                         SELECT h.status::text AS status, (extract(epoch FROM h.changed_at) * 1000000)::bigint AS at_us
                         FROM \(changes) h
                         WHERE h.ticket_id = s.ticket_id AND h.status IS NOT NULL AND h.changed_at IS NOT NULL
                       ), changes AS (
                         -- The current status, where the last row disagrees with it, comes after
                         -- every row of its instant, as in the engine (`late`).
                         SELECT h.status, h.at_us, 0 AS late FROM history h
                         UNION ALL
                         SELECT s.status, GREATEST(lc.at_us, (extract(epoch FROM COALESCE(s.updated_at, s.created_at)) * 1000000)::bigint), 1
                         FROM (SELECT) AS one
                         LEFT JOIN (SELECT h.status, h.at_us FROM history h
                                    ORDER BY h.at_us DESC, h.status COLLATE "C" DESC LIMIT 1) lc ON true
                         WHERE lc.at_us IS NULL OR lc.status IS DISTINCT FROM s.status
                         UNION ALL
                         SELECT NULL::text, (-9223372036854775807)::bigint, 0
                       ), spans AS (
                         SELECT c.status, c.at_us AS start_us,
                                lead(c.at_us) OVER (ORDER BY c.at_us, c.late, c.status COLLATE "C" NULLS FIRST) AS end_us
                         FROM changes c
                       ), clipped AS (
                         SELECT GREATEST(sp.start_us, (extract(epoch FROM s.created_at) * 1000000)::bigint) AS a,
                                LEAST(COALESCE(sp.end_us, v_now), v_now) AS b
                         FROM spans sp
                         WHERE sp.status IS NULL OR NOT (sp.status = ANY (pc.halted))
                       )
                       SELECT COALESCE(sum(slawatch.working_before(pc.calendar, pc.always, cl.b)
                                           - slawatch.working_before(pc.calendar, pc.always, cl.a))::bigint, 0) AS elapsed_us
                       FROM clipped cl WHERE cl.a < cl.b
                     ) e) END AS slow
            FROM \(tickets) s
            LEFT JOIN (
              -- Only the columns the rows need, so that the hash of a million clocks stays small.
              SELECT k.ticket_id, k.source_updated_us, k.source_status, k.source_priority,
                     k.sla_horas AS target_h, k.target_us,
                     CASE WHEN k.running THEN k.base_us + cal.cum_now ELSE k.elapsed_us END AS elapsed_us
              FROM slawatch.clocks k JOIN cal ON cal.name = k.calendar
              WHERE k.evaluated_us <= v_now AND k.source_updated_us BETWEEN -9007199254740992 AND 9007199254740992
            ) k ON k.ticket_id = s.ticket_id::text
               -- One hash key; the rest is compared on the matching pair only (IS TRUE keeps the
               -- planner from hashing it too). The stored instant is turned into a timestamptz,
               -- exactly within ±2^53 µs (guarded above): extract(epoch) would be numeric
               -- arithmetic on every row, dearer than the rest of the row.
               AND (COALESCE(s.updated_at, s.created_at) = timestamptz '1970-01-01 00:00:00+00' + k.source_updated_us * interval '1 microsecond'
                    AND k.source_status = s.status::text AND k.source_priority = s.priority::text) IS TRUE
            WHERE \(scope)
            -- Keeps `slow` one column evaluated once per row instead of a copy of the subquery
            -- in each of the four places that read it.
            OFFSET 0
          ) x
          WHERE x.fresh OR x.slow IS NOT NULL
          ORDER BY x.updated_at DESC, x.code COLLATE "C";
        """
    }
}
