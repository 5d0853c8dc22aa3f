-- The peers of scripts/bench: the SQL a help desk writes today to compute its SLA clocks, in a
-- schema `bench` of its own. Run by scripts/bench through psql with
--   -v rules=<the JSON of scripts/bench.d/rules/sla.json>
-- after replacing {{TZ}} with the time zone of the rules' calendar (a validated IANA name).
-- Idempotent: it drops and recreates the schema `bench`.
--
-- Every clock below follows the README's SLA semantics for the data the reference generator makes (a ticket's
-- first history row is at its creation, its last row is its current status): the working time
-- from creado_en to now, minus the working time spent in the pause and stop statuses of the
-- status history (a status holds from its row until the next row, ordered by instant then name).
--
--   (a) bench.clock_a / bench.fn_dashboard_24x7:   24x7, `sla_horas - hours since creation`
--   (b) bench.clock_b / bench.fn_dashboard_b:       business hours, the common way: a function
--       that enumerates the days between two instants with generate_series and sums each working
--       day's overlap, called per ticket, minus the same for every pause/stop span of its history
--   (d) bench.clock_d / bench.fn_dashboard_d:       business hours, the expert way: one set-based
--       statement over a per-day calendar table with running sums, joined to tickets and their
--       status intervals
-- clock_x(p_now, p_only_open) returns the dashboard's columns; fn_dashboard_x(p_rol, p_area, p_now)
-- is the same as a plpgsql function ordered like the dashboard, shaped like
-- slawatch.fn_dashboard_tickets_full_filtrado (which also materializes through RETURN QUERY).

SET client_min_messages = warning;
DROP SCHEMA IF EXISTS bench CASCADE;
CREATE SCHEMA bench;

-- The rules, read from the same JSON slawatch reads (scripts/bench.d/rules).
CREATE TABLE bench.rules AS SELECT :'rules'::jsonb AS doc;

-- Hours per priority, from the first (only) policy.
CREATE TABLE bench.sla_targets (prioridad text PRIMARY KEY, horas float8 NOT NULL);
INSERT INTO bench.sla_targets
SELECT t.key, t.value::float8 FROM bench.rules r, jsonb_each_text(r.doc -> 'policies' -> 0 -> 'targets') t;

-- Statuses that do not count: the policy's pause statuses and stop statuses.
CREATE TABLE bench.estados_detenidos (code text PRIMARY KEY);
INSERT INTO bench.estados_detenidos
SELECT DISTINCT s FROM bench.rules r,
  jsonb_array_elements_text((r.doc -> 'policies' -> 0 -> 'pause_statuses') || (r.doc -> 'policies' -> 0 -> 'stop_statuses')) s;

-- The calendar: weekly hours (local wall clock) and holidays.
CREATE TABLE bench.horario (isodow int NOT NULL, inicio time NOT NULL, fin time NOT NULL);
INSERT INTO bench.horario
SELECT d.isodow, split_part(rg, '-', 1)::time, split_part(rg, '-', 2)::time
FROM bench.rules r,
     (VALUES ('mon', 1), ('tue', 2), ('wed', 3), ('thu', 4), ('fri', 5), ('sat', 6), ('sun', 7)) d (name, isodow),
     jsonb_array_elements_text(r.doc -> 'calendars' -> (r.doc -> 'policies' -> 0 ->> 'calendar') -> 'week' -> d.name) rg;

CREATE TABLE bench.festivos (dia date PRIMARY KEY);
INSERT INTO bench.festivos
SELECT DISTINCT h::date FROM bench.rules r,
  jsonb_array_elements_text(r.doc -> 'calendars' -> (r.doc -> 'policies' -> 0 ->> 'calendar') -> 'holidays') h;

-- (d)'s per-day calendar table: one row per day from 2024 to 2028 holding that day's working
-- window (empty on weekends and holidays: starts = ends = local midnight) and the working time of
-- all earlier windows, so that the working time before any instant t of day D is
--   antes + (least(greatest(t, inicio), fin) - inicio)
-- with D found by an equality join on the local date. (The benchmark's calendar has one window per
-- working day; a calendar with a lunch break would need one row per window, which this check
-- refuses rather than computing wrong figures.)
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM bench.horario GROUP BY isodow HAVING count(*) > 1) THEN
    RAISE EXCEPTION 'bench: peer (d) supports one working range per weekday';
  END IF;
END $$;

CREATE TABLE bench.calendario (
  dia    date PRIMARY KEY,
  inicio timestamptz NOT NULL,
  fin    timestamptz NOT NULL,
  antes  interval NOT NULL
);
INSERT INTO bench.calendario
SELECT x.dia, x.inicio, x.fin,
       COALESCE(sum(x.fin - x.inicio) OVER (ORDER BY x.dia ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), interval '0')
FROM (
  SELECT g.dia::date AS dia,
         COALESCE((g.dia::date + h.inicio) AT TIME ZONE '{{TZ}}', g.dia::date::timestamp AT TIME ZONE '{{TZ}}') AS inicio,
         COALESCE((g.dia::date + h.fin) AT TIME ZONE '{{TZ}}', g.dia::date::timestamp AT TIME ZONE '{{TZ}}') AS fin
  FROM generate_series(date '2024-01-01', date '2028-12-31', interval '1 day') g (dia)
  LEFT JOIN bench.horario h
    ON h.isodow = extract(isodow FROM g.dia)::int AND g.dia::date NOT IN (SELECT f.dia FROM bench.festivos f)
) x;

-- ---------------------------------------------------------------------------------------------
-- (a) 24x7 in plain SQL, as the seed's dashboard function would be written today.
CREATE FUNCTION bench.clock_a(p_now timestamptz, p_only_open boolean)
RETURNS TABLE (ticket_uuid uuid, label text, categoria text, correo text, estado_code text,
               prioridad_nom text, area_asignada text, actualizado_en timestamptz,
               sla_horas float8, horas_restantes float8, vencido boolean)
LANGUAGE sql STABLE AS $$
  SELECT t.ticket_id, t.code, t.category, t.requester_email, t.status, t.priority, t.area, t.updated_at,
         s.horas,
         s.horas - extract(epoch FROM p_now - t.created_at)::float8 / 3600,
         s.horas - extract(epoch FROM p_now - t.created_at)::float8 / 3600 < 0
  FROM slawatch_source.tickets t
  JOIN bench.sla_targets s ON s.prioridad = t.priority
  WHERE NOT p_only_open OR t.status IN ('ABIERTO', 'EN_PROCESO', 'EN_ESPERA')
$$;

-- ---------------------------------------------------------------------------------------------
-- (b) business hours, the common way.
-- Working hours between two instants: every day between them, each working day's overlap.
CREATE FUNCTION bench.horas_habiles(p_desde timestamptz, p_hasta timestamptz)
RETURNS float8 LANGUAGE sql STABLE AS $$
  SELECT COALESCE(sum(extract(epoch FROM LEAST(p_hasta, w.fin) - GREATEST(p_desde, w.inicio)))
                    FILTER (WHERE LEAST(p_hasta, w.fin) > GREATEST(p_desde, w.inicio)), 0)::float8 / 3600
  FROM generate_series((p_desde AT TIME ZONE '{{TZ}}')::date, (p_hasta AT TIME ZONE '{{TZ}}')::date, interval '1 day') g (dia)
  CROSS JOIN LATERAL (
    SELECT (g.dia::date + h.inicio) AT TIME ZONE '{{TZ}}' AS inicio, (g.dia::date + h.fin) AT TIME ZONE '{{TZ}}' AS fin
    FROM bench.horario h
    WHERE h.isodow = extract(isodow FROM g.dia)::int
  ) w
  WHERE p_desde < p_hasta AND g.dia::date NOT IN (SELECT f.dia FROM bench.festivos f)
$$;

-- A ticket's working hours from its creation to p_hasta, minus those spent in pause/stop statuses.
CREATE FUNCTION bench.horas_consumidas(p_ticket uuid, p_creado timestamptz, p_hasta timestamptz)
RETURNS float8 LANGUAGE sql STABLE AS $$
  SELECT bench.horas_habiles(p_creado, p_hasta) - COALESCE((
    SELECT sum(bench.horas_habiles(GREATEST(x.desde, p_creado), LEAST(COALESCE(x.hasta, p_hasta), p_hasta)))
    FROM (
      SELECT h.status, h.changed_at AS desde,
             lead(h.changed_at) OVER (ORDER BY h.changed_at, h.status COLLATE "C") AS hasta
      FROM slawatch_source.status_changes h
      WHERE h.ticket_id = p_ticket
    ) x
    WHERE x.status IN (SELECT e.code FROM bench.estados_detenidos e)), 0)
$$;

CREATE FUNCTION bench.clock_b(p_now timestamptz, p_only_open boolean)
RETURNS TABLE (ticket_uuid uuid, label text, categoria text, correo text, estado_code text,
               prioridad_nom text, area_asignada text, actualizado_en timestamptz,
               sla_horas float8, horas_restantes float8, vencido boolean)
LANGUAGE sql STABLE AS $$
  SELECT r.ticket_id, r.code, r.category, r.requester_email, r.status, r.priority, r.area, r.updated_at,
         r.horas, r.restantes, r.restantes < 0
  FROM (
    SELECT t.*, s.horas, s.horas - bench.horas_consumidas(t.ticket_id, t.created_at, p_now) AS restantes
    FROM slawatch_source.tickets t
    JOIN bench.sla_targets s ON s.prioridad = t.priority
    WHERE NOT p_only_open OR t.status IN ('ABIERTO', 'EN_PROCESO', 'EN_ESPERA')
    OFFSET 0
  ) r
$$;

-- ---------------------------------------------------------------------------------------------
-- (d) business hours, the expert way: one statement, the calendar as a table with running sums.
CREATE FUNCTION bench.clock_d(p_now timestamptz, p_only_open boolean)
RETURNS TABLE (ticket_uuid uuid, label text, categoria text, correo text, estado_code text,
               prioridad_nom text, area_asignada text, actualizado_en timestamptz,
               sla_horas float8, horas_restantes float8, vencido boolean)
LANGUAGE sql STABLE AS $$
  WITH tk AS MATERIALIZED (
    SELECT t.ticket_id, t.code, t.category, t.requester_email, t.status, t.priority, t.area, t.updated_at,
           t.created_at, s.horas
    FROM slawatch_source.tickets t
    JOIN bench.sla_targets s ON s.prioridad = t.priority
    WHERE NOT p_only_open OR t.status IN ('ABIERTO', 'EN_PROCESO', 'EN_ESPERA')
  ), detenido AS (
    -- the pause/stop spans of the history, clipped to [creado_en, now]
    SELECT x.ticket_id, GREATEST(x.desde, x.created_at) AS a, LEAST(COALESCE(x.hasta, p_now), p_now) AS b
    FROM (
      SELECT h.ticket_id, h.status, h.changed_at AS desde, tk.created_at,
             lead(h.changed_at) OVER (PARTITION BY h.ticket_id ORDER BY h.changed_at, h.status COLLATE "C") AS hasta
      FROM slawatch_source.status_changes h
      JOIN tk ON tk.ticket_id = h.ticket_id
    ) x
    WHERE x.status IN (SELECT e.code FROM bench.estados_detenidos e)
  ), pausado AS (
    SELECT d.ticket_id,
           sum((cb.antes + (LEAST(GREATEST(d.b, cb.inicio), cb.fin) - cb.inicio))
               - (ca.antes + (LEAST(GREATEST(d.a, ca.inicio), ca.fin) - ca.inicio))) AS t
    FROM detenido d
    JOIN bench.calendario ca ON ca.dia = (d.a AT TIME ZONE '{{TZ}}')::date
    JOIN bench.calendario cb ON cb.dia = (d.b AT TIME ZONE '{{TZ}}')::date
    WHERE d.a < d.b
    GROUP BY d.ticket_id
  ), ahora AS (
    SELECT c.antes + (LEAST(GREATEST(p_now, c.inicio), c.fin) - c.inicio) AS w
    FROM bench.calendario c WHERE c.dia = (p_now AT TIME ZONE '{{TZ}}')::date
  )
  SELECT tk.ticket_id, tk.code, tk.category, tk.requester_email, tk.status, tk.priority, tk.area, tk.updated_at,
         tk.horas, tk.horas - extract(epoch FROM e.elapsed)::float8 / 3600, e.elapsed > tk.horas * interval '1 hour'
  FROM tk
  JOIN bench.calendario cc ON cc.dia = (tk.created_at AT TIME ZONE '{{TZ}}')::date
  CROSS JOIN ahora n
  LEFT JOIN pausado p ON p.ticket_id = tk.ticket_id
  CROSS JOIN LATERAL (
    SELECT GREATEST(n.w - (cc.antes + (LEAST(GREATEST(tk.created_at, cc.inicio), cc.fin) - cc.inicio)), interval '0')
           - COALESCE(p.t, interval '0') AS elapsed
  ) e
$$;

-- ---------------------------------------------------------------------------------------------
-- The dashboard peers, shaped like slawatch.fn_dashboard_tickets_full_filtrado(p_rol, p_area).
CREATE FUNCTION bench.fn_dashboard_24x7(p_rol text, p_area text, p_now timestamptz)
RETURNS TABLE (ticket_uuid uuid, label text, categoria text, correo text, estado_code text,
               prioridad_nom text, area_asignada text, actualizado_en timestamptz,
               sla_horas float8, horas_restantes float8, vencido boolean)
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN QUERY SELECT c.* FROM bench.clock_a(p_now, false) c
    WHERE upper(p_rol) <> 'AREA' OR c.area_asignada = p_area
    ORDER BY c.actualizado_en DESC, c.label COLLATE "C";
END $$;

CREATE FUNCTION bench.fn_dashboard_b(p_rol text, p_area text, p_now timestamptz)
RETURNS TABLE (ticket_uuid uuid, label text, categoria text, correo text, estado_code text,
               prioridad_nom text, area_asignada text, actualizado_en timestamptz,
               sla_horas float8, horas_restantes float8, vencido boolean)
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN QUERY SELECT c.* FROM bench.clock_b(p_now, false) c
    WHERE upper(p_rol) <> 'AREA' OR c.area_asignada = p_area
    ORDER BY c.actualizado_en DESC, c.label COLLATE "C";
END $$;

CREATE FUNCTION bench.fn_dashboard_d(p_rol text, p_area text, p_now timestamptz)
RETURNS TABLE (ticket_uuid uuid, label text, categoria text, correo text, estado_code text,
               prioridad_nom text, area_asignada text, actualizado_en timestamptz,
               sla_horas float8, horas_restantes float8, vencido boolean)
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN QUERY SELECT c.* FROM bench.clock_d(p_now, false) c
    WHERE upper(p_rol) <> 'AREA' OR c.area_asignada = p_area
    ORDER BY c.actualizado_en DESC, c.label COLLATE "C";
END $$;

ANALYZE bench.sla_targets, bench.estados_detenidos, bench.horario, bench.festivos, bench.calendario;
