import Foundation
import SlawatchCore

/// The SQL that `migrate` installs so that the help-desk API can serve the dashboard from
/// `slawatch.fn_dashboard_tickets_full_filtrado(p_rol, p_area)`.
///
/// It computes the same figures as the engine, in SQL, from the source views and the compiled
/// rules (`slawatch.policies`, `slawatch.calendars`, `slawatch.calendar_intervals`): the first
/// policy whose filter matches, the working time of every running span of the status history as a
/// difference of running sums, all in integer microseconds, so that its values equal the CLI's.
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

    CREATE OR REPLACE FUNCTION slawatch.filter_compare(v jsonb, o jsonb, kind text)
    RETURNS int LANGUAGE plpgsql IMMUTABLE SET TimeZone = 'UTC' AS $$
    DECLARE a numeric; b numeric; ta timestamptz; tb timestamptz; sa text; ba boolean; bb boolean;
    BEGIN
      IF v IS NULL OR jsonb_typeof(v) = 'null' OR o IS NULL OR jsonb_typeof(o) IN ('null', 'array', 'object') THEN
        RETURN NULL;
      END IF;
      IF kind = 'number' THEN
        a := (v #>> '{}')::numeric;
        IF jsonb_typeof(o) = 'number' THEN b := (o #>> '{}')::numeric;
        ELSIF jsonb_typeof(o) = 'string' THEN
          BEGIN b := (o #>> '{}')::numeric; EXCEPTION WHEN others THEN RETURN NULL; END;
        ELSE RETURN NULL;
        END IF;
        RETURN sign(a - b)::int;
      ELSIF kind = 'timestamp' THEN
        IF jsonb_typeof(o) <> 'string' THEN RETURN NULL; END IF;
        ta := (v #>> '{}')::timestamptz;
        BEGIN tb := (o #>> '{}')::timestamptz; EXCEPTION WHEN others THEN RETURN NULL; END;
        RETURN CASE WHEN ta < tb THEN -1 WHEN ta = tb THEN 0 ELSE 1 END;
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
        RETURN CASE WHEN sa = (o #>> '{}') THEN 0 WHEN sa COLLATE "C" < (o #>> '{}') COLLATE "C" THEN -1 ELSE 1 END;
      ELSIF jsonb_typeof(o) = 'number' THEN
        BEGIN a := sa::numeric; EXCEPTION WHEN others THEN RETURN NULL; END;
        RETURN sign(a - (o #>> '{}')::numeric)::int;
      ELSIF jsonb_typeof(o) = 'boolean' AND lower(sa) IN ('true', 'false') THEN
        RETURN CASE WHEN lower(sa)::boolean = (o #>> '{}')::boolean THEN 0 ELSE 1 END;
      END IF;
      RETURN NULL;
    END $$;

    CREATE OR REPLACE FUNCTION slawatch.filter_matches(f jsonb, t jsonb, kinds jsonb)
    RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
    DECLARE op text := f ->> 'op'; item jsonb; v jsonb; o jsonb; c int; kind text;
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
        RETURN (v #>> '{}') LIKE (o #>> '{}');
      END IF;
      c := slawatch.filter_compare(v, o, kind);
      IF c IS NULL THEN RETURN false; END IF;
      RETURN CASE op WHEN 'GT' THEN c > 0 WHEN 'GE' THEN c >= 0 WHEN 'LT' THEN c < 0 ELSE c <= 0 END;
    END $$;
    """

    /// The function over the configured views; their names are validated identifiers, quoted.
    static func sql(views: SourceViews) -> String {
        let tickets = views.tickets.quoted, changes = views.statusChanges.quoted
        let regclass = views.tickets.quoted.replacingOccurrences(of: "'", with: "''")
        return """
        DROP FUNCTION IF EXISTS slawatch.fn_dashboard_tickets_full_filtrado(text, text);
        CREATE FUNCTION slawatch.fn_dashboard_tickets_full_filtrado(p_rol text, p_area text)
        RETURNS TABLE (ticket_uuid uuid, label text, categoria text, correo text, estado_code text,
                       prioridad_nom text, area_asignada text, actualizado_en timestamptz,
                       sla_horas double precision, horas_restantes double precision, vencido boolean)
        LANGUAGE plpgsql STABLE SET TimeZone = 'UTC' AS $fn$
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
          SELECT jsonb_object_agg(a.attname, CASE
                   WHEN a.atttypid IN (20, 21, 23, 700, 701, 1700) THEN 'number'
                   WHEN a.atttypid IN (1082, 1114, 1184) THEN 'timestamp'
                   WHEN a.atttypid = 16 THEN 'bool' ELSE 'text' END)
            INTO v_kinds
            FROM pg_attribute a WHERE a.attrelid = '\(regclass)'::regclass AND a.attnum > 0 AND NOT a.attisdropped;
          RETURN QUERY
          WITH src AS (
            SELECT s AS r, s.ticket_id::text AS id_text, s.status::text AS status_text, s.priority::text AS priority_text,
                   (extract(epoch FROM COALESCE(s.updated_at, s.created_at)) * 1000000)::bigint AS updated_us
            FROM \(tickets) s
            WHERE v_role <> 'AREA' OR s.area = p_area
          ), cal AS MATERIALIZED (
            -- Once per calendar, not once per row.
            SELECT c.name, slawatch.working_before(c.name, c.always, v_now) AS cum_now FROM slawatch.calendars c
          ), fast AS MATERIALIZED (
            -- A stored clock computed from this very version of the ticket: plain arithmetic.
            SELECT src.id_text, src.r, k.sla_horas AS target_h, k.target_us,
                   CASE WHEN k.running THEN k.base_us + cal.cum_now ELSE k.elapsed_us END AS elapsed_us
            FROM src JOIN slawatch.clocks k ON k.ticket_id = src.id_text
                 AND k.source_updated_us = src.updated_us AND k.source_status = src.status_text
                 AND k.source_priority = src.priority_text AND k.evaluated_us <= v_now
            JOIN cal ON cal.name = k.calendar
          ), slow_src AS MATERIALIZED (
            SELECT (src.r).ticket_id, (src.r).code, (src.r).category, (src.r).requester_email, (src.r).status, (src.r).priority,
                   (src.r).area, (src.r).updated_at, src.r,
                   (extract(epoch FROM (src.r).created_at) * 1000000)::bigint AS created_us, src.updated_us,
                   to_jsonb(src.r) AS j
            FROM src WHERE NOT EXISTS (SELECT 1 FROM fast f WHERE f.id_text = src.id_text)
          ), chosen AS (
            SELECT slow_src.*, p.calendar, c.always, p.pause_statuses || p.stop_statuses AS halted,
                   (p.targets ->> slow_src.priority)::float8 AS target_h,
                   round((p.targets ->> slow_src.priority)::float8 * 3600000000.0)::bigint AS target_us
            FROM slow_src
            CROSS JOIN LATERAL (
              SELECT p.* FROM slawatch.policies p
              WHERE p.when_filter IS NULL OR slawatch.filter_matches(p.when_filter, slow_src.j, v_kinds)
              ORDER BY p.position LIMIT 1) p
            JOIN slawatch.calendars c ON c.name = p.calendar
            WHERE p.targets ? slow_src.priority
          ), history AS (
            SELECT h.ticket_id, h.status::text AS status, (extract(epoch FROM h.changed_at) * 1000000)::bigint AS at_us
            FROM \(changes) h
            WHERE h.ticket_id IN (SELECT ch.ticket_id FROM chosen ch) AND h.status IS NOT NULL AND h.changed_at IS NOT NULL
          ), last_change AS (
            SELECT DISTINCT ON (h.ticket_id) h.ticket_id, h.status, h.at_us
            FROM history h ORDER BY h.ticket_id, h.at_us DESC, h.status COLLATE "C" DESC
          ), changes AS (
            SELECT h.ticket_id, h.status, h.at_us FROM history h
            UNION ALL
            SELECT ch.ticket_id, ch.status, GREATEST(lc.at_us, ch.updated_us)
            FROM chosen ch LEFT JOIN last_change lc ON lc.ticket_id = ch.ticket_id
            WHERE lc.ticket_id IS NULL OR lc.status IS DISTINCT FROM ch.status
            UNION ALL
            SELECT ch.ticket_id, NULL::text, (-9223372036854775807)::bigint FROM chosen ch
          ), spans AS (
            SELECT c.ticket_id, c.status, c.at_us AS start_us,
                   lead(c.at_us) OVER (PARTITION BY c.ticket_id ORDER BY c.at_us, c.status COLLATE "C" NULLS FIRST) AS end_us
            FROM changes c
          ), clipped AS (
            SELECT ch.ticket_id, ch.calendar, ch.always,
                   GREATEST(sp.start_us, ch.created_us) AS a, LEAST(COALESCE(sp.end_us, v_now), v_now) AS b
            FROM chosen ch JOIN spans sp ON sp.ticket_id = ch.ticket_id
            WHERE sp.status IS NULL OR NOT (sp.status = ANY (ch.halted))
          ), elapsed AS (
            SELECT cl.ticket_id,
                   sum(slawatch.working_before(cl.calendar, cl.always, cl.b)
                       - slawatch.working_before(cl.calendar, cl.always, cl.a))::bigint AS elapsed_us
            FROM clipped cl WHERE cl.a < cl.b GROUP BY cl.ticket_id
          ), rows AS (
            SELECT f.r, f.target_h, f.target_us, f.elapsed_us FROM fast f
            UNION ALL
            SELECT ch.r, ch.target_h, ch.target_us, COALESCE(e.elapsed_us, 0)
            FROM chosen ch LEFT JOIN elapsed e ON e.ticket_id = ch.ticket_id
          )
          SELECT (x.r).ticket_id::uuid, (x.r).code::text, (x.r).category::text, (x.r).requester_email::text, (x.r).status::text,
                 (x.r).priority::text, (x.r).area::text, (x.r).updated_at::timestamptz, x.target_h,
                 (x.target_us - x.elapsed_us)::float8 / 3600000000.0::float8,
                 x.elapsed_us > x.target_us
          FROM rows x
          ORDER BY (x.r).updated_at DESC, (x.r).code COLLATE "C";
        END $fn$;
        """
    }
}
