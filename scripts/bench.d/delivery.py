"""Figures 4 and 5 of scripts/bench: delivery to loopback sinks, and deadlines to mails end to end.

Imported by scripts/bench (standard library only). The sinks are scripts/bench.d/sinks.py; their capacity is
measured in the same run with wrk (HTTP, keep-alive) and smtp-source from Debian's postfix package (SMTP, one
session reusing its connection, -d), both installed when missing.

The tickets are written straight into the reference tables, CRITICA on the 24x7 calendar of
scripts/bench.d/rules-delivery (target 2 h), created 2 h before the instant their deadline should pass; that
instant is a few seconds after `slawatch run` (the looping worker, default interval) has started, so that the
worker sees each deadline pass while it runs. Each run's tickets are deleted before the next run.
"""

import email
import email.policy
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RULES_DELIVERY = os.path.join(HERE, "rules-delivery")
SINKS = os.path.join(HERE, "sinks.py")
RUNS = 3
WEBHOOK_EVENTS = 10_000
MAILS = 2_000
E2E_TICKETS = 200
E2E_SPREAD_S = 30.0


def percentile(values, p):
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


class Sink:
    def __init__(self, kind, directory, name):
        self.kind = kind
        self.port_file = os.path.join(directory, f"{name}.port")
        self.out_file = os.path.join(directory, f"{name}.jsonl")
        for path in (self.port_file, self.out_file, self.out_file + ".count"):
            if os.path.exists(path):
                os.unlink(path)
        self.process = subprocess.Popen(["python3", SINKS, kind, self.port_file, self.out_file],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if os.path.exists(self.port_file):
                break
            time.sleep(0.05)
        else:
            self.process.kill()
            raise RuntimeError(f"the {kind} sink did not start")
        self.port = int(open(self.port_file).read())

    def count(self):
        try:
            return int(open(self.out_file + ".count").read() or 0)
        except (OSError, ValueError):
            return 0

    def wait_for(self, n, deadline):
        while time.time() < deadline:
            if self.count() >= n:
                return True
            time.sleep(0.1)
        return False

    def stop(self):
        """Stops the sink and returns what it received: [(instant, body)]."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        result = []
        if os.path.exists(self.out_file):
            for line in open(self.out_file):
                item = json.loads(line)
                result.append((item["t"], item["body"]))
        return result


def insert_tickets(psql, url, tag, area, count, first_deadline, spread_s):
    """`count` open CRITICA tickets of `area` whose 2-hour 24x7 deadlines fall from first_deadline (epoch
    seconds) evenly over spread_s; titles 'bench <tag> <i>'. Written now (actualizado_en = now()), created
    2 hours before their deadline: a help desk importing tickets, as far as slawatch can tell."""
    step = spread_s / max(count - 1, 1) if spread_s else 0
    psql(url, f"""
        WITH nuevos AS (
          INSERT INTO public.tickets (codigo, titulo, categoria, area_id, prioridad_id, estado_id, creado_en, actualizado_en)
          SELECT 'BENCH-{tag}-' || g, 'bench {tag} ' || g, 'Bench',
                 (SELECT id FROM public.areas WHERE nombre = '{area}'),
                 (SELECT id FROM public.prioridades WHERE nombre = 'CRITICA'),
                 (SELECT id FROM public.estados WHERE code = 'ABIERTO'),
                 to_timestamp({first_deadline!r} + g * {step!r}) - interval '2 hours',
                 now()
          FROM generate_series(0, {count - 1}) g
          RETURNING id, estado_id, creado_en)
        INSERT INTO public.ticket_historial (ticket_id, estado_id, cambiado_en) SELECT id, estado_id, creado_en FROM nuevos""")
    psql(url, "ANALYZE public.tickets, public.ticket_historial")


def delete_tickets(psql, url):
    psql(url, "DELETE FROM public.tickets WHERE codigo LIKE 'BENCH-%'")


class Worker:
    """`slawatch run` (looping, default interval) with the delivery rules."""

    def __init__(self, binary, url, env, logfile):
        self.log = open(logfile, "w")
        self.process = subprocess.Popen([binary, "run", "--rules", RULES_DELIVERY, "--database", url], env=env,
                                        stdout=self.log, stderr=self.log)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()


def mail_ticket(body, tag):
    """The number of the bench ticket a mail is about, from its subject; None when it names none."""
    message = email.message_from_string(body, policy=email.policy.default)
    m = re.search(rf"bench {tag} (\d+)", str(message.get("Subject", "")))
    return int(m.group(1)) if m else None


def check_exactly_once(kind, received, count, tag):
    """Every one of the `count` notifications arrived, none twice: a rate over repeats or over part of
    the storm would not be the rate the figure names."""
    if kind == "webhook":
        keys = [json.loads(body)["data"]["event_id"] for _, body in received]
    else:
        keys = [mail_ticket(body, tag) for _, body in received]
    distinct = set(keys)
    if len(keys) != count or len(distinct) != count or None in distinct:
        raise RuntimeError(f"{kind}: {len(keys)} received for {count} notifications, {len(distinct)} distinct"
                           f"{' (some unidentified)' if None in distinct else ''}: not exactly once")


def storm(binary, url, psql, directory, env, kind, count, log):
    """One run: `count` deadlines pass at the same instant X; returns (rate over first..last receipt,
    end-to-end rate X..last receipt, latencies from X in seconds). Fails unless each notification
    arrived exactly once."""
    sink = Sink("http" if kind == "webhook" else "smtp", directory, f"{kind}-sink")
    env = dict(env, BENCH_WEBHOOK_URL=f"http://127.0.0.1:{sink.port}/hook" if kind == "webhook" else "http://127.0.0.1:9/unused",
               BENCH_SMTP_URL=f"smtp://127.0.0.1:{sink.port}" if kind == "email" else "smtp://127.0.0.1:9")
    area = "TECNOLOGIA" if kind == "webhook" else "FACTURACION"
    tag = f"{kind[0]}{int(time.time() * 1000) % 10**9}"
    crossing = time.time() + 8.0
    insert_tickets(psql, url, tag, area, count, crossing, 0)
    worker = Worker(binary, url, env, os.path.join(directory, f"worker-{kind}.log"))
    try:
        complete = sink.wait_for(count, crossing + 300)
        # A repeat would come right after the rest: give it the time to arrive and be counted.
        time.sleep(1.0)
    finally:
        worker.stop()
        received = sink.stop()
        delete_tickets(psql, url)
    if not complete:
        tail = open(os.path.join(directory, f"worker-{kind}.log")).read()[-1500:]
        raise RuntimeError(f"{kind}: {len(received)} of {count} received within 300 s of the deadline; worker log:\n{tail}")
    check_exactly_once(kind, received, count, tag)
    times = sorted(t for t, _ in received)
    latencies = [t - crossing for t in times]
    span = times[-1] - times[0]
    return (count / span if span > 0 else float("inf")), count / (times[-1] - crossing), latencies


def wrk_capacity(directory, log):
    sink = Sink("http", directory, "wrk-sink")
    try:
        r = subprocess.run(["wrk", "-t1", "-c16", "-d5s", "-s", os.path.join(HERE, "wrk-post.lua"),
                            f"http://127.0.0.1:{sink.port}/hook"], capture_output=True, text=True, timeout=60)
        m = re.search(r"Requests/sec:\s*([0-9.]+)", r.stdout)
        if not m:
            raise RuntimeError(f"wrk: {r.stdout} {r.stderr}")
        return float(m.group(1))
    finally:
        sink.stop()


def smtp_source_capacity(directory, size, messages):
    tool = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
    sink = Sink("smtp", directory, "smtp-source-sink")
    try:
        start = time.perf_counter()
        r = subprocess.run([tool, "-d", "-s", "1", "-m", str(messages), "-l", str(size), "-f", "bench@example.com",
                            "-t", "sink@example.com", f"127.0.0.1:{sink.port}"], capture_output=True, text=True, timeout=600)
        elapsed = time.perf_counter() - start
        if r.returncode != 0:
            raise RuntimeError(f"smtp-source: {r.stdout} {r.stderr}")
    finally:
        received = sink.stop()
    if len(received) < messages:
        raise RuntimeError(f"smtp-source: the sink got {len(received)} of {messages}")
    times = sorted(t for t, _ in received)
    return messages / elapsed, messages / (times[-1] - times[0])


def end_to_end(binary, url, psql, directory, env, log):
    """200 deadlines spread over 30 s while `slawatch run` runs; latency deadline -> breach mail received."""
    sink = Sink("smtp", directory, "e2e-sink")
    env = dict(env, BENCH_WEBHOOK_URL="http://127.0.0.1:9/unused", BENCH_SMTP_URL=f"smtp://127.0.0.1:{sink.port}")
    tag = f"e{int(time.time() * 1000) % 10**9}"
    first = time.time() + 8.0
    insert_tickets(psql, url, tag, "FACTURACION", E2E_TICKETS, first, E2E_SPREAD_S)
    step = E2E_SPREAD_S / (E2E_TICKETS - 1)
    worker = Worker(binary, url, env, os.path.join(directory, "worker-e2e.log"))
    try:
        sink.wait_for(E2E_TICKETS, first + E2E_SPREAD_S + 120)
        time.sleep(1.0)  # for a repeat to show
    finally:
        worker.stop()
        received = sink.stop()
        delete_tickets(psql, url)
    check_exactly_once("email", received, E2E_TICKETS, tag)
    return [t - (first + mail_ticket(body, tag) * step) for t, body in received]


def measure(cluster, binary, report, *, log, run, psql, ensure_packages, row, reference_rules):
    rows = report["rows"]
    directory = os.path.join(cluster.directory, "delivery")
    os.makedirs(directory, exist_ok=True)
    have_wrk = ensure_packages(["wrk"]) and shutil.which("wrk")
    have_smtp_source = ensure_packages(["postfix"]) and (shutil.which("smtp-source") or os.path.exists("/usr/sbin/smtp-source"))
    url = cluster.create("bench_delivery")
    # The reference schema only (no sample tickets), then slawatch's schema with the delivery rules.
    run([binary, "demo", "--database", url, "--size", "0", "--rules", reference_rules, "--format", "json"])
    env = dict(os.environ, BENCH_WEBHOOK_URL="http://127.0.0.1:9/unused", BENCH_SMTP_URL="smtp://127.0.0.1:9")
    run([binary, "migrate", "--rules", RULES_DELIVERY, "--database", url], env=env)
    result = {}

    # --- 4a. webhooks
    log(f"4. delivery: {WEBHOOK_EVENTS} webhook events, {RUNS} runs")
    rates, e2e_rates, firsts, p50s, p99s, caps = [], [], [], [], [], []
    for i in range(RUNS):
        rate, e2e_rate, lat = storm(binary, url, psql, directory, env, "webhook", WEBHOOK_EVENTS, log)
        rates.append(rate), e2e_rates.append(e2e_rate)
        firsts.append(min(lat)), p50s.append(percentile(lat, 50)), p99s.append(percentile(lat, 99))
        if have_wrk:
            caps.append(wrk_capacity(directory, log))
        log(f"4. webhooks run {i + 1}/{RUNS}: {rate:,.0f}/s between first and last receipt, {e2e_rate:,.0f}/s from the "
            f"crossing, first receipt {firsts[-1] * 1000:.0f} ms, p50 {p50s[-1] * 1000:.0f} ms, p99 {p99s[-1] * 1000:.0f} ms "
            "after the crossing" + (f"; sink capacity (wrk) {caps[-1]:,.0f}/s" if caps else ""))
    rate, cap = statistics.median(rates), (statistics.median(caps) if caps else None)
    need = min(10_000, 0.5 * cap) if cap else 10_000
    result["webhook"] = {"events": WEBHOOK_EVENTS, "rate_per_s": rates, "rate_from_crossing_per_s": e2e_rates,
                         "first_receipt_s": firsts, "p50_s": p50s, "p99_s": p99s, "sink_capacity_wrk_per_s": caps}
    rows.append(row("-", "4", f"webhooks: {WEBHOOK_EVENTS:,} events, first→last receipt", rate, "/s",
                    f"from the crossing: {statistics.median(e2e_rates):,.0f}/s; latency from the crossing: first "
                    f"{statistics.median(firsts) * 1000:.0f} ms, p50 {statistics.median(p50s) * 1000:.0f} ms, "
                    f"p99 {statistics.median(p99s) * 1000:.0f} ms", []))
    rows[-1]["peer_unit"] = "/s"
    rows[-1]["ratio_kind"] = "share"
    rows[-1]["peers"] = [{"peer": "sink capacity (wrk -c16, keep-alive)", "seconds": cap,
                          "ratio": (rate / cap) if cap else None,
                          "target": f"≥ min(10,000/s, 50 % of sink) = {need:,.0f}/s", "met": rate >= need}]

    # --- 4b. e-mails
    log(f"4. delivery: {MAILS} e-mails, {RUNS} runs")
    mrates, mcaps, sizes = [], [], []
    for i in range(RUNS):
        rate_m, _, _ = storm(binary, url, psql, directory, env, "email", MAILS, log)
        mrates.append(rate_m)
        if have_smtp_source:
            mcaps.append(smtp_source_capacity(directory, 4000, MAILS)[0])
        log(f"4. e-mails run {i + 1}/{RUNS}: {rate_m:,.0f}/s" + (f"; sink capacity (smtp-source -d) {mcaps[-1]:,.0f}/s" if mcaps else ""))
    mrate, mcap = statistics.median(mrates), (statistics.median(mcaps) if mcaps else None)
    result["email"] = {"mails": MAILS, "rate_per_s": mrates, "sink_capacity_smtp_source_per_s": mcaps}
    rows.append(row("-", "4", f"e-mails: {MAILS:,} to a loopback SMTP sink", mrate, "/s", "", []))
    rows[-1]["peer_unit"] = "/s"
    rows[-1]["ratio_kind"] = "share"
    rows[-1]["peers"] = [{"peer": "sink capacity (smtp-source -d -s 1, 4 kB)", "seconds": mcap,
                          "ratio": (mrate / mcap) if mcap else None, "target": "≥ 50 % of sink",
                          "met": (mrate >= 0.5 * mcap) if mcap else None}]

    # --- 5. end to end
    log(f"5. end to end: {E2E_TICKETS} deadlines over {E2E_SPREAD_S:.0f} s while slawatch run runs, {RUNS} runs")
    e50, e99 = [], []
    for i in range(RUNS):
        lat = end_to_end(binary, url, psql, directory, env, log)
        e50.append(percentile(lat, 50)), e99.append(percentile(lat, 99))
        log(f"5. run {i + 1}/{RUNS}: p50 {e50[-1] * 1000:.0f} ms, p99 {e99[-1] * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms")
    result["end_to_end"] = {"tickets": E2E_TICKETS, "p50_s": e50, "p99_s": e99}
    p99 = statistics.median(e99)
    rows.append(row("-", "5", f"end to end: deadline → breach mail, {E2E_TICKETS} tickets, p99", p99 * 1000, "ms",
                    f"p50 {statistics.median(e50) * 1000:.0f} ms; `slawatch run`, default interval", [],
                    target="≤ 1000 ms", met=p99 <= 1.0))
    report["delivery"] = result
    psql(cluster.url, 'DROP DATABASE "bench_delivery"')
