"""Figure 6 of scripts/bench: the HTTP API (`slawatch serve`) against PostgreSQL alone.

Imported by scripts/bench (standard library only); `scripts/bench --only api [--sizes N]` runs it alone. At each
size the reference help desk is loaded into a database of its own (`slawatch demo`; with BENCH_API_DATABASE=URL and
one size, that database, already loaded with N tickets, is used and kept), `slawatch serve` is started on
a free loopback port with the bench rules plus an `api` section (an HS256 secret made for the run), and tokens are
minted with `slawatch token`. Load comes from wrk (HTTP/1.1 keep-alive, 32 connections on 2 threads, Lua scripts
for the POST bodies and headers); its peer is pgbench (-c 32 -j 2, the same duration) running one SQL statement
that returns the same page of the same rows, clocks included. Before anything is timed, each peer statement is
run once through psql and its 30 ticket numbers compared, in order, with the API's answer to the same request.

  6a ticket list      POST /api/v2/ticketing/ticket/list?type=T&module=M, top 30, a filter on status and
                      createdAt sorted by updatedAt; then slaStatus = breached sorted by dueDate: requests/s vs
                      pgbench's transactions/s (target ≥ 80 %), p99 (target ≤ 50 ms)
  6b one ticket       GET /api/tickets/{codigo}, codes drawn at random from 1,000 tickets: p99 (target ≤ 10 ms)
  6c dashboard        GET /api/tickets/dashboard streamed to curl -o /dev/null, ADMIN and AREA, vs psql's
                      COPY (SELECT * FROM slawatch.fn_dashboard_tickets_full_filtrado(...)) TO STDOUT (target
                      ≤ 1.3×); the server's peak RSS (VmHWM of /proc/PID/status, target ≤ 100 MB)
  6d CLI dashboard    `slawatch dashboard --format json > /dev/null`: peak RSS (target ≤ 300 MB at 1M)
"""

import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import time
import urllib.error
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
RULES = os.path.join(HERE, "rules")
CLIENTS = 32
THREADS = 2
DURATION_S = 15
ROUNDS = 3
# A list request slower than this alone is measured once, not under load.
SLOW_S = 5.0
AREA = "TECNOLOGIA"
TENANT = "3f1e9c2a-6b7d-4e58-9a0c-2d4b6f8e1a37"
LIST_PATH = "/api/v2/ticketing/ticket/list?type=incident&module=helpdesk"
STATUS = "ABIERTO"

# The two ticket-list requests of 6a. CREATED_SINCE is filled in from the data (a date that keeps about a
# tenth of the open tickets, so that the page is not simply the newest tickets).
LIST_BODIES = {
    "status+createdAt by updatedAt": lambda since: {
        "top": 30, "offset": 0, "sort": "updatedAt",
        "filter": {"op": "AND", "operand": [{"column": "status", "op": "EQ", "operand": STATUS},
                                            {"column": "createdAt", "op": "GE", "operand": since}]}},
    "slaStatus = breached by dueDate": lambda since: {
        "top": 30, "offset": 0, "sort": "dueDate",
        "filter": {"column": "slaStatus", "op": "EQ", "operand": "breached"}},
}


def percentile(values, p):
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lua_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class Server:
    """`slawatch serve` on a free loopback port; stopped with SIGTERM."""

    def __init__(self, binary, rules, url, directory, log):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(directory, "serve.log")
        self.sink = open(self.log_path, "w")
        self.process = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{self.port}", "--rules", rules,
                                         "--database", url], stdout=self.sink, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"slawatch serve exited {self.process.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        log(f"6. slawatch serve answers on {self.base} (pid {self.process.pid})")
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"slawatch serve did not answer /healthz within 60 s; see {self.log_path}")

    def peak_rss_mb(self):
        """VmHWM: the process's peak resident set since it started."""
        try:
            for line in open(f"/proc/{self.process.pid}/status"):
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return None

    def rss_mb(self):
        try:
            for line in open(f"/proc/{self.process.pid}/status"):
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return None

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.sink.close()


def request(method, url, token, body=None, headers=None, timeout=600):
    data = json.dumps(body).encode() if body is not None else None
    h = {"Authorization": f"Bearer {token}"}
    if data is not None:
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wrk(url, script, log, duration=DURATION_S):
    """Requests/s, p99 in ms and the error count of one wrk run (--latency: wrk's own percentiles)."""
    r = subprocess.run(["wrk", f"-t{THREADS}", f"-c{CLIENTS}", f"-d{duration}s", "--latency", "--timeout", "10s",
                        "-s", script, url], capture_output=True, text=True, timeout=duration + 120)
    if r.returncode != 0:
        raise RuntimeError(f"wrk exited {r.returncode}: {r.stdout} {r.stderr}")
    rps = re.search(r"Requests/sec:\s*([0-9.]+)", r.stdout)
    p99 = re.search(r"^\s*99%\s+([0-9.]+)(us|ms|s)\s*$", r.stdout, re.M)
    p50 = re.search(r"^\s*50%\s+([0-9.]+)(us|ms|s)\s*$", r.stdout, re.M)
    if not rps or not p99:
        raise RuntimeError(f"wrk: unexpected output: {r.stdout} {r.stderr}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    errors = 0
    for m in re.finditer(r"Non-2xx or 3xx responses:\s*(\d+)|Socket errors: connect (\d+), read (\d+), write (\d+), "
                         r"timeout (\d+)", r.stdout):
        errors += sum(int(g) for g in m.groups() if g)
    return {"rps": float(rps.group(1)), "p99_ms": float(p99.group(1)) * scale[p99.group(2)],
            "p50_ms": float(p50.group(1)) * scale[p50.group(2)] if p50 else None, "errors": errors,
            "output": r.stdout}


def pgbench(url, sql, directory, name, duration=DURATION_S):
    """Transactions/s of pgbench -c 32 -j 2 running one statement."""
    path = os.path.join(directory, f"{name}.sql")
    with open(path, "w") as f:
        f.write(sql.strip().rstrip(";") + ";\n")
    r = subprocess.run(["pgbench", "-n", "-c", str(CLIENTS), "-j", str(THREADS), "-T", str(duration), "-f", path,
                        "-d", url], capture_output=True, text=True, timeout=duration + 180)
    if r.returncode != 0:
        raise RuntimeError(f"pgbench exited {r.returncode}: {r.stdout[-1000:]} {r.stderr[-1000:]}")
    m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", r.stdout) or \
        re.search(r"tps = ([0-9.]+)", r.stdout)
    if not m:
        raise RuntimeError(f"pgbench: unexpected output: {r.stdout}")
    lat = re.search(r"latency average = ([0-9.]+) ms", r.stdout)
    return {"tps": float(m.group(1)), "latency_avg_ms": float(lat.group(1)) if lat else None}


def timed(cmd, stdout=subprocess.DEVNULL):
    start = time.perf_counter()
    r = subprocess.run(cmd, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=3600)
    elapsed = time.perf_counter() - start
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:6])} ... exited {r.returncode}: {r.stderr.strip()[-1000:]}")
    return elapsed


def curl_dashboard(server, token):
    """Wall seconds of curl fetching the dashboard and discarding it; fails on anything but 200."""
    start = time.perf_counter()
    r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", "-H",
                        f"Authorization: Bearer {token}", server.base + "/api/tickets/dashboard"],
                       capture_output=True, text=True, timeout=3600)
    elapsed = time.perf_counter() - start
    status, _, size = r.stdout.partition(" ")
    if r.returncode != 0 or status != "200":
        raise RuntimeError(f"curl /api/tickets/dashboard: exit {r.returncode}, HTTP {status}: {r.stderr.strip()}")
    return elapsed, int(size or 0)


def copy_stdout_cmd(url, query):
    return ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", f"COPY ({query}) TO STDOUT"]


def psql_rows(url, sql):
    r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"psql: {r.stderr.strip()[-1000:]}")
    return [line.split("\t") for line in r.stdout.splitlines() if line.strip()]


def token(binary, rules, role, area=None):
    cmd = [binary, "token", "--role", role, "--ttl", "6h", "--rules", rules]
    if area:
        cmd += ["--area", area]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"slawatch token --role {role}: {r.stderr.strip()}")
    words = [w for w in r.stdout.split() if w.count(".") == 2]
    if not words:
        raise RuntimeError(f"slawatch token printed no token: {r.stdout!r}")
    return words[-1]


def api_rules(directory, secret):
    """The bench rules plus an `api` section, in a directory of the run."""
    path = os.path.join(directory, "rules-api")
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(RULES):
        shutil.copy(os.path.join(RULES, name), os.path.join(path, name))
    with open(os.path.join(path, "api.json"), "w") as f:
        json.dump({"api": {"jwt": {"secret": secret}}}, f, indent=2)
    return path


def list_script(directory, name, body, bearer):
    path = os.path.join(directory, f"wrk-{name}.lua")
    with open(path, "w") as f:
        f.write("-- wrk script of scripts/bench, figure 6: the ticket list request.\n")
        f.write('wrk.method = "POST"\n')
        f.write('wrk.headers["Content-Type"] = "application/json"\n')
        f.write(f'wrk.headers["x-tenantid"] = {lua_string(TENANT)}\n')
        f.write(f'wrk.headers["Authorization"] = {lua_string("Bearer " + bearer)}\n')
        f.write(f"wrk.body = {lua_string(json.dumps(body))}\n")
    return path


def ticket_script(directory, codes, bearer):
    path = os.path.join(directory, "wrk-ticket.lua")
    with open(path, "w") as f:
        f.write("-- wrk script of scripts/bench, figure 6: one ticket at a time, codes drawn at random.\n")
        f.write(f'wrk.headers["Authorization"] = {lua_string("Bearer " + bearer)}\n')
        f.write("local codes = {" + ", ".join(lua_string(c) for c in codes) + "}\n")
        f.write("math.randomseed(2026)\n")
        f.write('request = function()\n  return wrk.format("GET", "/api/tickets/" .. codes[math.random(#codes)])\nend\n')
    return path


# The peers of 6a: one statement each, the page the API answers. The rows come from the tickets view, ordered
# as the API orders (the sort column, then COALESCE(updated_at, created_at) descending, then code as bytes); the
# clocks from what slawatch stored: the running clocks' elapsed time now is the stored base plus the calendar's
# working time up to now() (one look-up per calendar), as in slawatch.fn_dashboard_tickets_full_filtrado; the
# status as the engine classifies it (paused, met, breached, at_risk at the last warning level, on_track); the
# due date of a breached clock is the crossing the worker recorded (its sla.breached event), that of a running
# clock below its target the instant the calendar reaches it. :since is the createdAt bound.
PEER_CLOCKS = """
WITH cal AS MATERIALIZED (
  SELECT c.name, c.always,
         slawatch.working_before(c.name, c.always, (extract(epoch FROM now()) * 1000000)::bigint) AS cum_now
  FROM slawatch.calendars c
)
"""

PEER_CLOCK_OF = """
  SELECT k.target_us, k.elapsed_now, k.paused,
         CASE WHEN k.paused THEN 'paused'
              WHEN k.stopped AND k.elapsed_now <= k.target_us THEN 'met'
              WHEN k.elapsed_now > k.target_us THEN 'breached'
              WHEN k.elapsed_now >= ceil(k.target_us * k.warn_top / 100) THEN 'at_risk'
              ELSE 'on_track' END AS sla_status,
         CASE WHEN k.elapsed_now > k.target_us THEN
                (SELECT e.crossed_at FROM slawatch.events e
                 WHERE e.id = k.ticket_id || '/sla.breached/0/' || k.target_us)
              WHEN k.running THEN
                CASE WHEN k.always THEN timestamptz 'epoch' + (k.target_us - k.base_us) * interval '1 microsecond'
                ELSE (SELECT timestamptz 'epoch' + (i.starts_us + (k.target_us - k.base_us) - i.working_before_us)
                                                  * interval '1 microsecond'
                      FROM slawatch.calendar_intervals i
                      WHERE i.calendar = k.calendar AND i.working_before_us <= k.target_us - k.base_us
                      ORDER BY i.starts_us DESC LIMIT 1) END
         END AS due_at
  FROM (
    SELECT k.*, cal.always, p.warn_at[array_length(p.warn_at, 1)] AS warn_top,
           s.status = ANY (p.pause_statuses) AS paused,
           CASE WHEN k.running THEN k.base_us + cal.cum_now ELSE k.elapsed_us END AS elapsed_now
    FROM slawatch.clocks k JOIN cal ON cal.name = k.calendar JOIN slawatch.policies p ON p.name = k.policy
    WHERE k.ticket_id = s.ticket_id::text
  ) k
"""

PEER_STATUS_CREATED = PEER_CLOCKS + """
SELECT s.ticket_id, s.code, s.title, s.status, s.priority, s.category, s.area, s.requester_email, s.created_at,
       s.updated_at, c.due_at, c.sla_status
FROM (SELECT * FROM slawatch_source.tickets s
      WHERE s.status = '{status}' AND s.created_at >= '{since}'
      ORDER BY COALESCE(s.updated_at, s.created_at) DESC, s.code COLLATE "C"
      LIMIT 30 OFFSET 0) s
LEFT JOIN LATERAL (""" + PEER_CLOCK_OF + """) c ON true
ORDER BY COALESCE(s.updated_at, s.created_at) DESC, s.code COLLATE "C"
"""

PEER_BREACHED = PEER_CLOCKS + """
SELECT s.ticket_id, s.code, s.title, s.status, s.priority, s.category, s.area, s.requester_email, s.created_at,
       s.updated_at, e.crossed_at AS due_at, 'breached' AS sla_status
FROM slawatch_source.tickets s
JOIN slawatch.clocks k ON k.ticket_id = s.ticket_id::text
JOIN cal ON cal.name = k.calendar
JOIN slawatch.policies p ON p.name = k.policy
JOIN slawatch.events e ON e.id = k.ticket_id || '/sla.breached/0/' || k.target_us
WHERE NOT (s.status = ANY (p.pause_statuses))
  AND CASE WHEN k.running THEN k.base_us + cal.cum_now ELSE k.elapsed_us END > k.target_us
ORDER BY e.crossed_at {direction}, COALESCE(s.updated_at, s.created_at) DESC, s.code COLLATE "C"
LIMIT 30 OFFSET 0
"""


def check_page(name, api_tickets, peer_rows):
    """The API's page against the peer's, ticket number by ticket number, in order; slaStatus compared too."""
    api_codes = [t["ticketNumber"] for t in api_tickets]
    peer_codes = [r[1] for r in peer_rows]
    status_differs = [t["ticketNumber"] for t, r in zip(api_tickets, peer_rows) if (t.get("slaStatus") or "") != r[11]]
    return {"request": name, "rows": len(api_codes), "same_rows": api_codes == peer_codes,
            "api_first": api_codes[:3], "peer_first": peer_codes[:3], "sla_status_differs": status_differs[:5]}


def measure_size(cluster, binary, n, report, log, run, psql, row):
    rows = report["rows"]
    directory = os.path.join(cluster.directory, f"api-{n}")
    os.makedirs(directory, exist_ok=True)
    os.chmod(directory, 0o755)
    existing = os.environ.get("BENCH_API_DATABASE")
    if existing:
        # A help desk loaded earlier (the million tickets take long to load): its schema and slawatch's are
        # brought up to date by the same commands, which keep its tickets.
        url = existing
        log(f"N={n}: 6. using BENCH_API_DATABASE={url}")
    else:
        url = cluster.create(f"bench_api_{n}")
        log(f"N={n}: 6. loading the reference help desk (slawatch demo --size {n})")
    run([binary, "demo", "--database", url, "--size", str(n), "--rules", RULES, "--format", "json"])
    psql(url, "VACUUM ANALYZE")
    rules = api_rules(directory, uuid.uuid4().hex + uuid.uuid4().hex)
    run([binary, "migrate", "--rules", rules, "--database", url])
    result = {"n": n}
    server = Server(binary, rules, url, directory, log)
    try:
        admin = token(binary, rules, "ADMIN")
        area = token(binary, rules, "AREA", AREA)
        since = psql_rows(url, "SELECT to_char(percentile_disc(0.9) WITHIN GROUP (ORDER BY created_at) AT TIME ZONE "
                               f"'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM slawatch_source.tickets "
                               f"WHERE status = '{STATUS}'")[0][0]
        # --- 6a. the ticket list, against pgbench running the peer statement.
        checks = []
        for key, (name, make, peer) in enumerate((
                ("status+createdAt by updatedAt", lambda: dict(LIST_BODIES["status+createdAt by updatedAt"](since)),
                 PEER_STATUS_CREATED.format(status=STATUS, since=since)),
                ("slaStatus = breached by dueDate", lambda: dict(LIST_BODIES["slaStatus = breached by dueDate"](since),
                                                                 searchOrder="ASC"),
                 PEER_BREACHED.format(direction="ASC")))):
            body = make()
            started = time.perf_counter()
            status, answer = request("POST", server.base + LIST_PATH, admin, body, {"x-tenantid": TENANT})
            single = time.perf_counter() - started
            if status != 200:
                raise RuntimeError(f"{name}: HTTP {status}: {answer[:500]!r}")
            tickets = json.loads(answer)["data"]["tickets"]
            check = check_page(name, tickets, psql_rows(url, peer))
            checks.append(check)
            log(f"N={n}: 6a. {name}: API and peer {'agree on' if check['same_rows'] else 'DIFFER on'} the page of "
                f"{check['rows']} rows (API {check['api_first']}..., peer {check['peer_first']}...)"
                + (f"; slaStatus differs for {check['sla_status_differs']}" if check["sla_status_differs"] else ""))
            pg = pgbench(url, peer, directory, f"peer{key}")
            if single > SLOW_S:
                # 32 clients would queue minutes of work in the server, and it would still be answering
                # them during the next figures: measured once instead.
                log(f"N={n}: 6a. {name}: one request took {single:.1f} s; not put under load. pgbench "
                    f"{pg['tps']:,.1f} tps (average {pg['latency_avg_ms']} ms)")
                result[f"list_{key}"] = {"request": body, "single_request_s": single, "pgbench": pg, "check": check}
                rows.append(row(n, "6", f"POST ticket list, {name}: one request alone (too slow to load)", single,
                                "s", f"pgbench -c 32: {pg['tps']:,.1f} tps, {pg['latency_avg_ms']} ms on average",
                                [], target="≥ 80 % of pgbench's throughput; p99 ≤ 50 ms", met=False))
                continue
            script = list_script(directory, f"list{key}", body, admin)
            w = wrk(server.base + LIST_PATH, script, log)
            log(f"N={n}: 6a. {name}: API {w['rps']:,.1f} req/s (p50 {w['p50_ms']} ms, p99 {w['p99_ms']:.1f} ms, "
                f"{w['errors']} errors); pgbench {pg['tps']:,.1f} tps (average {pg['latency_avg_ms']} ms)")
            result[f"list_{key}"] = {"request": body, "wrk": {k: v for k, v in w.items() if k != "output"},
                                     "pgbench": pg, "check": check}
            ratio = w["rps"] / pg["tps"] if pg["tps"] else None
            rows.append(row(n, "6", f"POST ticket list, {name}, 32 clients: throughput", w["rps"], "/s",
                            f"p99 {w['p99_ms']:.1f} ms; page {'equal to' if check['same_rows'] else 'DIFFERENT from'} "
                            "the peer's", []))
            rows[-1]["peer_unit"] = "/s"
            rows[-1]["ratio_kind"] = "share"
            rows[-1]["peers"] = [{"peer": "pgbench -c 32 -j 2, the same page in one statement", "seconds": pg["tps"],
                                  "ratio": ratio, "target": "≥ 80 %",
                                  "met": bool(ratio is not None and ratio >= 0.8 and check["same_rows"]
                                              and w["errors"] == 0)}]
            rows.append(row(n, "6", f"POST ticket list, {name}: p99 latency", w["p99_ms"], "ms",
                            f"p50 {w['p50_ms']} ms", [], target="≤ 50 ms", met=w["p99_ms"] <= 50))
        result["checks"] = checks

        # --- 6b. one ticket by code.
        codes = [r[0] for r in psql_rows(url, "SELECT code FROM slawatch_source.tickets ORDER BY md5(code) LIMIT 1000")]
        status, answer = request("GET", server.base + "/api/tickets/" + codes[0], admin)
        if status != 200 or json.loads(answer).get("Codigo") != codes[0]:
            raise RuntimeError(f"GET /api/tickets/{codes[0]}: HTTP {status}: {answer[:300]!r}")
        w = wrk(server.base, ticket_script(directory, codes, admin), log)
        log(f"N={n}: 6b. GET /api/tickets/{{codigo}}: {w['rps']:,.0f} req/s, p50 {w['p50_ms']} ms, "
            f"p99 {w['p99_ms']:.2f} ms, {w['errors']} errors")
        result["ticket"] = {k: v for k, v in w.items() if k != "output"}
        rows.append(row(n, "6", "GET /api/tickets/{codigo}, 32 clients: p99 latency", w["p99_ms"], "ms",
                        f"{w['rps']:,.0f} req/s, p50 {w['p50_ms']} ms", [], target="≤ 10 ms",
                        met=w["p99_ms"] <= 10 and w["errors"] == 0))

        # --- 6c. the dashboard streamed, against COPY of the SQL function; interleaved rounds, medians.
        for label, bearer, fn in (("ADMIN", admin, "slawatch.fn_dashboard_tickets_full_filtrado('ADMIN', NULL)"),
                                  (f"AREA {AREA}", area,
                                   f"slawatch.fn_dashboard_tickets_full_filtrado('AREA', '{AREA}')")):
            copy = copy_stdout_cmd(url, f"SELECT * FROM {fn}")
            curl_dashboard(server, bearer)
            timed(copy)
            api_s, copy_s, size = [], [], 0
            for i in range(ROUNDS):
                seconds, size = curl_dashboard(server, bearer)
                api_s.append(seconds)
                copy_s.append(timed(copy))
                log(f"N={n}: 6c. dashboard {label} round {i + 1}/{ROUNDS}: API {api_s[-1]:.2f} s ({size:,} bytes), "
                    f"COPY {copy_s[-1]:.2f} s; server VmHWM {server.peak_rss_mb():.0f} MB")
            a, c = statistics.median(api_s), statistics.median(copy_s)
            result[f"dashboard_{label.split()[0].lower()}"] = {"api_s": api_s, "copy_s": copy_s, "bytes": size}
            rows.append(row(n, "6", f"GET /api/tickets/dashboard, {label}, to curl -o /dev/null", a, "s",
                            f"{size:,} bytes", [(f"psql COPY (SELECT * FROM {fn.split('(')[0]}(...)) TO STDOUT",
                                                c, c / a, "within 1.3× (≥ 0.77×)", a <= 1.3 * c)]))
        peak = server.peak_rss_mb()
        result["serve_peak_rss_mb"] = peak
        rows.append(row(n, "6", "slawatch serve: peak RSS (VmHWM) over 6a-6c", peak, "MB", "", [],
                        target="≤ 100 MB", met=peak is not None and peak <= 100))
    finally:
        server.stop()

    # --- 6d. the CLI dashboard's peak RSS.
    rss_file = os.path.join(directory, "cli.rss")
    start = time.perf_counter()
    run(["/usr/bin/time", "-f", "%M", "-o", rss_file, binary, "dashboard", "--format", "json", "--rules", RULES,
         "--database", url])
    cli_s = time.perf_counter() - start
    cli_mb = int(open(rss_file).read().split()[-1]) / 1024
    log(f"N={n}: 6d. slawatch dashboard --format json: {cli_s:.1f} s, peak RSS {cli_mb:.0f} MB")
    result["cli_dashboard"] = {"seconds": cli_s, "peak_rss_mb": cli_mb}
    rows.append(row(n, "6", "slawatch dashboard --format json > /dev/null: peak RSS", cli_mb, "MB",
                    f"{cli_s:.1f} s", [], target="≤ 300 MB" if n == 1_000_000 else "(1M: ≤ 300 MB)", met=cli_mb <= 300))
    if not existing:
        psql(cluster.url, f'DROP DATABASE "bench_api_{n}"')
    return result


def measure(cluster, binary, report, sizes, *, log, run, psql, ensure_packages, row):
    """Figure 6 at each of `sizes`; rows go to report["rows"], details to report["api"]."""
    if not (ensure_packages(["wrk", "curl"]) and shutil.which("wrk") and shutil.which("curl")):
        raise RuntimeError("wrk and curl are needed for figure 6")
    if not shutil.which("pgbench"):
        raise RuntimeError("pgbench (PostgreSQL's client tools) is needed for figure 6")
    report.setdefault("api", [])
    for n in sizes:
        report["api"].append(measure_size(cluster, binary, n, report, log, run, psql, row))
